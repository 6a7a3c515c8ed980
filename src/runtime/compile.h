// Kernel IR -> CUBIN through the CUDA back end and NVRTC, with an on-disk cache.
//
// The printed unit is compiled as NVRTC sees it (__CUDACC_RTC__: the kernel only, no host
// launcher) with the device headers passed by contents. The cache key hashes the source, the
// device headers, the NVRTC version, the options and the architecture.
#pragma once
#include <string>
#include <vector>

#include "kernel/kir.h"
#include "runtime/ptxas_report.h"

namespace grove::runtime {

struct CompileOptions {
  std::string arch = "sm_90a";
  std::string cache_dir; // empty: default_cache_dir()
  bool use_cache = true;
  bool line_info = false; // -lineinfo, for compute-sanitizer and profilers
  // -DGROVE_HANG_TRAP: a wait that never completes traps after about 10 s (checked runs; timed
  // builds leave it out, see grove_sm90.cuh).
  bool hang_trap = false;
};

// The options of checked runs (`grove run --gpu`): hangs trap.
inline CompileOptions checked_build() {
  CompileOptions o;
  o.hang_trap = true;
  return o;
}

struct Cubin {
  std::string image;  // the ELF bytes
  std::string symbol; // the kernel's entry point
  std::string cache_path;
  bool cache_hit = false;
  double seconds = 0; // wall time of this call: NVRTC compile, or cache load
  std::string log;    // NVRTC's log (warnings, ptxas -v), kept in the cache beside the CUBIN
  PtxasReport ptxas;  // what ptxas said of the kernel's registers and spills, from the log
};

// The NVRTC options used for `opts` (also part of the cache key). Always --ptxas-options=-v, so
// every compile reports registers and spills.
std::vector<std::string> nvrtc_options(const CompileOptions& opts);

// Compiles CUDA source printed by the back end. `stem` names the cache file.
Cubin compile_source(const std::string& source, const std::string& symbol, const std::string& stem,
                     const CompileOptions& opts = {});
// Prints the kernel (cuda::print_cuda) and compiles it.
Cubin compile(const kir::Kernel& k, const CompileOptions& opts = {});

} // namespace grove::runtime
