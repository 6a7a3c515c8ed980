// Pass 3: copy elimination. The instantiation copies a tensor at every mapping boundary; most of
// those copies repeat work. Two rules remove them while keeping every dependence that matters:
//  - a copy in a loop whose source does not change across iterations and whose tensors nothing
//    else in the loop writes is hoisted before the loop (copy in) or sunk after it (copy out);
//  - so is a pair of such copies, X -> R first and R -> X last, where nothing else in the loop
//    touches X: R holds X for the whole loop (a running sum stays in registers);
//  - at one level, a copy into X of the view just copied out of X, with nothing touching either
//    in between, is dropped, and so is a copy out that a later copy out of the same view replaces
//    before anything reads it.
// Then a copy in from global memory at the block's top level moves down to just before the first
// event that touches its destination (nothing in between writing its source): data loaded once
// per tile for the epilogue (a GEMM's C in D = A·B + C) is then loaded after the main loop's
// operands, so a persistent block's producer starts on the next tile's main loop at once instead
// of waiting for the epilogue to release the buffer.
#include <set>

#include "lowering/passes.h"

namespace grove::lower {
namespace {

bool view_mentions(const View& v, const std::string& var) {
  for (const auto& o : v.origin)
    if (kir::mentions(o, var)) return true;
  return false;
}

bool same_view(const BlockProgram& b, const View& x, const View& y) {
  return view_str(b, x) == view_str(b, y);
}

// Tensors an event writes, and reads.
void touches(const Event& e, std::set<int>& reads, std::set<int>& writes) {
  if (e.kind == Event::Copy) {
    reads.insert(e.src.tensor);
    writes.insert(e.dst.tensor);
  } else if (e.kind == Event::Leaf) {
    for (const auto& [n, v] : e.args) {
      Privilege p = Privilege::ReadWrite;
      for (const auto& [pn, pr] : e.privs)
        if (pn == n) p = pr;
      if (can_read(p)) reads.insert(v.tensor);
      if (can_write(p)) writes.insert(v.tensor);
    }
  } else {
    for (const Event& x : e.body) touches(x, reads, writes);
  }
}

bool invariant_copy(const Event& e, const std::string& var) {
  return e.kind == Event::Copy && !view_mentions(e.src, var) && !view_mentions(e.dst, var);
}

// In `body`, a copy in X -> R at `in` and the copy back R -> X of the same views at a later `out`,
// both loop-invariant, with nothing else touching X, nothing before `in` touching R and nothing
// after `out` touching it: returns `out`, or 0.
size_t promoted_pair(const BlockProgram& b, const Events& body, size_t in, const std::string& var) {
  const Event& e = body[in];
  if (!invariant_copy(e, var) ||
      b.tensors[static_cast<size_t>(e.src.tensor)].kind != Tensor::Global)
    return 0;
  const int X = e.src.tensor, R = e.dst.tensor;
  size_t out = 0;
  for (size_t k = in + 1; k < body.size(); ++k) {
    const Event& p = body[k];
    if (invariant_copy(p, var) && p.src.tensor == R && p.dst.tensor == X &&
        same_view(b, p.src, e.dst) && same_view(b, p.dst, e.src))
      out = k;
  }
  if (!out) return 0;
  for (size_t k = 0; k < body.size(); ++k) {
    if (k == in || k == out) continue;
    std::set<int> reads, writes;
    touches(body[k], reads, writes);
    if (reads.count(X) || writes.count(X)) return 0;
    if ((k < in || k > out) && (reads.count(R) || writes.count(R))) return 0;
  }
  return out;
}

// Hoists loop-invariant copies out of loops, innermost first.
void hoist(BlockProgram& b, Events& evs) {
  for (size_t i = 0; i < evs.size(); ++i) {
    if (evs[i].kind != Event::Loop) continue;
    hoist(b, evs[i].body);
    Event& loop = evs[i];
    Events before, after, kept;
    std::set<size_t> hoisted, sunk; // the copies in and out of promoted pairs
    for (size_t j = 0; j < loop.body.size(); ++j)
      if (size_t out = promoted_pair(b, loop.body, j, loop.var)) {
        hoisted.insert(j);
        sunk.insert(out);
      }
    for (size_t j = 0; j < loop.body.size(); ++j) {
      Event& e = loop.body[j];
      if (hoisted.count(j) || sunk.count(j)) {
        (hoisted.count(j) ? before : after).push_back(std::move(e));
        continue;
      }
      bool invariant = e.kind == Event::Copy && !view_mentions(e.src, loop.var) &&
                       !view_mentions(e.dst, loop.var);
      if (invariant) {
        // Nothing else in the loop may write the copy's source or touch its destination.
        std::set<int> reads, writes;
        for (size_t k = 0; k < loop.body.size(); ++k)
          if (k != j) touches(loop.body[k], reads, writes);
        bool copy_in = b.tensors[static_cast<size_t>(e.src.tensor)].kind == Tensor::Global;
        if (copy_in)
          invariant = !writes.count(e.src.tensor) && !writes.count(e.dst.tensor);
        else
          invariant = !reads.count(e.dst.tensor) && !writes.count(e.dst.tensor);
        // A copy out of a buffer the loop keeps updating is sunk; the loop's reads of it stay.
        if (invariant) {
          (copy_in ? before : after).push_back(std::move(e));
          continue;
        }
      }
      kept.push_back(std::move(e));
    }
    loop.body = std::move(kept);
    if (before.empty() && after.empty()) continue;
    size_t nb = before.size();
    evs.insert(evs.begin() + static_cast<long>(i) + 1, std::make_move_iterator(after.begin()),
               std::make_move_iterator(after.end()));
    evs.insert(evs.begin() + static_cast<long>(i), std::make_move_iterator(before.begin()),
               std::make_move_iterator(before.end()));
    i += nb;
  }
}

// Drops copies that cancel at one level of nesting.
void cancel(BlockProgram& b, Events& evs) {
  for (Event& e : evs)
    if (e.kind == Event::Loop) cancel(b, e.body);
  for (size_t i = 0; i < evs.size(); ++i) {
    if (evs[i].kind != Event::Copy) continue;
    const int X = evs[i].src.tensor, G = evs[i].dst.tensor; // a copy X -> G ...
    bool x_changed = false;
    bool dead = false;
    for (size_t j = i + 1; j < evs.size(); ++j) {
      Event& e = evs[j];
      const Event& out = evs[i];
      if (!x_changed && e.kind == Event::Copy && e.src.tensor == G && e.dst.tensor == X &&
          same_view(b, e.src, out.dst) && same_view(b, e.dst, out.src)) {
        evs.erase(evs.begin() + static_cast<long>(j)); // ... then G -> X: X still holds it
        --j;
        continue;
      }
      if (e.kind == Event::Copy && e.dst.tensor == G && same_view(b, e.dst, out.dst)) {
        dead = true; // ... overwritten by a later copy before anything reads G
        break;
      }
      std::set<int> reads, writes;
      touches(e, reads, writes);
      if (reads.count(G) || writes.count(G)) break;
      if (writes.count(X)) x_changed = true;
    }
    if (dead) {
      evs.erase(evs.begin() + static_cast<long>(i));
      --i;
    }
  }
}

// Moves each copy in from global memory down to just before the first event that touches its
// destination, past events that do not write its source, where that takes it past a loop.
void sink_copies_in(BlockProgram& b, Events& evs) {
  for (size_t i = evs.size(); i-- > 0;) {
    const Event& e = evs[i];
    if (e.kind != Event::Copy ||
        b.tensors[static_cast<size_t>(e.src.tensor)].kind != Tensor::Global)
      continue;
    size_t to = i;
    bool past_loop = false;
    for (size_t j = i + 1; j < evs.size(); ++j) {
      std::set<int> reads, writes;
      touches(evs[j], reads, writes);
      if (reads.count(e.dst.tensor) || writes.count(e.dst.tensor) || writes.count(e.src.tensor))
        break;
      to = j;
      past_loop = past_loop || evs[j].kind == Event::Loop;
    }
    if (!past_loop) continue; // (nothing gained; the order of the copies stays as written)
    Event moved = std::move(evs[i]);
    evs.erase(evs.begin() + static_cast<long>(i));
    evs.insert(evs.begin() + static_cast<long>(to), std::move(moved));
  }
}

} // namespace

void eliminate_copies(BlockProgram& b) {
  hoist(b, b.events);
  cancel(b, b.events);
  sink_copies_in(b, b.events);
}

} // namespace grove::lower
