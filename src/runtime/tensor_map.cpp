#include "runtime/tensor_map.h"

#include <stdexcept>

namespace grove::runtime {

cu::TensorMapDataType tma_dtype(ElemType t) {
  switch (t) {
  case ElemType::F16:
    return cu::kTmaFloat16;
  case ElemType::BF16:
    return cu::kTmaBfloat16;
  case ElemType::F32:
    return cu::kTmaFloat32;
  case ElemType::E4M3:
  case ElemType::E5M2:
    return cu::kTmaUint8;
  }
  return cu::kTmaUint8;
}

static_assert(static_cast<int>(kir::Swizzle::None) == cu::kSwizzleNone &&
                  static_cast<int>(kir::Swizzle::B32) == cu::kSwizzle32B &&
                  static_cast<int>(kir::Swizzle::B64) == cu::kSwizzle64B &&
                  static_cast<int>(kir::Swizzle::B128) == cu::kSwizzle128B,
              "kir::Swizzle and CUtensorMapSwizzle number the spans alike");

TensorMapArgs plan_tensor_map(const kir::Kernel& k, const cuda::TensorMapSpec& spec,
                              const std::map<std::string, int64_t>& sizes, uint64_t base,
                              const std::vector<int64_t>* strides) {
  const kir::GlobalTensor& t = k.tensors.at(static_cast<size_t>(spec.tensor));
  TensorMapArgs a;
  a.tensor = t.name;
  a.map = spec.name;
  a.dtype = tma_dtype(t.elem);
  a.rank = static_cast<int>(t.shape.size());
  a.swizzle = static_cast<int>(spec.swizzle);
  const int64_t span = kir::swizzle_bytes(spec.swizzle);
  auto fail = [&](const std::string& why, const std::string& hint = {}) {
    throw Error("cannot describe tensor '" + t.name + "' to TMA (tensor map " + spec.name +
                    "): " + why,
                hint);
  };
  if (a.rank < 1 || a.rank > 5) fail("rank " + std::to_string(a.rank) + " (TMA takes 1 to 5)");
  if (spec.box.size() != t.shape.size()) fail("the box has another rank than the tensor");
  const int64_t eb = elem_bytes(t.elem);
  if (strides && (strides->size() != t.shape.size() || strides->back() != 1))
    fail("its strides are not one per dimension with the innermost 1");
  if (base % 16 != 0)
    fail("its base address is not 16-byte aligned",
         "allocate tensors TMA reads or writes on 16-byte boundaries");
  int64_t pitch = eb;
  for (int i = 0; i < a.rank; ++i) {
    size_t d = static_cast<size_t>(a.rank - 1 - i); // the driver lists the innermost first
    int64_t extent = 0;
    try {
      extent = kir::eval(*t.shape[d], sizes);
    } catch (const std::out_of_range& e) {
      fail(std::string("its shape needs a size that is not given (") + e.what() + ")");
    }
    int64_t box = spec.box[d];
    if (box < 1 || box > 256) fail("box dimension " + std::to_string(box) + " is outside 1..256");
    if (i == 0 && span && box * eb > span)
      fail("a " + std::to_string(span) + "B-swizzled box row is " + std::to_string(box * eb) +
           " bytes (at most " + std::to_string(span) + ")");
    a.dims[i] = static_cast<uint64_t>(extent > 0 ? extent : 1);
    a.box[i] = static_cast<uint32_t>(box);
    a.elem_strides[i] = 1;
    if (i > 0) {
      if (strides) pitch = (*strides)[d] * eb;
      if (pitch % 16 != 0)
        fail("the stride of dimension " + std::to_string(d) + " is " + std::to_string(pitch) +
                 " bytes, not a multiple of 16",
             "make the innermost extent a multiple of " + std::to_string(16 / eb) +
                 " elements (pad the tensor)");
      a.strides[i - 1] = static_cast<uint64_t>(pitch);
    }
    // Rows are padded to 16 bytes (kir::row_pitch).
    pitch *= i == 0 && a.rank > 1 ? kir::eval(*kir::row_pitch(t), sizes)
                                  : static_cast<int64_t>(a.dims[i]);
  }
  return a;
}

cu::TensorMap encode_tensor_map(const Driver& d, const TensorMapArgs& a, cu::DevicePtr base) {
  cu::TensorMap map{};
  d.check(d.cuTensorMapEncodeTiled(&map, a.dtype, static_cast<uint32_t>(a.rank),
                                   reinterpret_cast<void*>(base), a.dims, a.strides, a.box,
                                   a.elem_strides, cu::kInterleaveNone, a.swizzle,
                                   cu::kL2Promotion256B, cu::kOobFillNone),
          "cuTensorMapEncodeTiled for tensor '" + a.tensor + "' (" + a.map + ")");
  return map;
}

} // namespace grove::runtime
