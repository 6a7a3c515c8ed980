// Pass 5: warp specialization and software pipelining. Copies from global into shared memory go
// to a producer warp, which runs ahead of the consumers by the depth of each ring: a ring is the
// set of shared buffers one loop refills every iteration, guarded by a `full` barrier per slot
// (the producer's TMA bytes have landed) and an `empty` barrier per slot (every consumer
// warpgroup is done reading it, wgmmas included). Copies made once, before a loop, get a ring of
// one slot that is filled once. A loop's copies share a ring when the same wgmma group (or the
// same other statement) reads them first; attention's K and V, read by its two GEMMs, get a ring
// each, so that K can be released as soon as the first GEMM is done with it.
#include "lowering/passes.h"

namespace grove::lower {

bool is_tma_load(const BlockProgram& b, const Event& e) {
  return e.kind == Event::Copy &&
         b.tensors[static_cast<size_t>(e.src.tensor)].kind == Tensor::Global &&
         b.tensors[static_cast<size_t>(e.dst.tensor)].memory == Memory::Shared && e.wg_count == 0;
}

bool is_tma_store(const BlockProgram& b, const Event& e) {
  if (e.kind != Event::Copy || e.src.tensor < 0 || e.dst.tensor < 0) return false;
  const Tensor& src = b.tensors[static_cast<size_t>(e.src.tensor)];
  return src.kind == Tensor::Buffer && src.memory == Memory::Shared &&
         b.tensors[static_cast<size_t>(e.dst.tensor)].kind == Tensor::Global;
}

namespace {

int64_t view_bytes(const BlockProgram& b, const View& v) {
  int64_t n = elem_bytes(b.tensors[static_cast<size_t>(v.tensor)].elem);
  for (int64_t e : v.const_extent()) n *= e;
  return n;
}

// Which part of the loop body first reads tensor `t`: the event, and within a leaf the wgmma
// group (consecutive mma statements) or other statement. Copies read first by the same part
// are consumed together and share a ring.
std::pair<int, int> first_reader(const Events& evs, int t) {
  for (const Event& e : evs) {
    if (e.kind == Event::Copy && e.src.tensor == t) return {e.id, -1};
    if (e.kind != Event::Leaf) continue;
    std::set<std::string> names;
    for (const auto& [n, v] : e.args)
      if (v.tensor == t) names.insert(n);
    if (names.empty()) continue;
    auto reads = [&](const Expr& x) {
      for (const std::string& n : names)
        if (mentions_name(x, n)) return true;
      return false;
    };
    int part = 0;
    bool in_group = false;
    for (const StmtPtr& s : e.variant->body) {
      bool mma = s->kind == Stmt::Mma;
      if (!(mma && in_group)) ++part; // an mma right after an mma joins its group
      in_group = mma;
      bool r = false;
      for (const ExprPtr& a : s->args) r = r || reads(*a);
      if (s->value) r = r || reads(*s->value);
      if (r) return {e.id, part};
    }
    return {e.id, 0};
  }
  return {-1, -1};
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
    std::pair<int, int> reader = first_reader(evs, e.dst.tensor);
    for (Ring& r : plan.rings)
      if (r.loop == loop && r.reader == reader) ring = &r;
    if (!ring) {
      plan.rings.push_back(Ring{loop, b.tensors[static_cast<size_t>(e.dst.tensor)].slots, {}, 0});
      ring = &plan.rings.back();
      ring->reader = reader;
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
