// The CUDA printer's warpgroup barriers (part of the printer: printer.h). Kernel IR ops are
// warpgroup-wide, but a compute or copy is spread over the warpgroup's 128 threads: what one
// thread writes to shared memory another may read next, an elected thread's release of a slot
// must follow every thread's reads of it, and a write must follow every thread's (and wgmma's)
// reads of what it overwrites. The printer tracks what the warpgroup read and wrote since its
// last barrier and prints `bar.sync` (named barrier 2 + wg, 128 threads) where an op needs it.
#include <functional>
#include <set>

#include "cuda/printer.h"

namespace grove::cuda::detail {

namespace {

// The smem buffers a compute or copy reads and writes with ordinary loads and stores.
void generic_smem_access(const Op& o, std::set<int>& reads, std::set<int>& writes) {
  if (o.kind == Op::Copy) {
    if (o.dst.kind == Ref::Smem) writes.insert(o.dst.index);
    if (o.src.kind == Ref::Smem) reads.insert(o.src.index);
    return;
  }
  if (o.kind != Op::Compute) return;
  // Only names the statements use count: a leaf binds all its tensors, and those only its
  // wgmmas read are ordered by wgmma waits instead.
  std::function<bool(const Expr&, const std::string&)> uses = [&](const Expr& e,
                                                                  const std::string& n) {
    if (e.kind == Expr::Index && e.args[0]->kind == Expr::Name && e.args[0]->name == n) return true;
    for (const ExprPtr& a : e.args)
      if (uses(*a, n)) return true;
    return false;
  };
  for (const auto& [name, r] : o.tensors) {
    if (r.kind != Ref::Smem) continue;
    for (const Stmt* st : o.stmts) {
      if (st->target == name) writes.insert(r.index);
      if (st->value && uses(*st->value, name)) reads.insert(r.index);
    }
  }
}

} // namespace

void Printer::wg_barrier(const std::string& why) {
  w_->line("grove::named_barrier_sync(2 + wg, 128);  // " + why);
  barrier_passed();
}

// After a barrier every thread of the warpgroup joins: nothing read or written before it is
// pending any more.
void Printer::barrier_passed() {
  smem_read_.clear();
  smem_read_by_wgmma_.clear();
  smem_read_before_.clear();
  smem_written_.clear();
}

bool Printer::must_flush_before(const Op& o) const {
  return !smem_written_.empty() && !leaves_writes_pending(o);
}

void Printer::flush_writes() {
  if (!smem_written_.empty())
    wg_barrier("this warpgroup's smem writes, before its threads read them");
}

// Whether `o` may run while this warpgroup's writes wait for their barrier: it neither touches
// the written buffers nor tells another agent to (an arrive, a TMA, a guarded barrier), or it is
// an unguarded named barrier, which every thread of the warpgroup joins and which so orders the
// writes before whatever follows it (bar.sync: PTX ISA, "Memory Consistency Model").
bool Printer::leaves_writes_pending(const Op& o) const {
  auto touches = [&](const Ref& r) { return r.kind == Ref::Smem && smem_written_.count(r.index); };
  switch (o.kind) {
  case Op::NamedBarrier:
    return !o.guard;
  case Op::MbarWait:
  case Op::WgmmaFence:
  case Op::WgmmaCommit:
  case Op::WgmmaWait:
  case Op::SetMaxNReg:
  case Op::TmaStoreWait: // waits for earlier stores to read their tiles; reads nothing itself
    return true;
  case Op::Wgmma:
    return !touches(o.src) && !touches(o.src2);
  case Op::Compute:
  case Op::Copy: {
    std::set<int> reads, writes;
    generic_smem_access(o, reads, writes);
    for (int b : smem_written_)
      if (reads.count(b) || writes.count(b)) return false;
    return true;
  }
  case Op::Loop:
    return loop_leaves_writes_pending(o.body);
  default:
    return false;
  }
}

// A loop body leaves the writes pending if its ops do up to its first unguarded named barrier
// (which then orders them) or to its end. The back edge is checked when the body has printed.
bool Printer::loop_leaves_writes_pending(const Body& b) const {
  for (const Op& o : b) {
    if (o.kind == Op::NamedBarrier && !o.guard) return true;
    if (!leaves_writes_pending(o)) return false;
  }
  return true;
}

void Printer::order_generic_smem(const Op& o) {
  if (fence_first_) // each thread fences its own writes, then the barrier below joins them
    w_->line("grove::fence_proxy_async();  // this thread's smem writes, before the async proxy "
             "(a TMA store or a wgmma) reads them");
  if (!role_ || role_->kind != Role::Consumer) return;
  std::set<int> reads, writes;
  generic_smem_access(o, reads, writes);
  smem_written_.insert(writes.begin(), writes.end());
  if (writes.empty()) smem_read_.insert(reads.begin(), reads.end());
}

// A write of smem that this warpgroup's threads or wgmmas read since its last barrier waits for
// all of them (a thread that is done reading must not overwrite what a slower warp still reads).
void Printer::before_generic_write(const Op& o) {
  if (!role_ || role_->kind != Role::Consumer) return;
  std::set<int> reads, writes;
  generic_smem_access(o, reads, writes);
  for (int b : writes)
    if (smem_read_.count(b) || smem_read_by_wgmma_.count(b) || smem_read_before_.count(b)) {
      wg_barrier("every thread has read " + k_.smem.at(static_cast<size_t>(b)).name +
                 " before it is overwritten");
      return;
    }
}

// At the top of a loop body, what the previous iteration read after its last warpgroup barrier
// may still be being read: the reads after the last op that always ends in one (a generic smem
// write, or a named barrier), taking nested loops whole.
void Printer::note_loop_reads(const Body& b) {
  if (!role_ || role_->kind != Role::Consumer) return;
  std::function<void(const Op&)> reads = [&](const Op& o) {
    for (const Op& x : o.body) reads(x);
    std::set<int> writes;
    generic_smem_access(o, smem_read_before_, writes);
    if (o.kind == Op::Wgmma) {
      if (o.src.kind == Ref::Smem) smem_read_before_.insert(o.src.index);
      if (o.src2.kind == Ref::Smem) smem_read_before_.insert(o.src2.index);
    }
  };
  for (size_t i = b.size(); i-- > 0;) {
    const Op& o = b[i];
    std::set<int> r, w;
    generic_smem_access(o, r, w);
    if (o.kind == Op::NamedBarrier || (!w.empty() && !o.guard)) return;
    reads(o);
  }
}

void Printer::warpgroup_sync_before_release() {
  if (smem_read_.empty() || !role_ || role_->kind != Role::Consumer) return;
  wg_barrier("every thread has read the slot before it is released");
}

} // namespace grove::cuda::detail
