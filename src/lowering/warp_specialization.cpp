// Pass 5: warp specialization and software pipelining. Copies from global into shared memory go
// to a producer warp, which runs ahead of the consumers by the depth of each ring: a ring is the
// set of shared buffers one loop refills every iteration, guarded by a `full` barrier per slot
// (the producer's TMA bytes have landed) and an `empty` barrier per slot (every consumer
// warpgroup is done reading it, wgmmas included). Copies made once, before a loop, get a ring of
// one slot that is filled once.
#include "lowering/passes.h"

namespace grove::lower {
namespace {

bool is_tma_load(const BlockProgram& b, const Event& e) {
  return e.kind == Event::Copy &&
         b.tensors[static_cast<size_t>(e.src.tensor)].kind == Tensor::Global &&
         b.tensors[static_cast<size_t>(e.dst.tensor)].memory == Memory::Shared && e.wg_count == 0;
}

int64_t view_bytes(const BlockProgram& b, const View& v) {
  int64_t n = elem_bytes(b.tensors[static_cast<size_t>(v.tensor)].elem);
  for (int64_t e : v.const_extent()) n *= e;
  return n;
}

void plan_level(const BlockProgram& b, const Events& evs, int loop, int depth, RolePlan& plan) {
  Ring once;
  for (const Event& e : evs) {
    if (e.kind == Event::Loop) {
      plan_level(b, e.body, e.id, depth + 1, plan);
      continue;
    }
    if (!is_tma_load(b, e)) {
      plan.producer[e.id] = false;
      if (!once.copies.empty()) { // a group of up-front copies ends at the first consumer event
        plan.rings.push_back(once);
        once = Ring{};
      }
      continue;
    }
    if (depth > 1)
      throw GroveError(e.loc, "copies refilled in nested sequential loops cannot be pipelined yet",
                       "keep one sequential loop around the copies into shared memory");
    plan.producer[e.id] = true;
    if (loop < 0) {
      once.copies.push_back(e.id);
      once.bytes += view_bytes(b, e.src);
      continue;
    }
    Ring* ring = nullptr;
    for (Ring& r : plan.rings)
      if (r.loop == loop) ring = &r;
    if (!ring) {
      plan.rings.push_back(Ring{loop, b.tensors[static_cast<size_t>(e.dst.tensor)].slots, {}, 0});
      ring = &plan.rings.back();
    }
    ring->copies.push_back(e.id);
    ring->bytes += view_bytes(b, e.src);
    ring->slots = std::max(ring->slots, b.tensors[static_cast<size_t>(e.dst.tensor)].slots);
  }
  if (!once.copies.empty()) plan.rings.push_back(once);
}

} // namespace

RolePlan WarpSpecStrategy::plan(const BlockProgram& b) const {
  if (!b.warp_specialize)
    throw GroveError(b.block->loc,
                     "instance '" + b.block->name +
                         "' sets warp_specialize = false; the lowering needs a producer warp",
                     "set warp_specialize = true (lowering without it is not supported yet)");
  RolePlan p;
  plan_level(b, b.events, -1, 0, p);
  return p;
}

RolePlan plan_roles(const BlockProgram& b, const WarpSpecStrategy& s) {
  return s.plan(b);
}

} // namespace grove::lower
