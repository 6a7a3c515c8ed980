// The semantics of kernel-IR synchronization ops and of the asynchronous operations (TMA loads
// and stores, wgmma): when each may proceed, what it checks, and what it does on completion.
#include <algorithm>

#include "emulator/block.h"

namespace grove::emu {

using kir::Op;

bool Block::groups_done(const std::deque<std::vector<int>>& groups, size_t keep) const {
  for (size_t g = 0; g + keep < groups.size(); ++g)
    for (int id : groups[g])
      if (!ops_[static_cast<size_t>(id)].done) return false;
  return true;
}

void Block::retire(Agent& a, std::deque<std::vector<int>>& groups, size_t keep) {
  while (groups.size() > keep) {
    for (int id : groups.front()) {
      AsyncOp& o = ops_[static_cast<size_t>(id)];
      o.retired = true;
      join(a.vc, o.vc);
    }
    groups.pop_front();
  }
}

bool Block::ready(Agent& a, const Op& op) {
  if (op.guard && kir::eval(*op.guard, a.env) == 0) return true; // skipped: never blocks
  switch (op.kind) {
  case Op::MbarWait:
    return bars_[static_cast<size_t>(a.cta)].passes(op.barrier, kir::eval(*op.slot, a.env),
                                                    kir::eval(*op.phase, a.env));
  case Op::WgmmaWait:
    return groups_done(a.wgmma_groups, static_cast<size_t>(std::max(op.count, 0)));
  case Op::TmaStoreWait:
    return groups_done(a.store_groups, static_cast<size_t>(std::max(op.count, 0)));
  case Op::NamedBarrier:
  case Op::ClusterSync:
    return !a.at_bar || named_[named_key(a, op)].generation > a.bar_gen;
  default:
    return true;
  }
}

bool Block::exec(Agent& a, const Op& op) {
  if (op.guard && kir::eval(*op.guard, a.env) == 0) return true; // guarded off here
  switch (op.kind) {
  case Op::Loop: // normalize() enters loops
    return true;
  case Op::MbarArriveExpectTx:
  case Op::MbarArrive: {
    int64_t slot = kir::eval(*op.slot, a.env);
    for (int cta : targets(a, op)) {
      if (cta != a.cta) check_alive(a, op, cta);
      std::string e = bars_[static_cast<size_t>(cta)].arrive(
          op.barrier, slot, a.vc, op.kind == Op::MbarArriveExpectTx ? op.bytes : 0);
      if (!e.empty()) error(a, &op, e);
    }
    own(a.vc, a.tid)++;
    return true;
  }
  case Op::MbarWait: {
    int64_t slot = kir::eval(*op.slot, a.env);
    MbarSlot& s = bars_[static_cast<size_t>(a.cta)].at(op.barrier, slot);
    int64_t phase = s.phase - 1; // the phase this wait synchronizes with; -1: a fresh barrier
    auto key = std::make_pair(op.barrier, slot);
    auto it = a.synced_phase.find(key);
    int64_t last = it == a.synced_phase.end() ? -1 : it->second;
    if (phase > last + 1)
      error(a, &op,
            "wait on the wrong phase: parity " + std::to_string(kir::eval(*op.phase, a.env) & 1) +
                " of mbarrier " + bars_[static_cast<size_t>(a.cta)].name(op.barrier, slot) +
                " passes on phase " + std::to_string(phase) +
                ", but this agent last waited on phase " + std::to_string(last) +
                " of it, so it missed phase(s) in between");
    a.synced_phase[key] = std::max(last, phase);
    if (op.phases_in_turns) // the next phase is the other warpgroups' to wait for as well
      for (Agent& b : agents_)
        if (b.role == a.role && b.cta == a.cta)
          b.synced_phase[key] =
              std::max(b.synced_phase.count(key) ? b.synced_phase[key] : -1, phase);
    join(a.vc, s.completed);
    return true;
  }
  case Op::TmaLoad:
  case Op::TmaStore:
  case Op::Wgmma:
    issue(a, op);
    own(a.vc, a.tid)++;
    return true;
  case Op::TmaStoreCommit:
    a.store_groups.push_back(std::move(a.open_stores));
    a.open_stores.clear();
    return true;
  case Op::TmaStoreWait:
    retire(a, a.store_groups, static_cast<size_t>(std::max(op.count, 0)));
    return true;
  case Op::FenceProxyAsync:
    a.unfenced_smem.clear();
    return true;
  case Op::WgmmaFence:
    std::fill(a.regs_unfenced.begin(), a.regs_unfenced.end(), false);
    a.group_fenced = true;
    return true;
  case Op::WgmmaCommit:
    a.wgmma_groups.push_back(std::move(a.open_wgmma));
    a.open_wgmma.clear();
    a.group_fenced = false;
    return true;
  case Op::WgmmaWait:
    retire(a, a.wgmma_groups, static_cast<size_t>(std::max(op.count, 0)));
    return true;
  case Op::Compute:
    compute(a, op);
    return true;
  case Op::Copy:
    copy(a, op);
    return true;
  case Op::SetMaxNReg:
    if (op.count < 24 || op.count > 256 || op.count % 8)
      error(a, &op,
            "setmaxnreg " + std::to_string(op.count) + " is not a multiple of 8 in [24, 256]");
    return true;
  case Op::ClusterSync: {
    // barrier.cluster.arrive + wait: released once every thread of the cluster that has not
    // exited has arrived (an exited thread no longer counts; see release_cluster).
    NamedBarrier& nb = named_[-1];
    if (a.at_bar) {
      a.at_bar = false;
      join(a.vc, nb.released);
      return true;
    }
    nb.arrived += a.threads;
    join(nb.pending, a.vc);
    own(a.vc, a.tid)++;
    a.at_bar = true;
    a.bar_gen = nb.generation;
    release_cluster();
    return false;
  }
  case Op::NamedBarrier:
  case Op::NamedBarrierArrive: {
    const int key = named_key(a, op);
    const int count = op.count;
    NamedBarrier& nb = named_[key];
    if (a.at_bar) { // released
      a.at_bar = false;
      join(a.vc, nb.released);
      return true;
    }
    std::string id = "named barrier " + std::to_string(named_id(op, a.env));
    if (count <= 0 || count % 32)
      error(a, &op,
            id + ": a thread count of " + std::to_string(count) +
                " is not a whole number of warps");
    if (count != bar_threads_[key])
      error(a, &op,
            id + ": a count of " + std::to_string(count) +
                " threads, but the warps whose code uses this barrier have " +
                std::to_string(bar_threads_[key]));
    if (nb.arrived == 0)
      nb.count = count;
    else if (nb.count != count)
      error(a, &op,
            id + ": this agent syncs " + std::to_string(count) +
                " threads but an agent already waiting there syncs " + std::to_string(nb.count));
    if (!nb.agents.insert(a.tid).second)
      error(a, &op,
            id + ": arrives a second time before the barrier completed (each warp arrives once "
                 "per generation; a bar.sync or bar.arrive is missing on the other side)");
    nb.arrived += a.threads;
    join(nb.pending, a.vc);
    own(a.vc, a.tid)++;
    const bool waits = op.kind != Op::NamedBarrierArrive; // bar.arrive goes on at once
    if (waits) {
      a.at_bar = true;
      a.bar_gen = nb.generation;
    }
    if (nb.arrived > nb.count)
      error(a, &op,
            id + ": " + std::to_string(nb.arrived) + " threads arrived but the count is " +
                std::to_string(nb.count) + ", which does not match the participating warps");
    if (nb.arrived >= nb.count) {
      nb.generation++;
      nb.arrived = 0;
      nb.agents.clear();
      nb.released = std::move(nb.pending);
      nb.pending.clear();
    }
    return !waits;
  }
  }
  return true;
}

void Block::check_smem_in_flight(const Agent& a, const Op& op, const Box& b, bool write) {
  const std::string& name = smem_[0].buffer(b.index).name;
  std::string what = "smem " + name + "[" + std::to_string(b.slot) + "] " + box_str(b) +
                     (k_.cluster > 1 ? " of block " + std::to_string(b.cta) : "");
  for (int id : live_) {
    const AsyncOp& o = ops_[static_cast<size_t>(id)];
    const std::string& by = agents_[static_cast<size_t>(o.agent)].label;
    Box into = o.smem_write;
    // A multicast fills the same place in every block of its group.
    if (std::find(o.ctas.begin(), o.ctas.end(), b.cta) != o.ctas.end()) into.cta = b.cta;
    if (o.kind == AsyncOp::Load && !o.done && overlaps(into, b))
      error(a, &op,
            std::string(write ? "writes " : "reads ") + what +
                " while a TMA load into it (issued by " + by + ") is in flight" +
                (write ? "" : ": its data has not arrived"));
    if (!write || o.kind == AsyncOp::Load || o.retired) continue;
    for (const Box& r : o.smem_reads)
      if (overlaps(r, b))
        error(a, &op,
              "overwrites " + what + " while " +
                  (o.kind == AsyncOp::Mma ? "a wgmma" : "a TMA store") + " issued by " + by +
                  " may still read it (not yet retired by " +
                  (o.kind == AsyncOp::Mma ? "wgmma.wait_group" : "tma.store.wait_group") + ")");
  }
}

void Block::check_smem_unfenced(const Agent& a, const Op& op, const Box& b) {
  for (const Agent& w : agents_)
    for (const Box& u : w.unfenced_smem)
      if (overlaps(u, b))
        error(a, &op,
              "reads smem " + smem_[0].buffer(b.index).name + "[" + std::to_string(b.slot) + "] " +
                  box_str(b) + " through the async proxy, but " + w.label +
                  " wrote it with generic stores and no fence.proxy.async since");
}

void Block::check_regs_in_flight(const Agent& a, const Op& op, int reg, bool write) {
  for (int id : live_) {
    const AsyncOp& o = ops_[static_cast<size_t>(id)];
    if (o.kind != AsyncOp::Mma || o.agent != a.tid || o.retired) continue;
    bool dst = o.op->dst.index == reg,
         src = o.op->src.kind == kir::Ref::Reg && o.op->src.index == reg;
    if (dst || (write && src))
      error(a, &op,
            std::string(write ? "writes" : "reads") + " register tensor " +
                k_.regs[static_cast<size_t>(reg)].name + " while a wgmma that " +
                (dst ? "accumulates into" : "reads") +
                " it is not yet retired by wgmma.wait_group");
  }
}

void Block::issue(Agent& a, const Op& op) {
  AsyncOp o;
  o.op = &op;
  o.agent = a.tid;
  o.tid = next_tid_++;
  o.vc = a.vc;
  own(o.vc, o.tid) = 1;
  o.env = a.env;
  o.issued_at = loops(a);
  o.ready_at = now_ + static_cast<int64_t>(rng_() % static_cast<uint64_t>(opts_.max_delay + 1));
  int id = static_cast<int>(ops_.size());
  auto elem = [&](const kir::Ref& r) {
    return r.kind == kir::Ref::Smem  ? k_.smem[static_cast<size_t>(r.index)].elem
           : r.kind == kir::Ref::Reg ? k_.regs[static_cast<size_t>(r.index)].elem
                                     : k_.tensors[static_cast<size_t>(r.index)].elem;
  };
  if (op.kind == Op::TmaLoad || op.kind == Op::TmaStore) {
    bool load = op.kind == Op::TmaLoad;
    const kir::Ref& s = load ? op.dst : op.src;
    const kir::Ref& g = load ? op.src : op.dst;
    if (s.kind != kir::Ref::Smem || g.kind != kir::Ref::Global)
      throw Fatal(std::string("a TMA ") + (load ? "load" : "store") +
                  " moves a box between global and shared memory");
    Box sb = box(a, s, a.env);
    o.global = box(a, g, a.env);
    if (sb.count() != o.global.count())
      throw Fatal("the shared-memory box " + box_str(sb) + " and the global box " +
                  box_str(o.global) + " differ in size");
    if (elem(s) != elem(g))
      throw Fatal(std::string("TMA does not convert: smem holds ") + elem_name(elem(s)) +
                  ", the global tensor " + elem_name(elem(g)));
    if (load) {
      o.kind = AsyncOp::Load;
      o.smem_write = sb;
      o.ctas = targets(a, op);
      o.bar_slot = kir::eval(*op.slot, a.env);
      o.bytes = sb.count() * elem_bytes(elem(s));
      for (int cta : o.ctas) {
        Box into = sb;
        into.cta = cta;
        if (cta != a.cta) check_alive(a, op, cta);
        bars_[static_cast<size_t>(cta)].at(op.barrier, o.bar_slot);
        check_smem_in_flight(a, op, into, true);
        smem_[static_cast<size_t>(cta)].poison(into, s.swizzle); // until the data lands
      }
    } else {
      o.kind = AsyncOp::Store;
      o.smem_reads = {sb};
      check_smem_in_flight(a, op, sb, false);
      check_smem_unfenced(a, op, sb);
      a.open_stores.push_back(id);
    }
  } else { // Wgmma
    o.kind = AsyncOp::Mma;
    if (op.dst.kind != kir::Ref::Reg || op.src2.kind != kir::Ref::Smem ||
        op.src.kind == kir::Ref::Global)
      throw Fatal("wgmma accumulates in registers, reads A from registers or smem and B from smem");
    if (op.dst.shape.size() != 2 || op.src.shape.size() != 2 || op.src2.shape.size() != 2)
      throw Fatal("wgmma operands are rank-2 boxes");
    int64_t M = op.dst.shape[0], N = op.dst.shape[1];
    int64_t am = op.src.shape[op.trans_a ? 1 : 0], K = op.src.shape[op.trans_a ? 0 : 1];
    int64_t bk = op.src2.shape[op.trans_b ? 1 : 0], bn = op.src2.shape[op.trans_b ? 0 : 1];
    ElemType ta = elem(op.src), tb = elem(op.src2), tc = elem(op.dst);
    int64_t kstep = wgmma_k(ta);
    // (M = 128: two row blocks of 64, one after the other, as the CUDA printer issues them.)
    if (am != M || bk != K || bn != N || M % 64 || M < 64 || N % 8 || N < 8 || N > 256 || K % kstep)
      throw Fatal(
          "wgmma " + std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K) +
          " (A " + std::to_string(am) + "x" + std::to_string(K) + ", B " + std::to_string(bk) +
          "x" + std::to_string(bn) + ") is not a sequence of m64nNk" + std::to_string(kstep) +
          " instructions (a warpgroup's M is a multiple of 64, N a multiple of 8 up to 256)");
    if ((ta != tb && !(is_fp8(ta) && is_fp8(tb))) || ta == ElemType::F32 || is_fp8(tc) ||
        tc == ElemType::BF16)
      throw Fatal(std::string("wgmma does not take ") + elem_name(ta) + " x " + elem_name(tb) +
                  " -> " + elem_name(tc));
    if (op.src.kind == kir::Ref::Reg && op.trans_a)
      throw Fatal("wgmma takes A from registers only untransposed");
    if (is_fp8(ta) && (op.trans_a || !op.trans_b))
      throw Fatal("wgmma reads 8-bit operands K-major");
    Box d = box(a, op.dst, a.env);
    Box sa = box(a, op.src, a.env), sb = box(a, op.src2, a.env);
    (void)d;
    auto fence_check = [&](int reg) {
      if (a.regs_unfenced[static_cast<size_t>(reg)])
        error(a, &op,
              "reads register tensor " + k_.regs[static_cast<size_t>(reg)].name +
                  ", written by compute/copy, with no wgmma.fence in between");
    };
    // Every group starts with a wgmma.fence (ptxas requires one before a wgmma pipeline stage
    // that uses registers, and otherwise injects it: C7519).
    if (!a.group_fenced)
      error(a, &op, "starts a wgmma group with no wgmma.fence since the last commit");
    fence_check(op.dst.index);
    if (op.src.kind == kir::Ref::Reg) {
      fence_check(op.src.index);
      check_regs_in_flight(a, op, op.src.index, false);
    } else {
      o.smem_reads.push_back(sa);
    }
    o.smem_reads.push_back(sb);
    for (const Box& r : o.smem_reads) {
      check_smem_in_flight(a, op, r, false);
      check_smem_unfenced(a, op, r);
    }
    a.open_wgmma.push_back(id);
  }
  ops_.push_back(std::move(o));
  live_.push_back(id);
}

void Block::complete(AsyncOp& o) {
  o.done = true;
  Agent& a = agents_[static_cast<size_t>(o.agent)];
  std::string who = std::string(o.kind == AsyncOp::Load    ? "a TMA load"
                                : o.kind == AsyncOp::Store ? "a TMA store"
                                                           : "a wgmma") +
                    " of " + a.label;
  auto race = [&](const Box& b, bool write) {
    for (const std::string& c :
         smem_[static_cast<size_t>(b.cta)].access(b, write, o.epoch(), o.vc, who))
      error(a, o.op,
            std::string("completing") +
                (o.issued_at.empty() ? "" : " (issued at " + o.issued_at + ")") + ", it " +
                (write ? "writes" : "reads") + " shared memory: " + c);
  };
  const kir::Op& op = *o.op;
  switch (o.kind) {
  case AsyncOp::Load: {
    const Buffer& g = *globals_[static_cast<size_t>(op.src.index)];
    std::vector<int64_t> idx =
        box_indices(o.global, global_shapes_[static_cast<size_t>(op.src.index)]);
    std::vector<double> v(idx.size());
    for (size_t i = 0; i < idx.size(); ++i)
      v[i] = idx[i] < 0 ? 0.0 : g.data[static_cast<size_t>(idx[i])];
    for (int cta : o.ctas) {
      Box into = o.smem_write;
      into.cta = cta;
      race(into, true);
      smem_[static_cast<size_t>(cta)].write(into, op.dst.swizzle, v);
      std::string e =
          bars_[static_cast<size_t>(cta)].complete_tx(op.barrier, o.bar_slot, o.vc, o.bytes);
      if (!e.empty())
        error(a, o.op,
              "completing" + (o.issued_at.empty() ? "" : " (issued at " + o.issued_at + ")") +
                  ": " + e);
    }
    break;
  }
  case AsyncOp::Store: {
    race(o.smem_reads[0], false);
    std::vector<double> v =
        smem_[static_cast<size_t>(o.smem_reads[0].cta)].read(o.smem_reads[0], op.src.swizzle);
    Buffer& g = *globals_[static_cast<size_t>(op.dst.index)];
    std::vector<int64_t> idx =
        box_indices(o.global, global_shapes_[static_cast<size_t>(op.dst.index)]);
    for (size_t i = 0; i < idx.size(); ++i)
      if (idx[i] >= 0) g.data[static_cast<size_t>(idx[i])] = round_to(g.elem, v[i]);
    break;
  }
  case AsyncOp::Mma:
    for (const Box& b : o.smem_reads) race(b, false);
    mma(o);
    break;
  }
}

} // namespace grove::emu
