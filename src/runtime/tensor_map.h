// TMA tensor maps on the host, as the printed launcher builds them (src/cuda/grove_sm90_host.cuh):
// a tiled map over a row-major tensor, innermost dimension first for the driver, elements outside
// the tensor read as zero, L2 promotion of 256 bytes.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cuda/print_cuda.h"
#include "runtime/driver.h"

namespace grove::runtime {

// The arguments of cuTensorMapEncodeTiled for one map, innermost dimension first.
struct TensorMapArgs {
  std::string tensor; // for messages
  std::string map;    // the kernel parameter
  int dtype = 0;      // cu::TensorMapDataType
  int rank = 0;
  uint64_t dims[5] = {};
  uint64_t strides[4] = {}; // bytes, of dimensions 1..rank-1
  uint32_t box[5] = {};
  uint32_t elem_strides[5] = {};
  int swizzle = cu::kSwizzleNone;
};

cu::TensorMapDataType tma_dtype(ElemType t);

// Plans the map for `spec` with the kernel's sizes bound. Throws Error naming the tensor when TMA
// cannot describe it: a base address or a row pitch that is not a multiple of 16 bytes, a box
// dimension over 256, a swizzled box row over 128 bytes, more than 5 dimensions. `strides` (in
// elements, outermost first; the innermost 1), where given, are the tensor's in memory instead of
// row-major with rows row_pitch apart (for tensors the kernel reaches only by TMA: kir::tma_only).
TensorMapArgs plan_tensor_map(const kir::Kernel& k, const cuda::TensorMapSpec& spec,
                              const std::map<std::string, int64_t>& sizes, uint64_t base,
                              const std::vector<int64_t>* strides = nullptr);

// Encodes it through the driver.
cu::TensorMap encode_tensor_map(const Driver& d, const TensorMapArgs& a, cu::DevicePtr base);

} // namespace grove::runtime
