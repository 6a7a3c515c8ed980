// The CUDA runtime names Grove's printed launchers use, implemented by the CPU stand-in
// (../cpu_device.h): a launch runs the kernel's blocks on the CPU before it returns.
#pragma once
#include <cstring>
#include <string>
#include <tuple>
#include <utility>

#include "cpu_device.h"
#include "cuda.h"

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorLaunchFailure = 719,
  cudaErrorNotSupported = 801,
};
using cudaStream_t = struct CUstream_st*;
struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
enum cudaLaunchAttributeID { cudaLaunchAttributeClusterDimension = 4 };
struct cudaLaunchAttribute {
  cudaLaunchAttributeID id;
  union {
    struct {
      unsigned x, y, z;
    } clusterDim;
  } val;
};
struct cudaLaunchConfig_t {
  dim3 gridDim, blockDim;
  size_t dynamicSmemBytes = 0;
  cudaStream_t stream = nullptr;
  cudaLaunchAttribute* attrs = nullptr;
  unsigned numAttrs = 0;
};
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
enum cudaDeviceAttr { cudaDevAttrMultiProcessorCount = 16 };
enum cudaDriverEntryPointQueryResult { cudaDriverEntryPointSuccess = 0 };
enum { cudaEnableDefault = 0 };

template <class... P> cudaError_t cudaFuncSetAttribute(void (*)(P...), cudaFuncAttribute, int v) {
  return v >= 0 && v <= 232448 ? cudaSuccess : cudaErrorInvalidValue;
}
inline cudaError_t cudaGetDevice(int* d) {
  *d = 0;
  return cudaSuccess;
}
inline cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr, int) {
  *v = grove::cpu::kSms;
  return cudaSuccess;
}
inline unsigned grove_cpu_cluster(const cudaLaunchConfig_t* c) {
  for (unsigned i = 0; i < c->numAttrs; ++i)
    if (c->attrs[i].id == cudaLaunchAttributeClusterDimension) return c->attrs[i].val.clusterDim.x;
  return 1;
}
template <class... P>
cudaError_t cudaOccupancyMaxActiveClusters(int* n, void (*)(P...), const cudaLaunchConfig_t* c) {
  *n = grove::cpu::kSms / static_cast<int>(grove_cpu_cluster(c));
  return cudaSuccess;
}
template <class... P, class... A>
cudaError_t cudaLaunchKernelEx(const cudaLaunchConfig_t* c, void (*kernel)(P...), A&&... args) {
  std::tuple<P...> params(std::forward<A>(args)...); // converted as the launch would
  std::string err = grove::cpu::launch(
      c->gridDim.x * c->gridDim.y * c->gridDim.z, c->blockDim.x * c->blockDim.y * c->blockDim.z,
      grove_cpu_cluster(c), c->dynamicSmemBytes, [&] { std::apply(kernel, params); });
  return err.empty() ? cudaSuccess : cudaErrorLaunchFailure;
}
inline cudaError_t cudaGetLastError() {
  return cudaSuccess;
}
inline CUresult grove_cpu_encode_tiled(CUtensorMap* map, CUtensorMapDataType t, cuuint32_t rank,
                                       void* base, const cuuint64_t* dims,
                                       const cuuint64_t* strides, const cuuint32_t* box,
                                       const cuuint32_t* estrides, CUtensorMapInterleave il,
                                       CUtensorMapSwizzle sw, CUtensorMapL2promotion,
                                       CUtensorMapFloatOOBfill) {
  return grove::cpu::encode_tiled(map, t, rank, base, dims, strides, box, estrides, il, sw) == 0
             ? CUDA_SUCCESS
             : CUDA_ERROR_INVALID_VALUE;
}
inline cudaError_t cudaGetDriverEntryPointByVersion(const char* name, void** fn, unsigned, int,
                                                    cudaDriverEntryPointQueryResult* q) {
  if (std::strcmp(name, "cuTensorMapEncodeTiled") != 0) return cudaErrorNotSupported;
  *fn = reinterpret_cast<void*>(&grove_cpu_encode_tiled);
  *q = cudaDriverEntryPointSuccess;
  return cudaSuccess;
}
