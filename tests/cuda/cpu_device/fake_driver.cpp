// A stand-in for libcuda.so.1 (found first on LD_LIBRARY_PATH by the tests that use it): the
// driver entry points Grove's runtime (src/runtime/driver.h) binds, backed by host memory and
// the CPU stand-in, so `grove run --gpu --check`, `grove bench` and the API's launches run their
// whole GPU path on a machine without one. Modules are the shared objects the stand-in NVRTC
// (fake_nvrtc.cpp) builds; a launch calls the kernel's packed entry point, which runs the grid
// before returning. Events read the host clock.
#include <dlfcn.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>

#include "cpu_device.h"
#include "runtime/driver.h"

using namespace grove;
namespace cu = grove::runtime::cu;

namespace {

using Packed = const char* (*)(unsigned, unsigned, unsigned, size_t, void**);

struct FakeModule {
  void* lib = nullptr;
};
struct FakeFunction {
  Packed packed = nullptr;
};
struct FakeEvent {
  std::chrono::steady_clock::time_point t;
};

std::map<uintptr_t, size_t>& allocations() {
  static std::map<uintptr_t, size_t> m;
  return m;
}
std::string& last_launch_error() {
  static std::string e;
  return e;
}
int g_context = 1;

constexpr int kInvalidValue = 1, kNotFound = 500, kLaunchFailed = 719;

int run(FakeFunction* f, unsigned blocks, unsigned threads, unsigned cluster, unsigned smem,
        void** args) {
  const char* err = f->packed(blocks, threads, cluster, smem, args);
  if (!err) return 0;
  last_launch_error() = std::string("the kernel failed on the CPU stand-in: ") + err;
  return kLaunchFailed;
}

} // namespace

extern "C" {

int cuInit(unsigned) {
  return 0;
}
int cuDriverGetVersion(int* v) {
  *v = 13000;
  return 0;
}
int cuDeviceGetCount(int* n) {
  *n = 1;
  return 0;
}
int cuDeviceGet(cu::Device* d, int ordinal) {
  *d = ordinal;
  return ordinal == 0 ? 0 : kInvalidValue;
}
int cuDeviceGetName(char* name, int len, cu::Device) {
  std::strncpy(name, "CPU stand-in for an H100 (tests/cuda/cpu_device)", static_cast<size_t>(len));
  name[len - 1] = 0;
  return 0;
}
int cuDeviceGetAttribute(int* v, int attr, cu::Device) {
  switch (attr) {
  case cu::kAttrComputeCapabilityMajor:
    *v = 9;
    return 0;
  case cu::kAttrComputeCapabilityMinor:
    *v = 0;
    return 0;
  case cu::kAttrMaxSharedMemoryPerBlockOptin:
    *v = 232448;
    return 0;
  case cu::kAttrMultiprocessorCount:
    *v = cpu::kSms;
    return 0;
  case cu::kAttrL2CacheSize:
    *v = 1 << 20;
    return 0;
  }
  return kInvalidValue;
}
int cuDevicePrimaryCtxRetain(cu::Context* c, cu::Device) {
  *c = reinterpret_cast<cu::Context>(&g_context);
  return 0;
}
int cuDevicePrimaryCtxRelease_v2(cu::Device) {
  return 0;
}
int cuCtxSetCurrent(cu::Context) {
  return 0;
}
int cuCtxSynchronize() {
  return 0;
}
int cuPointerGetAttribute(void* out, int attr, cu::DevicePtr p) {
  auto& a = allocations();
  auto it = a.upper_bound(static_cast<uintptr_t>(p));
  if (it == a.begin()) return kInvalidValue;
  --it;
  if (p >= it->first + it->second) return kInvalidValue;
  switch (attr) {
  case cu::kPointerAttrMemoryType:
    *static_cast<unsigned*>(out) = cu::kMemoryTypeDevice;
    return 0;
  case cu::kPointerAttrDeviceOrdinal:
    *static_cast<int*>(out) = 0;
    return 0;
  case cu::kPointerAttrRangeStartAddr:
    *static_cast<cu::DevicePtr*>(out) = it->first;
    return 0;
  case cu::kPointerAttrRangeSize:
    *static_cast<size_t*>(out) = it->second;
    return 0;
  }
  return kInvalidValue;
}

int cuModuleLoadData(cu::Module* m, const void* image) {
  // The image is a shared object (fake_nvrtc.cpp); its size is in its ELF section headers, but
  // the loader wants a file: write the bytes up to the end of the section header table.
  const unsigned char* b = static_cast<const unsigned char*>(image);
  if (std::memcmp(b,
                  "\x7f"
                  "ELF",
                  4) != 0)
    return kInvalidValue;
  uint64_t shoff = 0;
  uint16_t shentsize = 0, shnum = 0;
  std::memcpy(&shoff, b + 0x28, 8);
  std::memcpy(&shentsize, b + 0x3a, 2);
  std::memcpy(&shnum, b + 0x3c, 2);
  const size_t bytes = shoff + static_cast<size_t>(shentsize) * shnum;
  char path[] = "/tmp/grove_fake_module_XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return kInvalidValue;
  bool ok = write(fd, b, bytes) == static_cast<ssize_t>(bytes);
  close(fd);
  void* lib = ok ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : nullptr;
  unlink(path);
  if (!lib) return kInvalidValue;
  *m = reinterpret_cast<cu::Module>(new FakeModule{lib});
  return 0;
}
int cuModuleUnload(cu::Module m) {
  auto* fm = reinterpret_cast<FakeModule*>(m);
  dlclose(fm->lib);
  delete fm;
  return 0;
}
int cuModuleGetFunction(cu::Function* f, cu::Module m, const char* name) {
  auto* fm = reinterpret_cast<FakeModule*>(m);
  void* p = dlsym(fm->lib, (std::string(name) + "_grove_packed").c_str());
  if (!p) return kNotFound;
  *f = reinterpret_cast<cu::Function>(new FakeFunction{reinterpret_cast<Packed>(p)});
  return 0;
}
int cuFuncSetAttribute(cu::Function, int attr, int v) {
  if (attr == cu::kFuncAttrMaxDynamicSharedSizeBytes && (v < 0 || v > 232448)) return kInvalidValue;
  return 0;
}
int cuLaunchKernel(cu::Function f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                   unsigned bz, unsigned smem, cu::Stream, void** args, void**) {
  return run(reinterpret_cast<FakeFunction*>(f), gx * gy * gz, bx * by * bz, 1, smem, args);
}
int cuLaunchKernelEx(const cu::LaunchConfig* c, cu::Function f, void** args, void**) {
  unsigned cluster = 1;
  for (unsigned i = 0; i < c->num_attrs; ++i)
    if (c->attrs[i].id == cu::kLaunchAttrClusterDimension)
      cluster = c->attrs[i].value.cluster_dim.x * c->attrs[i].value.cluster_dim.y *
                c->attrs[i].value.cluster_dim.z;
  return run(reinterpret_cast<FakeFunction*>(f), c->grid_x * c->grid_y * c->grid_z,
             c->block_x * c->block_y * c->block_z, cluster, c->shared_mem_bytes, args);
}
int cuOccupancyMaxActiveClusters(int* n, cu::Function, const cu::LaunchConfig* c) {
  *n = cpu::kSms / static_cast<int>(c->grid_x);
  return 0;
}

int cuMemAlloc_v2(cu::DevicePtr* p, size_t bytes) {
  void* m = std::aligned_alloc(256, (bytes + 255) / 256 * 256 + 256);
  if (!m) return 2;
  *p = reinterpret_cast<uintptr_t>(m);
  allocations()[*p] = bytes;
  return 0;
}
int cuMemFree_v2(cu::DevicePtr p) {
  allocations().erase(static_cast<uintptr_t>(p));
  std::free(reinterpret_cast<void*>(p));
  return 0;
}
int cuMemAllocAsync(cu::DevicePtr* p, size_t bytes, cu::Stream) {
  return cuMemAlloc_v2(p, bytes);
}
int cuMemFreeAsync(cu::DevicePtr p, cu::Stream) {
  return cuMemFree_v2(p);
}
int cuMemcpyHtoD_v2(cu::DevicePtr dst, const void* src, size_t n) {
  std::memcpy(reinterpret_cast<void*>(dst), src, n);
  return 0;
}
int cuMemcpyDtoH_v2(void* dst, cu::DevicePtr src, size_t n) {
  std::memcpy(dst, reinterpret_cast<const void*>(src), n);
  return 0;
}
int cuMemsetD8_v2(cu::DevicePtr dst, unsigned char v, size_t n) {
  std::memset(reinterpret_cast<void*>(dst), v, n);
  return 0;
}

int cuTensorMapEncodeTiled(cu::TensorMap* map, int dtype, uint32_t rank, void* base,
                           const uint64_t* dims, const uint64_t* strides, const uint32_t* box,
                           const uint32_t* elem_strides, int interleave, int swizzle, int, int) {
  return cpu::encode_tiled(map, dtype, rank, base, dims, strides, box, elem_strides, interleave,
                           swizzle) == 0
             ? 0
             : kInvalidValue;
}

int cuEventCreate(cu::Event* e, unsigned) {
  *e = reinterpret_cast<cu::Event>(new FakeEvent{});
  return 0;
}
int cuEventDestroy_v2(cu::Event e) {
  delete reinterpret_cast<FakeEvent*>(e);
  return 0;
}
int cuEventRecord(cu::Event e, cu::Stream) {
  reinterpret_cast<FakeEvent*>(e)->t = std::chrono::steady_clock::now();
  return 0;
}
int cuEventSynchronize(cu::Event) {
  return 0;
}
int cuEventElapsedTime_v2(float* ms, cu::Event a, cu::Event b) {
  *ms = std::chrono::duration<float, std::milli>(reinterpret_cast<FakeEvent*>(b)->t -
                                                 reinterpret_cast<FakeEvent*>(a)->t)
            .count();
  return 0;
}
int cuGetErrorString(int r, const char** s) {
  *s = r == kLaunchFailed ? last_launch_error().c_str()
       : r == 0           ? "no error"
                          : "an error of the CPU stand-in driver";
  return 0;
}

} // extern "C"
