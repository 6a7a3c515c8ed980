// Pass 4: shared-memory allocation. Buffers refilled every iteration of a loop get a ring of
// `pipeline` slots; staging tiles a loop's iterations store by TMA get two where they fit. Buffers
// are placed without aliasing when they fit the mapping's bound; otherwise buffers whose lifetimes
// do not overlap share space, and the later one's first writer is ordered after the earlier one's
// last readers (the write-after-read edge aliasing needs). A block that still does not fit is an
// error naming the tensors and their sizes.
#include <algorithm>
#include <map>
#include <set>

#include "lowering/passes.h"

namespace grove::lower {
namespace {

int64_t bytes_of(const Tensor& t) {
  int64_t n = elem_bytes(t.elem) * t.slots;
  for (const auto& d : t.shape) {
    int64_t v = 0;
    kir::is_const(d, &v);
    n *= v;
  }
  return n;
}

void set_slots(BlockProgram& b, Events& evs, const std::string& loop_var) {
  for (Event& e : evs) {
    if (e.kind == Event::Loop) {
      set_slots(b, e.body, e.var);
    } else if (e.kind == Event::Copy && !loop_var.empty()) {
      Tensor& dst = b.tensors[static_cast<size_t>(e.dst.tensor)];
      bool varies = false;
      for (const auto& o : e.src.origin) varies = varies || kir::mentions(o, loop_var);
      if (dst.memory == Memory::Shared && varies) dst.slots = std::max(dst.slots, b.pipeline_depth);
    }
  }
}

// Top-level index range of the events touching each tensor.
void live_ranges(const BlockProgram& b, std::map<int, std::pair<int, int>>& range) {
  for (size_t i = 0; i < b.events.size(); ++i) {
    Events one{b.events[i]};
    for_each_event(one, [&](Event& e) {
      std::vector<int> ts{e.src.tensor, e.dst.tensor};
      for (auto& [n, v] : e.args) ts.push_back(v.tensor);
      for (int t : ts) {
        if (t < 0) continue;
        auto it = range.find(t);
        int idx = static_cast<int>(i);
        if (it == range.end())
          range[t] = {idx, idx};
        else
          it->second = {std::min(it->second.first, idx), std::max(it->second.second, idx)};
      }
    });
  }
}

bool touches(const Event& e, int t) {
  if (e.src.tensor == t || e.dst.tensor == t) return true;
  for (const auto& [n, v] : e.args)
    if (v.tensor == t) return true;
  return false;
}

// The first event that uses the later-live buffer of each pair sharing bytes waits for every use
// of the earlier one.
void add_alias_edges(BlockProgram& b, const std::vector<std::pair<int, int>>& later_earlier) {
  for (const auto& [later, earlier] : later_earlier) {
    std::vector<int> uses;
    for_each_event(b.events, [&](Event& e) {
      if (e.kind != Event::Loop && touches(e, earlier)) uses.push_back(e.id);
    });
    bool first = true;
    for_each_event(b.events, [&](Event& e) {
      if (!first || e.kind == Event::Loop || !touches(e, later)) return;
      first = false;
      for (int u : uses)
        if (std::find(e.pre.begin(), e.pre.end(), u) == e.pre.end()) e.pre.push_back(u);
    });
  }
}

bool uses(const Event& e, int t) {
  if (e.kind != Event::Loop) return touches(e, t);
  for (const Event& x : e.body)
    if (uses(x, t)) return true;
  return false;
}

// A staging tile that every iteration of a top-level loop writes and then stores by TMA (a
// memory-bound kernel's output, a step at a time) gets a slot per parity of the iteration, so an
// iteration's writes wait only for the stores of the iteration before the last (kernel IR
// counts them), not for the last one's. Only where the iteration's stores are its own direct
// events (a fixed number per iteration), nothing outside the loop touches the tile, and the
// iteration count is the same in every tile of a persistent block (the parity follows the
// iterations the block ran before). Undone where the space does not fit.
void double_staging(BlockProgram& b) {
  if (b.alternate_tiles) return; // its consumer buffers already have a slot per warpgroup
  const bool persistent = b.block->persistent && b.block->persistent->value;
  for (Event& loop : b.events) {
    if (loop.kind != Event::Loop) continue;
    int64_t n = 0;
    if (kir::is_const(loop.extent, &n) && n <= 1) continue;
    bool per_tile = true;
    for (const std::string& g : b.grid_vars) per_tile = per_tile && !kir::mentions(loop.extent, g);
    if (persistent && !per_tile) continue;
    bool nested_store = false;
    for (Event& e : loop.body)
      if (e.kind == Event::Loop)
        for_each_event(e.body,
                       [&](Event& x) { nested_store = nested_store || is_tma_store(b, x); });
    if (nested_store) continue;
    for (const Event& e : loop.body) {
      if (!is_tma_store(b, e)) continue;
      Tensor& t = b.tensors[static_cast<size_t>(e.src.tensor)];
      bool outside = false;
      for (const Event& other : b.events)
        outside = outside || (&other != &loop && uses(other, e.src.tensor));
      // (TMA reads a slot from 128-byte aligned shared memory.)
      if (!outside && t.slots == 1 && bytes_of(t) % 128 == 0) {
        t.slots = 2;
        t.staging_loop = loop.id;
      }
    }
  }
}

} // namespace

void allocate_shared_memory(BlockProgram& b) {
  set_slots(b, b.events, "");
  if (b.alternate_tiles) {
    // Warpgroups on alternate tiles: a copy each of the buffers the consumers write (slot wg),
    // which is every shared buffer the producer does not load.
    std::set<int> loaded;
    for_each_event(b.events, [&](Event& e) {
      if (is_tma_load(b, e)) loaded.insert(e.dst.tensor);
    });
    for (size_t t = 0; t < b.tensors.size(); ++t)
      if (b.tensors[t].memory == Memory::Shared && !loaded.count(static_cast<int>(t)))
        b.tensors[t].slots = 2;
  }
  double_staging(b);
  std::vector<int> shared;
  for (size_t t = 0; t < b.tensors.size(); ++t)
    if (b.tensors[t].memory == Memory::Shared) shared.push_back(static_cast<int>(t));
  constexpr int64_t kAlign = 1024;    // swizzled TMA tiles want their 8-row atom (up to 1024 B)
  constexpr int64_t kBarriers = 1024; // room for the mbarriers, placed after the buffers
  const int64_t limit = b.smem_limit - kBarriers;
  auto round_up = [](int64_t v) { return (v + kAlign - 1) / kAlign * kAlign; };
  auto place_in_a_row = [&] {
    std::sort(shared.begin(), shared.end(), [&](int x, int y) {
      return bytes_of(b.tensors[static_cast<size_t>(x)]) >
             bytes_of(b.tensors[static_cast<size_t>(y)]);
    });
    int64_t total = 0;
    for (int t : shared) {
      b.tensors[static_cast<size_t>(t)].offset = total;
      total = round_up(total + bytes_of(b.tensors[static_cast<size_t>(t)]));
    }
    return total;
  };

  int64_t total = place_in_a_row();
  if (total <= limit) return;
  // A second staging slot is worth less than the space: back to one.
  bool undone = false;
  for (Tensor& t : b.tensors)
    if (t.staging_loop >= 0) {
      t.slots = 1;
      t.staging_loop = -1;
      undone = true;
    }
  if (undone) total = place_in_a_row();
  if (total <= limit) return;

  // Share space between tensors that are never live at the same time.
  std::map<int, std::pair<int, int>> range;
  live_ranges(b, range);
  // A buffer the producer loads (by TMA) never takes the space of an earlier one: the producer
  // could not wait for that one's readers, and runs ahead into the next tile, refilling the rings
  // while the consumers still read a tile's data loaded after them (a GEMM's C for the epilogue).
  std::set<int> loaded;
  for_each_event(b.events, [&](Event& e) {
    if (is_tma_load(b, e)) loaded.insert(e.dst.tensor);
  });
  std::vector<int> placed;
  total = 0;
  std::vector<std::pair<int, int>> later_earlier; // buffers sharing bytes, in the order they live
  for (int t : shared) {
    Tensor& ten = b.tensors[static_cast<size_t>(t)];
    int64_t size = bytes_of(ten);
    int64_t off = 0;
    for (bool moved = true; moved;) {
      moved = false;
      for (int p : placed) {
        const Tensor& o = b.tensors[static_cast<size_t>(p)];
        bool overlap_mem = off < o.offset + bytes_of(o) && o.offset < off + size;
        bool overlap_life = !(range[t].second < range[p].first || range[p].second < range[t].first);
        const int later = range[t].first > range[p].first ? t : p;
        if (overlap_mem && (overlap_life || loaded.count(later))) {
          off = round_up(o.offset + bytes_of(o));
          moved = true;
        }
      }
    }
    // Which of the two reuses the other's bytes follows their lives, not the placing order (a
    // larger buffer placed first may be the one written last: a staging tile over the rings).
    for (int p : placed) {
      const Tensor& o = b.tensors[static_cast<size_t>(p)];
      if (off < o.offset + bytes_of(o) && o.offset < off + size)
        later_earlier.push_back(range[t].first > range[p].first ? std::pair{t, p}
                                                                : std::pair{p, t});
    }
    ten.offset = off;
    placed.push_back(t);
    total = std::max(total, round_up(off + size));
  }
  if (total <= limit) {
    for (const auto& [later, earlier] : later_earlier)
      if (b.tensors[static_cast<size_t>(later)].alias_of < 0)
        b.tensors[static_cast<size_t>(later)].alias_of = earlier;
    add_alias_edges(b, later_earlier);
    return;
  }

  std::string parts;
  for (int t : shared) {
    const Tensor& ten = b.tensors[static_cast<size_t>(t)];
    parts += (parts.empty() ? "" : ", ") + ten.name + " " + elem_name(ten.elem) + "[";
    for (size_t i = 0; i < ten.shape.size(); ++i)
      parts += (i ? "x" : "") + kir::to_string(*ten.shape[i]);
    parts += "]" + (ten.slots > 1 ? " x " + std::to_string(ten.slots) + " slots" : "") + ": " +
             std::to_string(bytes_of(ten));
  }
  throw GroveError(
      b.block->loc,
      "instance '" + b.block->name + "' needs " + std::to_string(total + kBarriers) +
          " bytes of shared memory (" + parts + ", barriers: " + std::to_string(kBarriers) +
          "), over its bound of " + std::to_string(b.smem_limit),
      "use smaller tiles or a shallower pipeline, or raise smem_bytes (at most 232448)");
}

} // namespace grove::lower
