#include "taskir/partition.h"

#include <algorithm>
#include <stdexcept>

namespace grove {
namespace {

// Tiling needs a plain view: every dimension its own buffer axis with unit step.
bool is_plain(const View& v) {
  std::vector<int> seen;
  for (const ViewDim& d : v.dims) {
    if (d.step != 1 || std::count(seen.begin(), seen.end(), d.axis)) return false;
    seen.push_back(d.axis);
  }
  return true;
}

// The piece of `base` whose dimension d starts at `start` and spans `size` indices.
View cut(const View& base, int d, int64_t start, int64_t size) {
  View v = base;
  const ViewDim& vd = base.dims[static_cast<size_t>(d)];
  int a = vd.axis;
  v.origin[a] += start;
  v.dims[static_cast<size_t>(d)].extent = size;
  // Never reach past the base's own extent: a ragged piece must not touch its neighbour.
  int64_t base_end = base.origin[a] + vd.extent;
  v.lo[a] = std::max(base.lo[a], v.origin[a]);
  v.hi[a] = std::min({base.hi[a], v.origin[a] + size, base_end});
  return v;
}

} // namespace

Partition make_tile(const View& base, std::vector<int> cut_dims, std::vector<int64_t> sizes) {
  if (!is_plain(base))
    throw std::invalid_argument(
        "cannot tile an MMA fragment; tile the tensor before taking fragments");
  for (int64_t s : sizes) {
    if (s <= 0) throw std::invalid_argument("tile size " + std::to_string(s) + " must be positive");
    if (s > (int64_t(1) << 40)) // so piece offsets cannot overflow
      throw std::invalid_argument("tile size " + std::to_string(s) + " is larger than 2^40");
  }
  Partition p;
  p.kind = Partition::Tile;
  p.base = base;
  p.cut_dims = std::move(cut_dims);
  p.sizes = std::move(sizes);
  return p;
}

Partition make_mma_frag(const View& base, char role, int m, int n, int k, Level level) {
  if (!is_plain(base) || base.rank() != 2)
    throw std::invalid_argument("mma_frag needs a plain rank-2 tensor");
  int64_t rows = base.dims[0].extent, cols = base.dims[1].extent;
  std::string shape = "m" + std::to_string(m) + "n" + std::to_string(n) + "k" + std::to_string(k);
  std::string what = "mma_frag(" + std::string(1, role) + ", " + shape + ") of a " +
                     shape_str(base.shape()) + " tensor: ";
  if (role == 'C' && cols != n)
    throw std::invalid_argument(what + "the C operand of " + shape + " has " + std::to_string(n) +
                                " columns");
  if (role == 'A' && cols % k != 0)
    throw std::invalid_argument(
        what + "the A operand's columns must be a multiple of K = " + std::to_string(k));
  if (role == 'B' && (rows % k != 0 || cols != n))
    throw std::invalid_argument(what + "the B operand is K x " + std::to_string(n) +
                                " with K a multiple of " + std::to_string(k));
  int64_t unit = level == Level::Warp ? 16 : 64;
  if (role != 'B' && rows % unit != 0)
    throw std::invalid_argument(what + std::to_string(rows) + " rows do not divide into " +
                                std::to_string(unit) + "-row pieces for " + level_name(level));
  if (level == Level::Thread && cols % 8 != 0)
    throw std::invalid_argument(
        what + std::to_string(cols) +
        " columns do not divide into the 8-column blocks of a thread fragment");
  Partition p;
  p.kind = Partition::MmaFrag;
  p.base = base;
  p.role = role;
  p.m = m;
  p.n = n;
  p.k = k;
  p.level = level;
  return p;
}

std::vector<int64_t> Partition::colors() const {
  if (kind == Tile) {
    std::vector<int64_t> c;
    for (size_t i = 0; i < cut_dims.size(); ++i) {
      int64_t ext = base.dims[static_cast<size_t>(cut_dims[i])].extent;
      c.push_back(ext / sizes[i] + (ext % sizes[i] != 0 ? 1 : 0));
    }
    return c;
  }
  if (role == 'B') return {1};
  int64_t rows = base.dims[0].extent;
  switch (level) {
  case Level::Warp:
    return {rows / 16};
  case Level::Thread:
    return {rows / 64 * 128};
  default:
    return {rows / 64};
  }
}

View Partition::piece(const std::vector<int64_t>& idx) const {
  std::vector<int64_t> c = colors();
  for (size_t i = 0; i < idx.size(); ++i)
    if (idx[i] < 0 || idx[i] >= c[i])
      throw std::invalid_argument("piece index " + std::to_string(idx[i]) +
                                  " is outside the partition's " + std::to_string(c[i]) +
                                  " piece(s) along dimension " + std::to_string(i));
  if (kind == Tile) {
    View v = base;
    for (size_t i = 0; i < cut_dims.size(); ++i)
      v = cut(v, cut_dims[i], idx[i] * sizes[i], sizes[i]);
    return v;
  }
  if (role == 'B') return base;
  if (level != Level::Thread) {
    int64_t unit = level == Level::Warp ? 16 : 64;
    return cut(base, 0, idx[0] * unit, unit);
  }
  // The documented WGMMA register layout (PTX ISA, "Register fragments" for wgmma .m64nNk16):
  // thread t of a warpgroup holds rows 16*(t/32) + (t%32)/4 and that + 8, and in each 8-column
  // block the columns 2*(t%4) and that + 1. Dimensions are ordered as the registers are:
  // [N/8 blocks, 2 row halves, 2 adjacent columns].
  int64_t t = idx[0];
  int64_t wg = t / 128, lane = t % 32, warp = (t % 128) / 32;
  View v = cut(base, 0, wg * 64, 64);
  int ar = v.dims[0].axis, ac = v.dims[1].axis;
  int64_t cols = v.dims[1].extent;
  v.origin[ar] += 16 * warp + lane / 4;
  v.origin[ac] += 2 * (lane % 4);
  v.dims = {{ac, 8, cols / 8}, {ar, 8, 2}, {ac, 1, 2}};
  return v;
}

} // namespace grove
