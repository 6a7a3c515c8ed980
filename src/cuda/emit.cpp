#include "cuda/emit.h"

#include <cmath>
#include <cstdio>

namespace grove::cuda {

using namespace kir;

void CodeWriter::line(const std::string& s) {
  if (!s.empty()) os_ << std::string(static_cast<size_t>(indent_) * 2, ' ') << s;
  os_ << "\n";
}

void CodeWriter::open(const std::string& s) {
  line(s.empty() ? "{" : s + " {");
  ++indent_;
}

void CodeWriter::close(const std::string& s) {
  --indent_;
  line(s);
}

void CodeWriter::comment(const std::string& s) {
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find('\n', start);
    if (end == std::string::npos) end = s.size();
    line("// " + s.substr(start, end - start));
    start = end + 1;
  }
}

void unsupported(SourceLoc loc, const std::string& what, const std::string& hint) {
  throw GroveError(loc, "CUDA back end: " + what, hint);
}

namespace {
std::string c_expr_inner(const IExpr& e, bool top) {
  switch (e.op) {
  case IExpr::Const:
    return std::to_string(e.value);
  case IExpr::Var:
    return e.name;
  case IExpr::Min:
    return "grove::imin(" + c_expr_inner(*e.a, true) + ", " + c_expr_inner(*e.b, true) + ")";
  case IExpr::Max:
    return "grove::imax(" + c_expr_inner(*e.a, true) + ", " + c_expr_inner(*e.b, true) + ")";
  case IExpr::CeilDiv:
    return "grove::cdiv(" + c_expr_inner(*e.a, true) + ", " + c_expr_inner(*e.b, true) + ")";
  default:
    break;
  }
  const char* op = e.op == IExpr::Add   ? " + "
                   : e.op == IExpr::Sub ? " - "
                   : e.op == IExpr::Mul ? " * "
                   : e.op == IExpr::Div ? " / "
                                        : " % ";
  std::string s = c_expr_inner(*e.a, false) + op + c_expr_inner(*e.b, false);
  return top ? s : "(" + s + ")";
}
} // namespace

std::string c_expr(const IExprP& e) {
  if (!e) return "0";
  return c_expr_inner(*e, true);
}

IExprP i_add(IExprP a, IExprP b) {
  return add(std::move(a), std::move(b));
}

IExprP i_mul(IExprP a, int64_t b) {
  return mul(std::move(a), cst(b));
}

const char* storage_type(ElemType t) {
  switch (t) {
  case ElemType::F16:
  case ElemType::BF16:
    return "grove::u16";
  case ElemType::F32:
    return "float";
  case ElemType::E4M3:
  case ElemType::E5M2:
    return "unsigned char";
  }
  return "?";
}

bool is_16bit(ElemType t) {
  return t == ElemType::F16 || t == ElemType::BF16;
}

std::string to_float(ElemType t, const std::string& x) {
  switch (t) {
  case ElemType::F16:
    return "grove::f16_to_f32(" + x + ")";
  case ElemType::BF16:
    return "grove::bf16_to_f32(" + x + ")";
  case ElemType::F32:
    return x;
  case ElemType::E4M3:
    return "grove::e4m3_to_f32(" + x + ")";
  case ElemType::E5M2:
    return "grove::e5m2_to_f32(" + x + ")";
  }
  return x;
}

std::string from_float(ElemType t, const std::string& x) {
  switch (t) {
  case ElemType::F16:
    return "grove::f32_to_f16(" + x + ")";
  case ElemType::BF16:
    return "grove::f32_to_bf16(" + x + ")";
  case ElemType::F32:
    return x;
  case ElemType::E4M3:
    return "grove::f32_to_e4m3(" + x + ")";
  case ElemType::E5M2:
    return "grove::f32_to_e5m2(" + x + ")";
  }
  return x;
}

std::string pack_pair(ElemType t, const std::string& lo, const std::string& hi) {
  return std::string(t == ElemType::BF16 ? "grove::pack_bf16x2(" : "grove::pack_f16x2(") + lo +
         ", " + hi + ")";
}

std::string unpack_pair(ElemType t, const std::string& packed, const std::string& which) {
  const char* p = t == ElemType::BF16 ? "grove::bf16x2_" : "grove::f16x2_";
  if (which == "0") return std::string(p) + "lo(" + packed + ")";
  if (which == "1") return std::string(p) + "hi(" + packed + ")";
  return "(" + which + " == 0 ? " + p + "lo(" + packed + ") : " + p + "hi(" + packed + "))";
}

std::string float_literal(double v) {
  if (std::isinf(v)) return v > 0 ? "grove::inf()" : "(-grove::inf())";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  std::string s = buf;
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s + "f";
}

std::string sanitize(const std::string& name) {
  std::string s;
  for (char ch : name) s += (std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_');
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) s = "_" + s;
  return s;
}

std::vector<IExprP> full_index(const Ref& r, size_t rank, const std::vector<IExprP>& local) {
  std::vector<IExprP> idx(rank);
  size_t lead = rank - local.size();
  for (size_t d = 0; d < rank; ++d) {
    IExprP o = d < r.origin.size() && r.origin[d] ? r.origin[d] : cst(0);
    idx[d] = d >= lead ? i_add(o, local[d - lead]) : o;
  }
  return idx;
}

int64_t smem_rows(const SmemBuffer& b) {
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < b.shape.size(); ++d) rows *= b.shape[d];
  return rows;
}

namespace {
// Flattened row of a full index (all leading dimensions), and the column.
IExprP flat_row(const SmemBuffer& b, const std::vector<IExprP>& idx) {
  IExprP row = cst(0);
  for (size_t d = 0; d + 1 < b.shape.size(); ++d) {
    int64_t below = 1;
    for (size_t e = d + 1; e + 1 < b.shape.size(); ++e) below *= b.shape[e];
    row = i_add(row, i_mul(idx[d], below));
  }
  return row;
}
} // namespace

int64_t sw_start(const SmemBuffer& b, int64_t row, int64_t col_bytes) {
  const int64_t w = swizzle_bytes(b.swizzle);
  return (col_bytes / w) * smem_rows(b) * w + row * w + col_bytes % w;
}
int64_t sw_offset(const SmemBuffer& b, int64_t row, int64_t col_bytes) {
  const int64_t o = sw_start(b, row, col_bytes);
  return o ^ (((o >> 7) & (swizzle_bytes(b.swizzle) / 16 - 1)) << 4);
}

std::string smem_elem_offset(const SmemBuffer& b, const std::vector<IExprP>& idx) {
  int64_t eb = elem_bytes(b.elem);
  IExprP row = flat_row(b, idx);
  IExprP col = idx.back();
  if (b.swizzle == Swizzle::None) return c_expr(i_mul(i_add(i_mul(row, b.shape.back()), col), eb));
  int64_t r = 0, c = 0;
  if (is_const(row, &r) && is_const(col, &c)) return std::to_string(sw_offset(b, r, c * eb));
  return "grove::sw_offset<" + std::to_string(swizzle_bytes(b.swizzle)) + ">(" + c_expr(row) +
         ", " + c_expr(i_mul(col, eb)) + ", " + std::to_string(smem_rows(b)) + ")";
}

IExprP smem_start_offset(const SmemBuffer& b, const std::vector<IExprP>& idx) {
  int64_t eb = elem_bytes(b.elem);
  IExprP row = flat_row(b, idx);
  IExprP col = idx.back();
  if (b.swizzle == Swizzle::None) return i_mul(i_add(i_mul(row, b.shape.back()), col), eb);
  // The column must start a 16-byte chunk: panel * rows * W + row * W + (col bytes % W).
  int64_t c = 0;
  if (!is_const(col, &c))
    unsupported({}, "a TMA box or WGMMA tile of swizzled buffer '" + b.name +
                        "' starts at a column that is not a constant");
  return i_add(cst(sw_start(b, 0, c * eb)), i_mul(row, swizzle_bytes(b.swizzle)));
}

std::string smem_ptr_name(const SmemBuffer& b) {
  return sanitize(b.name);
}
std::string smem_addr_name(const SmemBuffer& b) {
  return sanitize(b.name) + "_addr";
}
std::string mbar_name(const Barrier& b) {
  return "mbar_" + sanitize(b.name);
}
std::string leaf_name(const std::string& n) {
  return "leaf_" + sanitize(n);
}

} // namespace grove::cuda
