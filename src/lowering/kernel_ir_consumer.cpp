// Pass 6, lowering to kernel IR (kernel_ir.cpp): the consumers' waits, releases, compute, wgmma
// groups and stores.
#include <algorithm>
#include <functional>

#include "lowering/kernel_ir_emitter.h"

namespace grove::lower {

using namespace kir;

bool KernelIrEmitter::reads_tensor(const Event& e, int t) const {
  if (e.kind == Event::Copy) return e.src.tensor == t;
  if (e.kind == Event::Leaf)
    for (const auto& [n, v] : e.args)
      if (v.tensor == t) return true;
  if (e.kind == Event::Loop)
    for (const Event& x : e.body)
      if (reads_tensor(x, t)) return true;
  return false;
}

// The shared-memory buffers some wgmma reads: the A and B operands of every leaf's mma.
void KernelIrEmitter::note_wgmma_operands(const Events& evs) {
  for (const Event& e : evs) {
    note_wgmma_operands(e.body);
    if (e.kind != Event::Leaf) continue;
    for (const StmtPtr& st : e.variant->body) {
      if (st->kind != Stmt::Mma) continue;
      for (size_t a = 1; a < st->args.size(); ++a) {
        const Expr& x = *st->args[a];
        const std::string& name = x.kind == Expr::Call ? x.args[0]->name : x.name;
        for (const auto& [n, v] : e.args)
          if (n == name && smem_index_.count(v.tensor)) wgmma_smem_.insert(smem_index_[v.tensor]);
      }
    }
  }
}

// Whether leaf `e` reads shared memory that a consumer event of `evs` (its loop body) writes:
// a wgmma group left in flight would still read it while the next iteration rewrites it. (Ring
// slots are filled by the producer and released only once the group retires.)
bool KernelIrEmitter::reads_what_consumers_rewrite(const Event& e, const Events& evs) const {
  std::function<bool(const Event&, int)> writes = [&](const Event& x, int t) {
    if (plan_.producer.count(x.id) && plan_.producer.at(x.id)) return false;
    if (x.kind == Event::Copy) return x.dst.tensor == t;
    if (x.kind == Event::Leaf) {
      for (const auto& [n, p] : x.privs)
        if (can_write(p))
          for (const auto& [an, v] : x.args)
            if (an == n && v.tensor == t) return true;
      return false;
    }
    for (const Event& y : x.body)
      if (writes(y, t)) return true;
    return false;
  };
  for (const auto& [n, v] : e.args) {
    if (b_.tensors[static_cast<size_t>(v.tensor)].memory != Memory::Shared) continue;
    for (const Event& x : evs)
      if (writes(x, v.tensor)) return true;
  }
  return false;
}

// Returns whether the loop body leaves a wgmma group in flight at its end (see only_mma).
bool KernelIrEmitter::consumer(const Events& evs, Body& out, int loop_id, const std::string& it) {
  bool in_flight = false;
  // Rings this level's loop fills: wait before the first reader, release after the last.
  // (At the top level of a persistent kernel: the rings filled once per tile, released after
  // their last reader; their waits are placed by wait_up_front.)
  std::vector<int> rings_here;
  for (size_t r = 0; r < plan_.rings.size(); ++r)
    if (plan_.rings[r].loop == loop_id && (loop_id >= 0 || persistent_))
      rings_here.push_back(static_cast<int>(r));
  std::map<int, size_t> first_use, last_use;
  for (int r : rings_here)
    for (size_t i = 0; i < evs.size(); ++i) {
      bool uses = false;
      for (const auto& [t, rr] : ring_of_tensor_)
        if (rr == r && reads_tensor(evs[i], t)) uses = true;
      if (plan_.producer.count(evs[i].id) && plan_.producer.at(evs[i].id)) uses = false;
      if (!uses) continue;
      if (!first_use.count(r)) first_use[r] = i;
      last_use[r] = i;
    }
  for (size_t i = 0; i < evs.size(); ++i) {
    const Event& e = evs[i];
    for (int r : rings_here)
      if (loop_id >= 0 && first_use.count(r) && first_use[r] == i) {
        out.push_back(ring_wait(full_.at(r), r, it, 0, e, "consumers wait until the slot is full"));
      }
    if (e.kind == Event::Loop) {
      // Data loaded once is awaited before the loop, not in every iteration.
      wait_up_front(e, out);
      Op loop = op(Op::Loop, &e);
      loop.var = e.var;
      loop.extent = e.extent;
      const StagingIteration outer = staging_;
      if (std::any_of(b_.tensors.begin(), b_.tensors.end(),
                      [&](const Tensor& t) { return t.staging_loop == e.id; })) {
        staging_ = {e.id, 0, 0, {}};
        staging_.stores_per_iteration = static_cast<int>(std::count_if(
            e.body.begin(), e.body.end(), [&](const Event& x) { return is_tma_store(b_, x); }));
      }
      bool loop_in_flight = consumer(e.body, loop.body, e.id, e.var);
      staging_ = outer;
      out.push_back(std::move(loop));
      if (loop_in_flight) {
        // Retire the group the last iteration left in flight before its registers are read.
        Op wait = op(Op::WgmmaWait, &e);
        wait.count = 0;
        wait.note = "retire the wgmmas of the last iteration";
        out.push_back(wait);
        // Its slot needs a release only where the next tile refills the ring.
        for (size_t r = 0; r < plan_.rings.size() && persistent_; ++r) {
          if (plan_.rings[r].loop != e.id) continue;
          int slots = plan_.rings[r].slots;
          Op rel = release(static_cast<int>(r), e,
                           bin(IExpr::Mod,
                               sub(add(iterations_before(e.var, e.extent), e.extent), cst(1)),
                               cst(slots)),
                           "consumers release the last iteration's slot");
          int64_t at_least_one = 0;
          if (!is_const(e.extent, &at_least_one) || at_least_one < 1)
            rel.guard = bin(IExpr::Min, e.extent, cst(1));
          out.push_back(rel);
        }
      }
    } else if (!(plan_.producer.count(e.id) && plan_.producer.at(e.id))) {
      wait_up_front(e, out);
      sync_aliases(e, out);
      // Keep the group in flight only where this leaf is the last reader of every ring here.
      bool last_reader = loop_id >= 0 && !rings_here.empty();
      for (int r : rings_here) last_reader = last_reader && last_use.count(r) && last_use[r] == i;
      bool overlap = last_reader && i + 1 == evs.size() && only_mma(e) &&
                     !reads_what_consumers_rewrite(e, evs);
      // A group left in flight holds its slot into the next iteration, which waits for the next
      // fill: with one slot that is the same slot, never released (a deadlock).
      for (int r : rings_here) overlap = overlap && plan_.rings[static_cast<size_t>(r)].slots > 1;
      if (e.kind == Event::Leaf)
        leaf(e, out, it, overlap ? 1 : 0);
      else
        copy(e, out, it);
      if (overlap) {
        for (int r : rings_here) {
          // The previous iteration's group has now retired: release its slot.
          int slots = plan_.rings[static_cast<size_t>(r)].slots;
          Op rel = release(r, e, bin(IExpr::Mod, add(count_of(it), cst(slots - 1)), cst(slots)),
                           "consumers release the previous iteration's slot");
          rel.guard = bin(IExpr::Min, var(it), cst(1));
          out.push_back(rel);
        }
        in_flight = true;
        continue;
      }
    }
    for (int r : rings_here)
      if (last_use.count(r) && last_use[r] == i) {
        out.push_back(release(r, e, slot_of(r, it), "consumers release the slot"));
      }
  }
  return in_flight;
}

// Waits for an up-front (filled once) ring before its first reader.
void KernelIrEmitter::wait_up_front(const Event& e, Body& out) {
  for (const auto& [t, r] : ring_of_tensor_) {
    if (plan_.rings[static_cast<size_t>(r)].loop >= 0 || ready_waited_.count(r) ||
        !reads_tensor(e, t))
      continue;
    ready_waited_.insert(r);
    Op wait = op(Op::MbarWait, &e);
    wait.barrier = full_.at(r);
    wait.slot = cst(0);
    wait.phase = parity_of(r, "", 0);
    wait.note = "consumers wait for the data loaded once";
    out.push_back(wait);
  }
}

// Before the first write to shared memory that reuses another buffer's space, every consumer
// warpgroup must be done with the old contents (the write-after-read edge of aliasing).
void KernelIrEmitter::sync_aliases(const Event& e, Body& out) {
  std::vector<int> ts;
  if (e.kind == Event::Copy) ts.push_back(e.dst.tensor);
  if (e.kind == Event::Leaf)
    for (const auto& [n, v] : e.args) ts.push_back(v.tensor);
  for (int t : ts) {
    const Tensor& ten = b_.tensors[static_cast<size_t>(t)];
    if (ten.memory != Memory::Shared || ten.alias_of < 0 || aliased_synced_.count(t)) continue;
    aliased_synced_.insert(t);
    Op bar = op(Op::NamedBarrier, &e);
    bar.id = 1;
    bar.count = 128 * b_.consumer_warpgroups;
    bar.note = "all consumers are done with the buffer " + ten.name + " reuses";
    out.push_back(bar);
  }
}

// A leaf made only of mma statements, the last reader of its loop's ring: its wgmma group can
// stay in flight while the next iteration waits for data and issues, as fast Hopper GEMMs do.
// Its slot is then released one iteration later, and after the loop the group is retired.
// (The last iteration's slot is never released: nothing refills the ring after the loop.)
bool KernelIrEmitter::only_mma(const Event& e) {
  if (e.kind != Event::Leaf) return false;
  bool any = false;
  for (const StmtPtr& s : e.variant->body) {
    if (s->kind == Stmt::Mma)
      any = true;
    else if (s->kind != Stmt::Local && s->kind != Stmt::Tunable)
      return false;
  }
  return any;
}

void KernelIrEmitter::leaf(const Event& e, Body& out, const std::string& it, int in_flight) {
  std::map<std::string, Ref> tensors;
  for (const auto& [n, v] : e.args) tensors[n] = ref(v, it);
  std::map<std::string, Scalar> scalars(e.scalars.begin(), e.scalars.end());
  // Leaf locals live in registers of the warpgroup (those given SHARED memory came as arguments).
  for (const StmtPtr& s : e.variant->body) {
    if (s->kind != Stmt::Local || tensors.count(s->names[0])) continue;
    std::vector<int64_t> shape;
    for (const ExprPtr& d : s->type.dims) shape.push_back(eval_dim(*d, scalars, s->loc));
    Ref r;
    r.kind = Ref::Reg;
    r.index = static_cast<int>(k_.regs.size());
    r.shape = shape;
    r.origin.assign(shape.size(), cst(0));
    k_.regs.push_back({e.instance->name + "." + s->names[0], s->type.elem, shape});
    tensors[s->names[0]] = r;
  }
  Op compute = op(Op::Compute, &e);
  auto flush = [&]() {
    if (compute.stmts.empty()) return;
    compute.tensors = tensors;
    compute.scalars = scalars;
    before_smem_writes(compute, out);
    std::set<int> written;
    for (const Stmt* st : compute.stmts)
      if (auto w = tensors.find(st->target); w != tensors.end() && w->second.kind == Ref::Smem)
        written.insert(w->second.index);
    out.push_back(std::move(compute));
    fence_for_async_proxy(written, &e, out);
    compute = op(Op::Compute, &e);
  };
  for (const StmtPtr& s : e.variant->body) {
    if (s->kind == Stmt::Assign) {
      compute.stmts.push_back(s.get());
    } else if (s->kind == Stmt::Mma) {
      flush();
      auto operand = [&](const Expr& x, bool& tr) {
        tr = x.kind == Expr::Call;
        return tensors.at(tr ? x.args[0]->name : x.name);
      };
      // Consecutive mma statements form one group: one fence, one commit, one wait.
      bool opens = &s == &e.variant->body.front() || (&s - 1)->get()->kind != Stmt::Mma;
      bool closes = &s == &e.variant->body.back() || (&s + 1)->get()->kind != Stmt::Mma;
      if (opens) out.push_back(op(Op::WgmmaFence, &e));
      bool tc = false;
      Op mma = op(Op::Wgmma, &e);
      mma.loc = s->loc;
      mma.dst = operand(*s->args[0], tc);
      mma.src = operand(*s->args[1], mma.trans_a);
      mma.src2 = operand(*s->args[2], mma.trans_b);
      out.push_back(mma);
      if (closes) {
        out.push_back(op(Op::WgmmaCommit, &e));
        Op wait = op(Op::WgmmaWait, &e);
        bool last = &s == &e.variant->body.back();
        wait.count = last ? in_flight : 0;
        if (wait.count) wait.note = "keep this group in flight into the next iteration";
        out.push_back(wait);
      }
    } else if (s->kind == Stmt::Let) {
      throw GroveError(s->loc, "let in a leaf cannot be lowered yet", "write the value inline");
    }
  }
  flush();
}

int64_t KernelIrEmitter::eval_dim(const Expr& d, const std::map<std::string, Scalar>& scalars,
                                  SourceLoc loc) {
  if (d.kind == Expr::Int) return d.ival;
  if (d.kind == Expr::Name) {
    auto it = scalars.find(d.name);
    int64_t v = 0;
    if (it != scalars.end() && it->second.int_value && is_const(it->second.int_value, &v)) return v;
  }
  throw GroveError(loc, "a leaf local needs a shape fixed by tunables and tile sizes");
}

// Where stores are waited for late, a compute that writes a staging tile waits for the last
// stores that read it (wait_for_stores).
void KernelIrEmitter::before_smem_writes(const Op& compute, Body& out) {
  std::set<int> staging;
  for (const Stmt* s : compute.stmts) {
    auto it = compute.tensors.find(s->target);
    if (it == compute.tensors.end() || it->second.kind != Ref::Smem) continue;
    if (store_sources_.count(it->second.index)) staging.insert(it->second.index);
  }
  if (!staging.empty()) wait_for_stores(staging, out);
}

// Before writes to the staging tiles `staging`: where each has a slot per parity of the loop
// iteration and this iteration has not stored it yet, the last iteration's stores and this one's
// so far may still read (the other slot); the one before's must be done.
void KernelIrEmitter::wait_for_stores(const std::set<int>& staging, Body& out) {
  if (!defer_store_waits_) return;
  bool other_slot = staging_.loop >= 0;
  for (int t : staging)
    other_slot = other_slot && k_.smem[static_cast<size_t>(t)].slots == 2 &&
                 staging_loop_of(t) == staging_.loop && !staging_.stored.count(t);
  Op w = store_wait(nullptr, "the last TMA store from this staging tile has read it");
  if (other_slot) {
    w.count = staging_.stores_per_iteration + staging_.stores;
    w.note = "the stores of the iteration before the last have read this slot of the staging "
             "tile";
  }
  out.push_back(w);
}

int KernelIrEmitter::staging_loop_of(int smem) const {
  for (const auto& [t, i] : smem_index_)
    if (i == smem) return b_.tensors[static_cast<size_t>(t)].staging_loop;
  return -1;
}

// Waits until no TMA store still reads shared memory.
Op KernelIrEmitter::store_wait(const Event* e, const std::string& note) {
  Op w = op(Op::TmaStoreWait, e);
  w.count = 0;
  w.note = note;
  return w;
}

void KernelIrEmitter::copy(const Event& e, Body& out, const std::string& it) {
  Ref dst = ref(e.dst, it), src = ref(e.src, it);
  if (src.kind == Ref::Smem && dst.kind == Ref::Global && e.wg_count == 0 &&
      b_.consumer_warpgroups > 1 && !b_.alternate_tiles)
    // Every consumer warpgroup runs the block's ops: each would store the whole tile, none
    // waiting for the others' writes. Stores from shared memory belong to the warpgroups.
    throw GroveError(e.loc,
                     "each of the " + std::to_string(b_.consumer_warpgroups) +
                         " consumer warpgroups would store all of a block-level shared buffer to "
                         "global memory, none waiting for the others' writes (the " +
                         e.note + ")",
                     "give it SHARED memory in the warpgroup-level instance that writes it, not "
                     "in the block-level one: each warpgroup then stores the part it wrote");
  if (src.kind == Ref::Smem && dst.kind == Ref::Global) {
    Op st = op(Op::TmaStore, &e);
    st.dst = dst;
    st.src = src;
    out.push_back(st);
    out.push_back(op(Op::TmaStoreCommit, &e));
    stored_ = true;
    ++staging_.stores;
    staging_.stored.insert(src.index);
    if (!defer_store_waits_) out.push_back(store_wait(&e, ""));
    return;
  }
  Op c = op(Op::Copy, &e);
  c.dst = dst;
  c.src = src;
  if (dst.kind == Ref::Smem && store_sources_.count(dst.index)) wait_for_stores({dst.index}, out);
  out.push_back(c);
  if (dst.kind == Ref::Smem) fence_for_async_proxy({dst.index}, &e, out);
}

// Generic stores into shared memory the async proxy reads (a wgmma's operand, a TMA store's
// staging tile) need a fence.proxy.async between them and that read. It goes right after the
// writes, so that every writing thread fences before the warpgroup barrier that follows them
// (the order the CUDA programming guide gives for a TMA store: write, fence, barrier, issue),
// even where another op (a slot's release) comes between the writes and the store.
void KernelIrEmitter::fence_for_async_proxy(const std::set<int>& written, const Event* e,
                                            Body& out) {
  bool wgmma = false, store = false;
  for (int s : written) {
    wgmma = wgmma || wgmma_smem_.count(s);
    store = store || store_sources_.count(s);
  }
  if (!wgmma && !store) return;
  Op f = op(Op::FenceProxyAsync, e);
  f.note = wgmma ? "generic smem writes, before a wgmma reads them"
                 : "generic smem writes, before a TMA store reads them";
  out.push_back(f);
}

} // namespace grove::lower
