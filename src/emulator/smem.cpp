#include "emulator/smem.h"

#include <limits>
#include <stdexcept>

#include "taskir/view.h"

namespace grove::emu {
namespace {

// Logical element index -> physical element index of a slot swizzled over `w` bytes (128, 64 or
// 32; kir.h's layout), or an explanation.
std::vector<int64_t> swizzled(const kir::SmemBuffer& b, int64_t w, std::string& why) {
  int64_t eb = elem_bytes(b.elem), cols = b.shape.empty() ? 1 : b.shape.back();
  int64_t total = 1;
  for (int64_t d : b.shape) total *= d;
  int64_t rows = cols ? total / cols : 0, row_bytes = cols * eb;
  if ((total * eb) % (8 * w) != 0) {
    why = "a " + std::to_string(w) + "-byte swizzled slot must be a multiple of " +
          std::to_string(8 * w) + " bytes";
    return {};
  }
  if (row_bytes % w != 0) {
    why = "rows of " + std::to_string(row_bytes) + " bytes do not split into " + std::to_string(w) +
          "-byte panels";
    return {};
  }
  std::vector<int64_t> p(static_cast<size_t>(total));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      int64_t byte = c * eb;
      int64_t off = (byte / w) * rows * w + r * w + byte % w;
      off ^= ((off >> 7) & (w / 16 - 1)) << 4;
      p[static_cast<size_t>(r * cols + c)] = off / eb;
    }
  return p;
}

} // namespace

SmemModel::SmemModel(const kir::Kernel& k) : k_(k) {
  for (const kir::SmemBuffer& b : k.smem) {
    int64_t total = 1;
    for (int64_t d : b.shape) total *= d;
    std::vector<int64_t> id(static_cast<size_t>(total));
    for (int64_t i = 0; i < total; ++i) id[static_cast<size_t>(i)] = i;
    row_major_.push_back(std::move(id));
    for (kir::Swizzle sw : {kir::Swizzle::B32, kir::Swizzle::B64, kir::Swizzle::B128}) {
      std::string why;
      swizzled_[static_cast<size_t>(sw)].push_back(swizzled(b, kir::swizzle_bytes(sw), why));
      swizzle_error_[static_cast<size_t>(sw)].push_back(why);
    }
  }
  reset();
}

void SmemModel::reset() {
  data_.assign(k_.smem.size(), {});
  log_.assign(k_.smem.size(), {});
  for (size_t i = 0; i < k_.smem.size(); ++i) {
    size_t n = row_major_[i].size();
    data_[i].assign(static_cast<size_t>(k_.smem[i].slots),
                    std::vector<double>(n, std::numeric_limits<double>::quiet_NaN()));
    log_[i].assign(static_cast<size_t>(k_.smem[i].slots), {});
  }
}

const std::vector<int64_t>& SmemModel::layout(int buf, kir::Swizzle sw) const {
  size_t i = static_cast<size_t>(buf);
  if (sw == kir::Swizzle::None) return row_major_[i];
  const size_t w = static_cast<size_t>(sw);
  if (!swizzle_error_[w][i].empty())
    throw std::runtime_error("smem " + k_.smem[i].name + " cannot be " +
                             std::to_string(kir::swizzle_bytes(sw)) +
                             "B swizzled: " + swizzle_error_[w][i]);
  return swizzled_[w][i];
}

void SmemModel::check(const Box& b) const {
  if (b.index < 0 || static_cast<size_t>(b.index) >= k_.smem.size())
    throw std::runtime_error("no shared-memory buffer " + std::to_string(b.index));
  const kir::SmemBuffer& sb = buffer(b.index);
  if (b.slot < 0 || b.slot >= sb.slots)
    throw std::runtime_error("slot " + std::to_string(b.slot) + " of smem " + sb.name +
                             " is out of range (" + std::to_string(sb.slots) + " slots)");
  if (!inside(b, sb.shape))
    throw std::runtime_error("box " + box_str(b) + " is outside smem " + sb.name + " " +
                             shape_str(sb.shape));
}

std::vector<double> SmemModel::read(const Box& b, kir::Swizzle sw) const {
  check(b);
  const std::vector<int64_t>& l = layout(b.index, sw);
  const std::vector<double>& d = data_[static_cast<size_t>(b.index)][static_cast<size_t>(b.slot)];
  std::vector<int64_t> idx = box_indices(b, buffer(b.index).shape);
  std::vector<double> out(idx.size());
  for (size_t i = 0; i < idx.size(); ++i)
    out[i] = d[static_cast<size_t>(l[static_cast<size_t>(idx[i])])];
  return out;
}

void SmemModel::write(const Box& b, kir::Swizzle sw, const std::vector<double>& v) {
  check(b);
  const std::vector<int64_t>& l = layout(b.index, sw);
  std::vector<double>& d = data_[static_cast<size_t>(b.index)][static_cast<size_t>(b.slot)];
  std::vector<int64_t> idx = box_indices(b, buffer(b.index).shape);
  ElemType t = buffer(b.index).elem;
  for (size_t i = 0; i < idx.size(); ++i)
    d[static_cast<size_t>(l[static_cast<size_t>(idx[i])])] = round_to(t, v[i]);
}

void SmemModel::poison(const Box& b, kir::Swizzle sw) {
  write(b, sw,
        std::vector<double>(static_cast<size_t>(b.count()),
                            std::numeric_limits<double>::quiet_NaN()));
}

std::vector<std::string> SmemModel::access(const Box& b, bool write, Epoch e, const VClock& vc,
                                           const std::string& who) {
  check(b);
  std::vector<Access>& log = log_[static_cast<size_t>(b.index)][static_cast<size_t>(b.slot)];
  std::vector<std::string> conflicts;
  for (const Access& a : log)
    if ((write || a.write) && overlaps(a.box, b) && a.epoch.tid != e.tid &&
        !happens_before(a.epoch, vc))
      conflicts.push_back(std::string(a.write ? "a write" : "a read") + " of smem " +
                          buffer(b.index).name + "[" + std::to_string(b.slot) + "] " +
                          box_str(a.box) + " by " + a.who + " is not ordered before it");
  // Buffers the allocation placed over the same bytes (space reused between lifetimes): an
  // access conflicts with unordered accesses to any overlapping slot of another buffer, judged at
  // slot granularity since the two buffers' element layouts differ.
  const kir::SmemBuffer& me = buffer(b.index);
  int64_t lo = me.offset + b.slot * me.slot_bytes(), hi = lo + me.slot_bytes();
  for (size_t o = 0; o < k_.smem.size(); ++o) {
    if (static_cast<int>(o) == b.index) continue;
    const kir::SmemBuffer& other = k_.smem[o];
    for (int s = 0; s < other.slots; ++s) {
      int64_t olo = other.offset + s * other.slot_bytes(), ohi = olo + other.slot_bytes();
      if (ohi <= lo || hi <= olo) continue;
      for (const Access& a : log_[o][static_cast<size_t>(s)])
        if ((write || a.write) && a.epoch.tid != e.tid && !happens_before(a.epoch, vc))
          conflicts.push_back(std::string(a.write ? "a write" : "a read") + " of smem " +
                              other.name + "[" + std::to_string(s) + "] (the same bytes as " +
                              me.name + "[" + std::to_string(b.slot) + "]) by " + a.who +
                              " is not ordered before it");
    }
  }
  // An access subsumes the earlier ones of its box that it is ordered after (a write: every one
  // in the box; a read: the same thread's reads of the same box).
  std::erase_if(log, [&](const Access& a) {
    if (!contains(b, a.box)) return false;
    return write ? true : (!a.write && a.epoch.tid == e.tid);
  });
  log.push_back({b, write, e, who});
  return conflicts;
}

} // namespace grove::emu
