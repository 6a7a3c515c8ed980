// grove_sm90_host.cuh: host helpers for the launch functions Grove prints next to its kernels.
//
// Builds TMA tensor maps without linking libcuda: cuTensorMapEncodeTiled is looked up once
// through the runtime's driver entry point. Needs nvcc (or a host compiler with the CUDA
// include directory); never seen by NVRTC.
#pragma once
#include <cuda.h>
#include <cuda_runtime.h>

#include <cstring>

#include "grove_sm90.cuh"

namespace grove {

static_assert(sizeof(CUtensorMap) == sizeof(TensorMap), "CUtensorMap is 128 bytes");

using EncodeTiledFn = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*,
                                   const cuuint64_t*, const cuuint64_t*, const cuuint32_t*,
                                   const cuuint32_t*, CUtensorMapInterleave, CUtensorMapSwizzle,
                                   CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

inline EncodeTiledFn encode_tiled_fn() {
  static EncodeTiledFn fn = [] {
    void* p = nullptr;
    cudaDriverEntryPointQueryResult q{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &p, 12000, cudaEnableDefault,
                                         &q) != cudaSuccess ||
        q != cudaDriverEntryPointSuccess)
      p = nullptr;
    return reinterpret_cast<EncodeTiledFn>(p);
  }();
  return fn;
}

// Encodes a tiled tensor map over a row-major tensor of `rank` dimensions (`dims` outermost
// first, as kernel IR writes shapes), its rows padded to a multiple of 16 bytes (kir::row_pitch),
// with a box of `box` elements (outermost first; leading dimensions of 1 select one index).
// Elements outside the tensor read as zero. Returns cudaErrorInvalidValue when TMA cannot
// describe the tensor (base not 16-byte aligned, a box dimension over 256, a swizzled box row
// over 128 bytes).
inline cudaError_t encode_tensor_map(TensorMap* out, const void* base, CUtensorMapDataType type,
                                     int elem_bytes, int rank, const long long* dims,
                                     const int* box, CUtensorMapSwizzle swizzle) {
  EncodeTiledFn fn = encode_tiled_fn();
  if (!fn) return cudaErrorNotSupported;
  cuuint64_t gdim[5], gstride[4];
  cuuint32_t bdim[5], estride[5];
  long long pitch = elem_bytes;
  for (int i = 0; i < rank; ++i) {
    int d = rank - 1 - i; // TMA lists the innermost dimension first
    gdim[i] = static_cast<cuuint64_t>(dims[d] > 0 ? dims[d] : 1);
    bdim[i] = static_cast<cuuint32_t>(box[d]);
    estride[i] = 1;
    if (i > 0) gstride[i - 1] = static_cast<cuuint64_t>(pitch);
    const long long per16 = 16 / elem_bytes;
    pitch *= i == 0 && rank > 1 ? (static_cast<long long>(gdim[0]) + per16 - 1) / per16 * per16
                                : static_cast<long long>(gdim[i]);
  }
  CUtensorMap map;
  CUresult r = fn(&map, type, static_cast<cuuint32_t>(rank), const_cast<void*>(base), gdim, gstride,
                  bdim, estride, CU_TENSOR_MAP_INTERLEAVE_NONE, swizzle,
                  CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) return cudaErrorInvalidValue;
  std::memcpy(out, &map, sizeof(map));
  return cudaSuccess;
}

} // namespace grove
