// How printed kernels are compiled against the CPU stand-in (by cpu_device_test.cpp and by the
// stand-in NVRTC), and running a command for its output. Needs the GROVE_CXX, GROVE_SOURCE_DIR
// and GROVE_CPU_DEVICE_DIR definitions the CMake targets give.
#pragma once
#include <cstdio>
#include <string>

namespace grove::cpu {

// The host compiler with the stand-in's headers first (include/grove_sm90.cuh, which takes the
// real header's portable part from GROVE_REAL_DEVICE_HEADER): -O0, as the kernels only need to
// run once, and quickly compiled.
inline std::string stand_in_compiler() {
  return std::string(GROVE_CXX) + " -std=c++20 -O0 -w -Wno-psabi -DGROVE_REAL_DEVICE_HEADER='\"" +
         GROVE_SOURCE_DIR + "/src/cuda/grove_sm90.cuh\"' -I" + GROVE_CPU_DEVICE_DIR +
         "/include -I" + GROVE_CPU_DEVICE_DIR + " -I" + GROVE_SOURCE_DIR + "/src";
}

// Runs `cmd` in a shell; its stdout and stderr, and its exit status in `rc`.
inline std::string run_command(const std::string& cmd, int& rc) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) {
    rc = -1;
    return "popen failed";
  }
  char buf[4096];
  while (fgets(buf, sizeof buf, p)) out += buf;
  rc = pclose(p);
  return out;
}

} // namespace grove::cpu
