// Internals of the CUDA back end shared by its files: a code writer, C text for index
// expressions, element types, and the addresses of elements of kernel IR boxes in shared and
// global memory. Not part of the public API (see print_cuda.h).
#pragma once
#include <sstream>
#include <string>
#include <vector>

#include "kernel/kir.h"

namespace grove::cuda {

// Indented lines of C++.
class CodeWriter {
public:
  void line(const std::string& s = {});
  void open(const std::string& s); // `s {` and indent
  void close(const std::string& s = "}");
  void comment(const std::string& s); // `// s`, one line per '\n'
  std::string str() const { return os_.str(); }

private:
  std::ostringstream os_;
  int indent_ = 0;
};

// Throws GroveError at `loc` (or without a location) for IR the back end cannot print.
[[noreturn]] void unsupported(SourceLoc loc, const std::string& what, const std::string& hint = {});

// C text of an index expression (int arithmetic; cdiv/min/max through the device header).
std::string c_expr(const kir::IExprP& e);
// Folded sums and products for building addresses.
kir::IExprP i_add(kir::IExprP a, kir::IExprP b);
kir::IExprP i_mul(kir::IExprP a, int64_t b);

// Element types: storage type of a global pointer, the load to float and the store from float.
const char* storage_type(ElemType t);
std::string to_float(ElemType t, const std::string& x);
std::string from_float(ElemType t, const std::string& x);
// Packs two floats (lo = smaller column) into the 32-bit pair of a 16-bit type.
std::string pack_pair(ElemType t, const std::string& lo, const std::string& hi);
// Reads element `which` (0 = low, 1 = high; text of a compile-time value) of a packed pair.
std::string unpack_pair(ElemType t, const std::string& packed, const std::string& which);
bool is_16bit(ElemType t);

// A C float literal that round-trips `v`.
std::string float_literal(double v);
std::string sanitize(const std::string& name);

// Full index (one per dimension of the underlying buffer or tensor) of an element of `r`'s box:
// the origin plus `local` (one per box dimension) in the trailing dimensions.
std::vector<kir::IExprP> full_index(const kir::Ref& r, size_t rank,
                                    const std::vector<kir::IExprP>& local);

// Shared memory: byte offset of an element of a buffer slot (swizzled when the buffer is), or the
// start address of a TMA box / WGMMA tile (not swizzled: the hardware swizzles). Flattened rows
// are all leading dimensions; see grove_sm90.cuh for the 128B layout.
std::string smem_elem_offset(const kir::SmemBuffer& b, const std::vector<kir::IExprP>& idx);
kir::IExprP smem_start_offset(const kir::SmemBuffer& b, const std::vector<kir::IExprP>& idx);
int64_t smem_rows(const kir::SmemBuffer& b); // product of the leading dimensions
// Byte `col_bytes` of row `row` (flattened) of a swizzled buffer (kir.h's layout): where a TMA box
// or WGMMA tile starting there starts (the hardware swizzles), and where that byte lives.
int64_t sw_start(const kir::SmemBuffer& b, int64_t row, int64_t col_bytes);
int64_t sw_offset(const kir::SmemBuffer& b, int64_t row, int64_t col_bytes);

// C names the printer gives kernel IR objects.
std::string smem_ptr_name(const kir::SmemBuffer& b);  // unsigned char* of slot 0
std::string smem_addr_name(const kir::SmemBuffer& b); // u32 shared address of slot 0
std::string mbar_name(const kir::Barrier& b);         // __shared__ u64 array
std::string leaf_name(const std::string& n);          // a leaf's index variable or scalar

} // namespace grove::cuda
