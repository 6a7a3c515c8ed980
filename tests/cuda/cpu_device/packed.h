// Appended by the stand-in NVRTC (fake_nvrtc.cpp) to every kernel it compiles: an entry point per
// kernel that takes the arguments as cuLaunchKernel does (an array of pointers, one per
// parameter) and runs the grid on the CPU stand-in.
#pragma once
#include <cstddef>
#include <string>
#include <tuple>
#include <utility>

#include "cpu_device.h"

namespace grove::cpu {

template <class... P, size_t... I>
void call_unpacked(void (*kernel)(P...), void** args, std::index_sequence<I...>) {
  kernel(*static_cast<std::remove_cv_t<std::remove_reference_t<P>>*>(args[I])...);
}

// Returns null or what went wrong (valid until the next launch).
template <class... P>
const char* run_packed(void (*kernel)(P...), unsigned blocks, unsigned threads, unsigned cluster,
                       size_t smem, void** args) {
  static std::string error;
  error = launch(blocks, threads, cluster, smem,
                 [&] { call_unpacked(kernel, args, std::index_sequence_for<P...>{}); });
  return error.empty() ? nullptr : error.c_str();
}

} // namespace grove::cpu

#define GROVE_CPU_PACKED(kernel)                                                                   \
  extern "C" const char* kernel##_grove_packed(unsigned blocks, unsigned threads,                  \
                                               unsigned cluster, size_t smem, void** args) {       \
    return ::grove::cpu::run_packed(kernel, blocks, threads, cluster, smem, args);                 \
  }
