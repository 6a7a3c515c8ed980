#include "runtime/driver.h"

#include <dlfcn.h>

#include <initializer_list>
#include <type_traits>

namespace grove::runtime {

const char* const kNoDriverMessage = "no CUDA driver (libcuda.so.1 not found): running on the GPU "
                                     "needs an NVIDIA GPU and its driver";
const char* const kNoDriverHint =
    "install the NVIDIA driver, or run on the CPU: `grove run FILE --check` (the interpreter) or "
    "`--emulate` (the kernels in the emulator); from the API, target cpu or emulator";

namespace {

// The first of `names` the library exports (newer versioned names first), or null.
void* symbol(void* lib, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (void* p = dlsym(lib, n)) return p;
  return nullptr;
}

struct Loaded {
  Driver driver{};
  std::string error, hint; // set when loading failed
};

Loaded load() {
  Loaded l;
  void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    l.error = kNoDriverMessage;
    l.hint = kNoDriverHint;
    return l;
  }
  Driver& d = l.driver;
  std::string missing;
  auto bind = [&](auto& fn, std::initializer_list<const char*> names, bool required = true) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(symbol(lib, names));
    if (!fn && required) missing += (missing.empty() ? "" : ", ") + std::string(*names.begin());
  };
  bind(d.cuInit, {"cuInit"});
  bind(d.cuDriverGetVersion, {"cuDriverGetVersion"});
  bind(d.cuDeviceGetCount, {"cuDeviceGetCount"});
  bind(d.cuDeviceGet, {"cuDeviceGet"});
  bind(d.cuDeviceGetName, {"cuDeviceGetName"});
  bind(d.cuDeviceGetAttribute, {"cuDeviceGetAttribute"});
  bind(d.cuDevicePrimaryCtxRetain, {"cuDevicePrimaryCtxRetain"});
  bind(d.cuDevicePrimaryCtxRelease, {"cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease"});
  bind(d.cuCtxSetCurrent, {"cuCtxSetCurrent"});
  bind(d.cuCtxSynchronize, {"cuCtxSynchronize"});
  bind(d.cuPointerGetAttribute, {"cuPointerGetAttribute"});
  bind(d.cuModuleLoadData, {"cuModuleLoadData"});
  bind(d.cuModuleUnload, {"cuModuleUnload"});
  bind(d.cuModuleGetFunction, {"cuModuleGetFunction"});
  bind(d.cuFuncSetAttribute, {"cuFuncSetAttribute"});
  bind(d.cuLaunchKernel, {"cuLaunchKernel"});
  bind(d.cuLaunchKernelEx, {"cuLaunchKernelEx"}, /*required=*/false);
  bind(d.cuOccupancyMaxActiveClusters, {"cuOccupancyMaxActiveClusters"}, /*required=*/false);
  bind(d.cuMemAlloc, {"cuMemAlloc_v2"});
  bind(d.cuMemFree, {"cuMemFree_v2"});
  bind(d.cuMemcpyHtoD, {"cuMemcpyHtoD_v2"});
  bind(d.cuMemcpyDtoH, {"cuMemcpyDtoH_v2"});
  bind(d.cuMemsetD8, {"cuMemsetD8_v2"});
  bind(d.cuMemAllocAsync, {"cuMemAllocAsync"});
  bind(d.cuMemFreeAsync, {"cuMemFreeAsync"});
  bind(d.cuTensorMapEncodeTiled, {"cuTensorMapEncodeTiled"});
  bind(d.cuEventCreate, {"cuEventCreate"});
  bind(d.cuEventDestroy, {"cuEventDestroy_v2", "cuEventDestroy"});
  bind(d.cuEventRecord, {"cuEventRecord"});
  bind(d.cuEventSynchronize, {"cuEventSynchronize"});
  bind(d.cuEventElapsedTime, {"cuEventElapsedTime_v2", "cuEventElapsedTime"});
  bind(d.cuGetErrorString, {"cuGetErrorString"});
  if (!missing.empty()) {
    l.error = "the CUDA driver is too old: libcuda.so.1 lacks " + missing;
    l.hint = "Grove needs a driver for CUDA 12.0 or newer (Hopper, sm_90a)";
    return l;
  }
  cu::Result r = d.cuInit(0);
  if (r != cu::kSuccess) {
    l.error = "the CUDA driver failed to initialize: " + d.error_string(r) +
              (r == 100 ? " (no CUDA-capable device is visible)" : "");
    l.hint = "check nvidia-smi and CUDA_VISIBLE_DEVICES; without a GPU, run on the CPU (the "
             "interpreter or the emulator)";
  }
  return l;
}

const Loaded& loaded() {
  static const Loaded l = load();
  return l;
}

} // namespace

const Driver& Driver::get() {
  const Loaded& l = loaded();
  if (!l.error.empty()) throw Error(l.error, l.hint);
  return l.driver;
}

bool Driver::available() {
  return loaded().error.empty();
}

std::string Driver::error_string(cu::Result r) const {
  const char* s = nullptr;
  if (cuGetErrorString && cuGetErrorString(r, &s) == cu::kSuccess && s) return s;
  return "unknown CUDA error";
}

void Driver::check(cu::Result r, const std::string& what) const {
  if (r != cu::kSuccess)
    throw Error(what + ": " + error_string(r) + " (CUresult " + std::to_string(r) + ")");
}

} // namespace grove::runtime
