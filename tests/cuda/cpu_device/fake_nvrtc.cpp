// A stand-in for libnvrtc (GROVE_NVRTC points the runtime at it): "compiles" a printed kernel by
// compiling it as C++ against the CPU stand-in's headers into a shared object, whose bytes are
// the "CUBIN" the stand-in driver (fake_driver.cpp) loads. Each kernel gets a packed entry point
// (packed.h) the driver's launches call.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "host_compile.h"

namespace {

struct Program {
  std::string source, name, log, binary;
};

} // namespace

extern "C" {

const char* nvrtcGetErrorString(int r) {
  return r == 0 ? "NVRTC_SUCCESS" : "NVRTC_ERROR_COMPILATION (the CPU stand-in's C++ compile)";
}

int nvrtcVersion(int* major, int* minor) {
  *major = 13;
  *minor = 0;
  return 0;
}

int nvrtcCreateProgram(Program** prog, const char* src, const char* name, int, const char* const*,
                       const char* const*) {
  *prog = new Program{src, name ? name : "kernel.cu", "", ""};
  return 0;
}

int nvrtcDestroyProgram(Program** prog) {
  delete *prog;
  *prog = nullptr;
  return 0;
}

int nvrtcCompileProgram(Program* prog, int, const char* const*) {
  namespace fs = std::filesystem;
  char tmpl[] = "/tmp/grove_fake_nvrtc_XXXXXX";
  if (!mkdtemp(tmpl)) return 6;
  fs::path dir = tmpl;
  std::string src = prog->source + "\n#include \"packed.h\"\n";
  // Every `extern "C" __global__` kernel: its name is on the next line.
  std::regex kernel_line(R"(extern "C" __global__[^\n]*\n(\w+)\()");
  for (auto it = std::sregex_iterator(prog->source.begin(), prog->source.end(), kernel_line);
       it != std::sregex_iterator(); ++it)
    src += "GROVE_CPU_PACKED(" + (*it)[1].str() + ")\n";
  std::ofstream(dir / "kernel.cpp") << src;
  std::string cmd = grove::cpu::stand_in_compiler() + " -fPIC -shared -D__CUDACC_RTC__ " +
                    (dir / "kernel.cpp").string() + " " + GROVE_CPU_DEVICE_LIBS + " -o " +
                    (dir / "kernel.so").string();
  int rc = 0;
  prog->log = grove::cpu::run_command(cmd, rc);
  if (rc == 0) {
    std::ifstream in(dir / "kernel.so", std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    prog->binary = ss.str();
  } else {
    prog->log = cmd + "\n" + prog->log;
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return rc == 0 ? 0 : 6;
}

int nvrtcGetCUBINSize(Program* prog, size_t* n) {
  *n = prog->binary.size();
  return 0;
}

int nvrtcGetCUBIN(Program* prog, char* out) {
  std::memcpy(out, prog->binary.data(), prog->binary.size());
  return 0;
}

int nvrtcGetProgramLogSize(Program* prog, size_t* n) {
  *n = prog->log.size() + 1;
  return 0;
}

int nvrtcGetProgramLog(Program* prog, char* out) {
  std::memcpy(out, prog->log.c_str(), prog->log.size() + 1);
  return 0;
}

} // extern "C"
