#include "emulator/box.h"

#include <stdexcept>

namespace grove::emu {

int64_t Box::count() const {
  int64_t n = 1;
  for (size_t d = 0; d < lo.size(); ++d) n *= hi[d] - lo[d];
  return n;
}

std::vector<int64_t> Box::shape() const {
  std::vector<int64_t> s;
  for (size_t d = 0; d < lo.size(); ++d) s.push_back(hi[d] - lo[d]);
  return s;
}

Box eval_box(const kir::Ref& r, const std::vector<int64_t>& tensor_shape, const Env& env) {
  size_t rank = tensor_shape.size();
  if (r.origin.size() != rank || r.shape.size() > rank)
    throw std::runtime_error("box of rank " + std::to_string(r.shape.size()) +
                             " with an origin of " + std::to_string(r.origin.size()) +
                             " coordinates does not fit a tensor of rank " + std::to_string(rank));
  Box b;
  b.index = r.index;
  if (r.kind == kir::Ref::Smem) b.slot = r.slot ? kir::eval(*r.slot, env) : 0;
  size_t lead = rank - r.shape.size();
  for (size_t d = 0; d < rank; ++d) {
    int64_t o = kir::eval(*r.origin[d], env);
    b.lo.push_back(o);
    b.hi.push_back(o + (d < lead ? 1 : r.shape[d - lead]));
  }
  return b;
}

bool inside(const Box& b, const std::vector<int64_t>& shape) {
  for (size_t d = 0; d < shape.size(); ++d)
    if (b.lo[d] < 0 || b.hi[d] > shape[d]) return false;
  return true;
}

bool overlaps(const Box& a, const Box& b) {
  if (a.index != b.index || a.slot != b.slot || a.cta != b.cta || a.lo.size() != b.lo.size())
    return false;
  for (size_t d = 0; d < a.lo.size(); ++d)
    if (a.hi[d] <= b.lo[d] || b.hi[d] <= a.lo[d]) return false;
  return true;
}

bool contains(const Box& outer, const Box& inner) {
  if (outer.index != inner.index || outer.slot != inner.slot || outer.cta != inner.cta)
    return false;
  for (size_t d = 0; d < outer.lo.size(); ++d)
    if (inner.lo[d] < outer.lo[d] || inner.hi[d] > outer.hi[d]) return false;
  return true;
}

std::vector<int64_t> box_indices(const Box& b, const std::vector<int64_t>& shape) {
  size_t rank = shape.size();
  int64_t n = b.count();
  if (n <= 0) return {};
  std::vector<int64_t> out(static_cast<size_t>(n));
  if (rank == 0) return out; // one element, at offset 0
  // Row by row: the outer dimensions give a row's start, the last one runs in a tight loop (this is
  // the emulator's second-hottest code, after mma).
  int64_t lo = b.lo[rank - 1], hi = b.hi[rank - 1], width = shape[rank - 1];
  std::vector<int64_t> idx = b.lo;
  for (size_t e = 0; e < out.size();) {
    int64_t row = 0;
    bool in = true;
    for (size_t d = 0; d + 1 < rank; ++d) {
      if (idx[d] < 0 || idx[d] >= shape[d]) in = false;
      row = row * shape[d] + idx[d];
    }
    row *= width;
    for (int64_t x = lo; x < hi; ++x) out[e++] = in && x >= 0 && x < width ? row + x : -1;
    for (size_t d = rank - 1; d-- > 0;) {
      if (++idx[d] < b.hi[d]) break;
      idx[d] = b.lo[d];
    }
  }
  return out;
}

std::string box_str(const Box& b) {
  std::string s = "[";
  for (size_t d = 0; d < b.lo.size(); ++d)
    s += (d ? ", " : "") + std::to_string(b.lo[d]) + ":" + std::to_string(b.hi[d]);
  return s + "]";
}

} // namespace grove::emu
