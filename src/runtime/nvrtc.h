// NVRTC, loaded at run time (dlopen), so building Grove needs no CUDA toolkit and running it on
// the CPU needs no NVRTC. Searched in order: $GROVE_NVRTC (a path to the library), the loader
// path (LD_LIBRARY_PATH, ldconfig), $CUDA_HOME/lib64, $CUDA_PATH/lib64, the toolkit CMake found
// when Grove was built, and /usr/local/cuda/lib64.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace grove::runtime {

struct Nvrtc {
  int major = 0, minor = 0; // nvrtcVersion
  std::string library;      // the file that was loaded

  // A header the compiled source may #include, given by contents (no include path needed).
  struct Header {
    std::string name;
    std::string_view text;
  };

  // Loads NVRTC once; null when it cannot be found (never throws). `why` gets the reason.
  static const Nvrtc* find(std::string* why = nullptr);
  // As find(), but throws Error saying where it looked.
  static const Nvrtc& get();

  // Compiles CUDA C++ to a CUBIN for the architecture in `options` (--gpu-architecture=sm_90a).
  // Throws Error with the compiler's log when compilation fails; `log` gets it either way.
  std::string compile_cubin(const std::string& source, const std::string& name,
                            const std::vector<Header>& headers,
                            const std::vector<std::string>& options, std::string* log) const;

  struct Api; // the entry points, private to nvrtc.cpp
  const Api* api = nullptr;
};

} // namespace grove::runtime
