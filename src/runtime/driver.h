// The CUDA driver, loaded at run time: dlopen("libcuda.so.1") and a table of the entry points
// Grove uses. Nothing links libcuda, so Grove builds and runs (on the CPU) where there is no GPU;
// only the first call to `Driver::get()` needs one, and it says clearly when there is none.
//
// The few driver types and enum values are declared here rather than taken from <cuda.h>, so
// building needs no CUDA toolkit (tests/runtime checks them against <cuda.h> where it exists).
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

namespace grove::runtime {

// A runtime failure: what went wrong and, when there is one, how to fix it.
struct Error : std::runtime_error {
  explicit Error(const std::string& msg, std::string h = {})
      : std::runtime_error(msg), hint(std::move(h)) {}
  std::string hint;
};

namespace cu {

using Result = int; // CUresult; 0 is CUDA_SUCCESS
using Device = int;
using DevicePtr = unsigned long long;
using Context = struct CUctx_st*;
using Module = struct CUmod_st*;
using Function = struct CUfunc_st*;
using Stream = struct CUstream_st*;
using Event = struct CUevent_st*;

constexpr Result kSuccess = 0;
constexpr int kAttrComputeCapabilityMajor = 75;
constexpr int kAttrComputeCapabilityMinor = 76;
constexpr int kAttrMaxSharedMemoryPerBlockOptin = 97;
constexpr int kAttrMultiprocessorCount = 16;
constexpr int kAttrL2CacheSize = 38;
constexpr int kFuncAttrMaxDynamicSharedSizeBytes = 8;
constexpr int kLaunchAttrClusterDimension = 4;
constexpr int kPointerAttrMemoryType = 2; // CU_POINTER_ATTRIBUTE_MEMORY_TYPE
constexpr int kPointerAttrDeviceOrdinal = 9;
constexpr int kPointerAttrRangeStartAddr = 11;
constexpr int kPointerAttrRangeSize = 12;
constexpr unsigned kMemoryTypeHost = 1; // CUmemorytype
constexpr unsigned kMemoryTypeDevice = 2;
constexpr unsigned kMemoryTypeUnified = 4;

enum TensorMapDataType : int { kTmaUint8 = 0, kTmaFloat16 = 6, kTmaFloat32 = 7, kTmaBfloat16 = 9 };
enum TensorMapSwizzle : int {
  kSwizzleNone = 0,
  kSwizzle32B = 1,
  kSwizzle64B = 2,
  kSwizzle128B = 3
};
constexpr int kInterleaveNone = 0;
constexpr int kL2Promotion256B = 3;
constexpr int kOobFillNone = 0;

struct alignas(64) TensorMap { // CUtensorMap: 128 opaque bytes
  uint64_t opaque[16];
};

union alignas(8) LaunchAttributeValue {
  char pad[64];
  struct {
    unsigned x, y, z;
  } cluster_dim;
};
struct LaunchAttribute {
  int id;
  char pad[4];
  LaunchAttributeValue value;
};
struct LaunchConfig {
  unsigned grid_x, grid_y, grid_z;
  unsigned block_x, block_y, block_z;
  unsigned shared_mem_bytes;
  Stream stream;
  LaunchAttribute* attrs;
  unsigned num_attrs;
};

} // namespace cu

// The driver's entry points (versioned names resolved as <cuda.h> maps them).
struct Driver {
  cu::Result (*cuInit)(unsigned);
  cu::Result (*cuDriverGetVersion)(int*);
  cu::Result (*cuDeviceGetCount)(int*);
  cu::Result (*cuDeviceGet)(cu::Device*, int);
  cu::Result (*cuDeviceGetName)(char*, int, cu::Device);
  cu::Result (*cuDeviceGetAttribute)(int*, int, cu::Device);
  cu::Result (*cuDevicePrimaryCtxRetain)(cu::Context*, cu::Device);
  cu::Result (*cuDevicePrimaryCtxRelease)(cu::Device);
  cu::Result (*cuCtxSetCurrent)(cu::Context);
  cu::Result (*cuCtxSynchronize)();
  cu::Result (*cuPointerGetAttribute)(void*, int, cu::DevicePtr);
  cu::Result (*cuModuleLoadData)(cu::Module*, const void*);
  cu::Result (*cuModuleUnload)(cu::Module);
  cu::Result (*cuModuleGetFunction)(cu::Function*, cu::Module, const char*);
  cu::Result (*cuFuncSetAttribute)(cu::Function, int, int);
  cu::Result (*cuLaunchKernel)(cu::Function, unsigned, unsigned, unsigned, unsigned, unsigned,
                               unsigned, unsigned, cu::Stream, void**, void**);
  cu::Result (*cuLaunchKernelEx)(const cu::LaunchConfig*, cu::Function, void**,
                                 void**); // null on drivers older than 12.0
  cu::Result (*cuOccupancyMaxActiveClusters)(int*, cu::Function,
                                             const cu::LaunchConfig*); // null before 12.0
  cu::Result (*cuMemAlloc)(cu::DevicePtr*, size_t);
  cu::Result (*cuMemFree)(cu::DevicePtr);
  cu::Result (*cuMemcpyHtoD)(cu::DevicePtr, const void*, size_t);
  cu::Result (*cuMemcpyDtoH)(void*, cu::DevicePtr, size_t);
  cu::Result (*cuMemsetD8)(cu::DevicePtr, unsigned char, size_t);
  // Stream-ordered (CUDA 11.2+): the temporaries of one launch_all, from the driver's pool.
  cu::Result (*cuMemAllocAsync)(cu::DevicePtr*, size_t, cu::Stream);
  cu::Result (*cuMemFreeAsync)(cu::DevicePtr, cu::Stream);
  cu::Result (*cuTensorMapEncodeTiled)(cu::TensorMap*, int, uint32_t, void*, const uint64_t*,
                                       const uint64_t*, const uint32_t*, const uint32_t*, int, int,
                                       int, int);
  cu::Result (*cuEventCreate)(cu::Event*, unsigned);
  cu::Result (*cuEventDestroy)(cu::Event);
  cu::Result (*cuEventRecord)(cu::Event, cu::Stream);
  cu::Result (*cuEventSynchronize)(cu::Event);
  cu::Result (*cuEventElapsedTime)(float*, cu::Event, cu::Event);
  cu::Result (*cuGetErrorString)(cu::Result, const char**);

  // Loads libcuda.so.1 (once) and calls cuInit. Throws Error when there is no driver.
  static const Driver& get();
  // Whether a driver can be loaded, without throwing.
  static bool available();

  // Throws Error("<what>: <driver's message> (CUresult n)") unless r is success.
  void check(cu::Result r, const std::string& what) const;
  std::string error_string(cu::Result r) const;
};

// The message `Driver::get()` gives where libcuda.so.1 cannot be loaded.
extern const char* const kNoDriverMessage;
extern const char* const kNoDriverHint;

} // namespace grove::runtime
