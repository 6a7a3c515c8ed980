#include "taskir/view.h"

#include <algorithm>

namespace grove {

Buffer::Buffer(std::string n, ElemType e, std::vector<int64_t> s, double fill, bool allocate)
    : name(std::move(n)), elem(e), shape(std::move(s)) {
  if (!allocate) return;
  int64_t total = 1;
  for (int64_t d : shape) total *= d;
  data.assign(static_cast<size_t>(total), fill);
}

View View::whole(std::shared_ptr<Buffer> b) {
  View v;
  size_t r = b->shape.size();
  v.origin.assign(r, 0);
  v.lo.assign(r, 0);
  v.hi = b->shape;
  for (size_t a = 0; a < r; ++a) v.dims.push_back({static_cast<int>(a), 1, b->shape[a]});
  v.buf = std::move(b);
  return v;
}

std::vector<int64_t> View::shape() const {
  std::vector<int64_t> s;
  for (const ViewDim& d : dims) s.push_back(d.extent);
  return s;
}

int64_t View::count() const {
  int64_t n = 1;
  for (const ViewDim& d : dims) n *= d.extent;
  return n;
}

View View::select(const std::vector<int64_t>& idx) const {
  View v = *this;
  for (size_t i = 0; i < idx.size(); ++i) v.origin[dims[i].axis] += dims[i].step * idx[i];
  // A selected index outside its dimension leaves nothing valid: collapse the box on that axis.
  for (size_t i = 0; i < idx.size(); ++i) {
    int a = dims[i].axis;
    if (idx[i] < 0 || idx[i] >= dims[i].extent)
      v.hi[a] = v.lo[a];
    else {
      v.lo[a] = std::max(v.lo[a], v.origin[a]);
      v.hi[a] = std::min(v.hi[a], v.origin[a] + 1);
    }
  }
  v.dims.erase(v.dims.begin(), v.dims.begin() + static_cast<long>(idx.size()));
  return v;
}

namespace {

// Visits every index of the view in row-major order with its buffer offset, or -1 when the
// element lies outside the valid box.
template <class F> void for_each_element(const View& v, F&& f) {
  const std::vector<int64_t>& bshape = v.buf->shape;
  size_t axes = bshape.size();
  std::vector<int64_t> bstride(axes, 1);
  for (size_t a = axes; a-- > 1;) bstride[a - 1] = bstride[a] * bshape[a];
  int64_t n = v.count();
  if (n == 0) return;
  std::vector<int64_t> idx(v.dims.size(), 0);
  std::vector<int64_t> coord = v.origin;
  for (int64_t e = 0; e < n; ++e) {
    bool ok = true;
    int64_t off = 0;
    for (size_t a = 0; a < axes; ++a) {
      if (coord[a] < v.lo[a] || coord[a] >= v.hi[a]) {
        ok = false;
        break;
      }
      off += coord[a] * bstride[a];
    }
    f(e, ok ? off : -1);
    for (size_t d = v.dims.size(); d-- > 0;) {
      const ViewDim& vd = v.dims[d];
      if (++idx[d] < vd.extent) {
        coord[vd.axis] += vd.step;
        break;
      }
      coord[vd.axis] -= vd.step * (vd.extent - 1);
      idx[d] = 0;
    }
  }
}

} // namespace

void View::gather(std::vector<double>& out) const {
  out.assign(static_cast<size_t>(count()), 0.0);
  const double* src = buf->data.data();
  for_each_element(*this, [&](int64_t e, int64_t off) {
    if (off >= 0) out[static_cast<size_t>(e)] = src[off];
  });
}

void View::scatter(const std::vector<double>& in, bool exact) const {
  double* dst = buf->data.data();
  ElemType t = buf->elem;
  for_each_element(*this, [&](int64_t e, int64_t off) {
    if (off >= 0)
      dst[off] = exact ? in[static_cast<size_t>(e)] : round_to(t, in[static_cast<size_t>(e)]);
  });
}

bool View::may_overlap(const View& o) const {
  if (buf != o.buf) return false;
  for (size_t a = 0; a < origin.size(); ++a) {
    // Bounding interval of the coordinates this view reaches on axis a, clipped to its box.
    auto range = [a](const View& v) {
      int64_t mn = v.origin[a], mx = v.origin[a];
      for (const ViewDim& d : v.dims)
        if (d.axis == static_cast<int>(a) && d.extent > 0) {
          int64_t span = d.step * (d.extent - 1);
          if (span >= 0)
            mx += span;
          else
            mn += span;
        }
      return std::pair<int64_t, int64_t>{std::max(mn, v.lo[a]), std::min(mx + 1, v.hi[a])};
    };
    auto [l1, h1] = range(*this);
    auto [l2, h2] = range(o);
    if (h1 <= l1 || h2 <= l2 || h1 <= l2 || h2 <= l1) return false;
  }
  return true;
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

} // namespace grove
