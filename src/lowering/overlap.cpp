// Pass 7: the two GEMMs of an iteration overlap across iterations, as FlashAttention-3 does inside
// a warpgroup. An iteration of the consumers' pipelined loop that computes S = A1·B1 on the tensor
// cores, then CUDA-core work X that makes the register operand P of a second GEMM O += P·B2, then
// that GEMM, becomes (j the iteration):
//
//   issue S(j) = A1·B1(j);  issue O += P·B2(j-1);  wait for S(j), release B1(j);
//   X(j) on S(j), leaving P(j)'s values in S (P is still being read; rounded to P's type, as P
//   would hold them); wait for the second GEMM, release B2(j-1);  pack S into P;  X's
//   statements on O;  the rest
//
// so the exponentials of X(j) run while the tensor cores do P·B2(j-1), and B1 (attention's K) is
// released half an iteration early, as FlashAttention-3 does. P may also be a shared-memory
// operand the CUDA cores write (FP8 attention's e4m3 P): the packing into P is then followed by
// the proxy fence the wgmma reading it needs. Iteration 0's first half is peeled
// before the loop, the last P·B2 after it (all three inside a loop of at most one iteration where
// the loop may have none). Everything moved keeps its order against everything it touches; where
// the iteration does not have this shape, or the statements of X cannot be split so, the loop is
// left as it is.
#include <functional>
#include <set>

#include "lowering/passes.h"

namespace grove::lower {
namespace {

using namespace kir;

constexpr int64_t kSpareRegs = 40;

// Registers a thread holds of register tensor `t` (4 bytes each).
int64_t regs_per_thread(const RegTensor& t) {
  int64_t n = elem_bytes(t.elem);
  for (int64_t d : t.shape) n *= d;
  return (n + 511) / 512;
}

// A tensor of the kernel as one integer: register tensors >= 0, shared buffers < 0.
int key(const Ref& r) {
  return r.kind == Ref::Reg ? r.index : r.kind == Ref::Smem ? -1 - r.index : INT32_MIN;
}

struct Access {
  std::set<int> reads, writes;
  bool touches(int t) const { return reads.count(t) || writes.count(t); }
  bool writes_smem() const { return !writes.empty() && *writes.begin() < 0; }
};

// What statement `s` of compute `c` reads and writes, through c's bindings.
Access access(const Op& c, const Stmt& s) {
  Access a;
  std::function<void(const Expr&)> reads = [&](const Expr& e) {
    if (e.kind == Expr::Name)
      if (auto it = c.tensors.find(e.name); it != c.tensors.end()) a.reads.insert(key(it->second));
    for (const ExprPtr& x : e.args) reads(*x);
  };
  if (s.value) reads(*s.value);
  if (auto it = c.tensors.find(s.target); it != c.tensors.end()) a.writes.insert(key(it->second));
  return a;
}

Access access(const Op& c) {
  Access a;
  for (const Stmt* s : c.stmts) {
    Access x = access(c, *s);
    a.reads.insert(x.reads.begin(), x.reads.end());
    a.writes.insert(x.writes.begin(), x.writes.end());
  }
  return a;
}

// Whether `e` is at least 1 for all sizes (each at least 1) and coordinates (at least 0).
bool positive(const IExprP& e, const std::set<std::string>& sizes);
bool nonnegative(const IExprP& e, const std::set<std::string>& sizes) {
  switch (e->op) {
  case IExpr::Const:
    return e->value >= 0;
  case IExpr::Var:
    return true; // sizes, block coordinates and loop variables are never negative
  case IExpr::Add:
  case IExpr::Mul:
  case IExpr::Div:
  case IExpr::Mod:
  case IExpr::Min:
  case IExpr::Max:
  case IExpr::CeilDiv:
    return nonnegative(e->a, sizes) && nonnegative(e->b, sizes);
  default:
    return false;
  }
}
bool positive(const IExprP& e, const std::set<std::string>& sizes) {
  switch (e->op) {
  case IExpr::Const:
    return e->value >= 1;
  case IExpr::Var:
    return sizes.count(e->name) > 0;
  case IExpr::Add:
    return (positive(e->a, sizes) && nonnegative(e->b, sizes)) ||
           (nonnegative(e->a, sizes) && positive(e->b, sizes));
  case IExpr::Mul:
  case IExpr::Min:
    return positive(e->a, sizes) && positive(e->b, sizes);
  case IExpr::CeilDiv:
    return positive(e->a, sizes) && is_const(e->b) && e->b->value >= 1;
  default:
    return false;
  }
}

// A deep copy of `e` with the tensor name `from` read as `to`.
ExprPtr renamed(const Expr& e, const std::string& from, const std::string& to) {
  auto c = std::make_unique<Expr>();
  c->kind = e.kind;
  c->loc = e.loc;
  c->ival = e.ival;
  c->fval = e.fval;
  c->name = e.kind == Expr::Name && e.name == from ? to : e.name;
  c->var = e.var;
  c->op = e.op;
  for (const ExprPtr& a : e.args) c->args.push_back(renamed(*a, from, to));
  return c;
}

// An assignment like `st`, of `value` to `target`.
std::shared_ptr<Stmt> assignment(const Stmt& st, const std::string& target, ExprPtr value) {
  auto c = std::make_shared<Stmt>();
  c->kind = Stmt::Assign;
  c->loc = st.loc;
  c->target = target;
  c->indices = st.indices;
  c->index_locs = st.index_locs;
  c->value = std::move(value);
  return c;
}

// Rewrites the statements x1 of compute `x` so that P's values stay in S (f32, the same shape),
// rounded to P's type as P would hold them: `P = v` becomes `S = round_f16(v)` and later reads of
// P read S. Refused where a statement reads P before that, or reads or writes S after it (S then
// holds P). The new statements are added to `made`, for the kernel to own.
bool softmax_in_s(const Kernel& k, const Op& x, int S, int P, std::vector<const Stmt*>& x1,
                  std::vector<std::shared_ptr<const Stmt>>& made) {
  const RegTensor& s = k.regs.at(static_cast<size_t>(S));
  std::string sn, pn;
  const Ref* pref = nullptr;
  for (const auto& [name, ref] : x.tensors) {
    if (ref.kind == Ref::Reg && ref.index == S) sn = name;
    if (key(ref) == P) {
      pn = name;
      pref = &ref;
    }
  }
  if (sn.empty() || pn.empty()) return false;
  const ElemType pe = elem_of(k, *pref);
  // P is 16-bit or 8-bit, in registers or shared memory.
  const bool is16 = pe == ElemType::F16 || pe == ElemType::BF16;
  if (s.elem != ElemType::F32 || s.shape != pref->shape || !(is16 || is_fp8(pe))) return false;
  bool p_written = false;
  for (const Stmt*& st : x1) {
    if (st->kind != Stmt::Assign || !st->value) return false;
    bool reads_p = mentions_name(*st->value, pn), reads_s = mentions_name(*st->value, sn);
    if (st->target == pn) {
      if (p_written || reads_p) return false;
      auto round = std::make_unique<Expr>();
      round->kind = Expr::Call;
      round->loc = st->value->loc;
      round->name = std::string("round_") + elem_name(pe); // round_f16, round_e4m3, ...
      round->args.push_back(renamed(*st->value, pn, sn));
      made.push_back(assignment(*st, sn, std::move(round)));
      st = made.back().get();
      p_written = true;
      continue;
    }
    if (p_written && (reads_s || st->target == sn)) return false;
    if (!reads_p) continue;
    if (!p_written) return false;
    made.push_back(assignment(*st, st->target, renamed(*st->value, pn, sn)));
    st = made.back().get();
  }
  return p_written;
}

// The pipelined loop body, cut into the parts the rewrite moves.
struct Iteration {
  std::vector<Op> waits;        // full-barrier waits before the first reader
  const Op* zero = nullptr;     // a compute right before the first group (its zero fill)
  const Op *fence1, *fence2;    // wgmma.fence of each group
  std::vector<Op> gemm1, gemm2; // the wgmmas of each group
  const Op *commit1, *commit2;  // their commits
  const Op* x = nullptr;        // the CUDA-core work between the groups
  const Op* x_fence = nullptr;  // a proxy fence after it (it wrote a shared P)
  const Op* rest = nullptr;     // a compute after the second group
  std::vector<Op> releases;     // empty-barrier arrivals after the last reader
};

bool parse(const Body& b, Iteration& it) {
  size_t i = 0;
  auto at = [&](Op::Kind k) { return i < b.size() && b[i].kind == k && !b[i].guard; };
  while (at(Op::MbarWait)) it.waits.push_back(b[i++]);
  // fence, wgmmas, commit, wait for all
  auto group = [&](const Op*& fence, std::vector<Op>& gemms, const Op*& commit) {
    if (!at(Op::WgmmaFence)) return false;
    fence = &b[i++];
    while (at(Op::Wgmma)) gemms.push_back(b[i++]);
    if (gemms.empty() || !at(Op::WgmmaCommit)) return false;
    commit = &b[i++];
    if (!at(Op::WgmmaWait) || b[i].count != 0) return false;
    ++i;
    return true;
  };
  if (at(Op::Compute)) it.zero = &b[i++];
  if (!group(it.fence1, it.gemm1, it.commit1) || !at(Op::Compute)) return false;
  it.x = &b[i++];
  if (at(Op::FenceProxyAsync)) it.x_fence = &b[i++];
  if (!group(it.fence2, it.gemm2, it.commit2)) return false;
  if (at(Op::Compute)) it.rest = &b[i++];
  while (at(Op::MbarArrive)) it.releases.push_back(b[i++]);
  return i == b.size();
}

Op wgmma_wait(int count, const std::string& note) {
  Op w;
  w.kind = Op::WgmmaWait;
  w.count = count;
  w.note = note;
  return w;
}

// Rewrites `loop` (at `pos` in `body`) when it has the shape above; returns whether it did.
bool overlap_loop(Kernel& k, Body& body, size_t pos, int max_regs) {
  const Op& loop = body[pos];
  Iteration it;
  if (!loop.lets.empty() || loop.guard || !parse(loop.body, it)) return false;
  // The second group takes its A operand P (registers, or shared memory the CUDA cores write)
  // into an accumulator O; the first writes S. All distinct.
  const Ref& pref = it.gemm2[0].src;
  const bool p_shared = pref.kind == Ref::Smem;
  const int P = key(pref);
  const int O = it.gemm2[0].dst.index, S = it.gemm1[0].dst.index;
  if ((pref.kind != Ref::Reg && !p_shared) || P == O || S == P || S == O) return false;
  if (it.x_fence && !p_shared) return false;
  for (const Op& w : it.gemm2)
    if (key(w.src) != P || w.dst.index != O) return false;
  for (const Op& w : it.gemm1)
    if (w.dst.index != S || key(w.src) == P || key(w.src) == O) return false;
  if (it.zero) {
    Access z = access(*it.zero);
    if (z.writes != std::set<int>{S} || z.touches(P) || z.touches(O)) return false;
  }
  if (it.rest) {
    Access r = access(*it.rest);
    if (r.touches(P) || r.touches(O) || r.writes_smem()) return false;
  }
  // X splits into X1 (before the second group retires: not touching O, writing P into S)
  // and X2 (after: the statements on O, which must not touch P); X2 moves after the X1
  // statements that followed it, which must not depend on it.
  std::vector<const Stmt*> x1, x2;
  std::vector<Access> x2_access;
  bool writes_p = false;
  for (const Stmt* s : it.x->stmts) {
    Access a = access(*it.x, *s);
    if (a.writes_smem() && !(p_shared && a.writes == std::set<int>{P})) return false;
    if (a.touches(O)) {
      if (a.touches(P)) return false;
      x2.push_back(s);
      x2_access.push_back(a);
      continue;
    }
    for (const Access& moved : x2_access)
      for (int t : a.reads)
        if (moved.writes.count(t)) return false;
    for (const Access& moved : x2_access)
      for (int t : a.writes)
        if (moved.touches(t)) return false;
    writes_p = writes_p || a.writes.count(P);
    x1.push_back(s);
  }
  if (x1.empty() || !writes_p) return false;
  // While the second group still reads P, X1 leaves P's values in S (a second register tensor
  // would do too, but ptxas then gives it P's registers, which the running wgmma reads, and
  // serializes every wgmma: C7513). Only where the register tensors leave the compiler room
  // (kSpareRegs a thread for addresses, counters and temporaries).
  int64_t regs = 0;
  for (const RegTensor& t : k.regs) regs += regs_per_thread(t);
  if (regs > max_regs - kSpareRegs) return false;
  // What runs after X1 then reads S as P's values, not as what X left in it: refused.
  for (const Access& a : x2_access)
    if (a.reads.count(S)) return false;
  if (it.rest && access(*it.rest).reads.count(S)) return false;
  std::vector<std::shared_ptr<const Stmt>> made;
  if (!softmax_in_s(k, *it.x, S, P, x1, made)) return false;
  std::set<std::string> sizes(k.size_vars.begin(), k.size_vars.end());
  // Iteration 0 is peeled: where the loop may run no iteration, all of it goes in a wrapper.
  const bool may_be_empty = !positive(loop.extent, sizes);

  // Rings: a wait goes before the first reader, a release after the last reader retires. Rings
  // the first half reads (Z, the first group, X) are awaited at the top of iteration j; those
  // only the second group reads, before it (for iteration j - 1).
  auto ring_of = [&](int barrier, bool full) -> const Kernel::Ring* {
    for (const Kernel::Ring& r : k.rings)
      if ((full ? r.full : r.empty) == barrier) return &r;
    return nullptr;
  };
  std::set<int> early_reads, late_reads;
  for (const Op& w : it.gemm1) early_reads.insert({key(w.src), key(w.src2)});
  for (const Op* c : {it.zero, it.x})
    if (c) early_reads.merge(access(*c).reads);
  for (const Op& w : it.gemm2) late_reads.insert({key(w.src), key(w.src2)});
  if (it.rest) late_reads.merge(access(*it.rest).reads);
  auto reads_ring = [](const std::set<int>& reads, const Kernel::Ring& r) {
    for (int b : r.buffers)
      if (reads.count(-1 - b)) return true;
    return false;
  };
  std::vector<Op> early_waits, late_waits, early_releases, late_releases;
  for (const Op& w : it.waits) {
    const Kernel::Ring* r = ring_of(w.barrier, true);
    if (!r) return false;
    // A ring both GEMMs read is held from iteration j - 1 into j: it needs two slots.
    if (reads_ring(early_reads, *r) && reads_ring(late_reads, *r) &&
        k.barriers.at(static_cast<size_t>(r->full)).slots < 2)
      return false;
    (reads_ring(early_reads, *r) || !reads_ring(late_reads, *r) ? early_waits : late_waits)
        .push_back(w);
  }
  for (const Op& a : it.releases) {
    const Kernel::Ring* r = ring_of(a.barrier, false);
    if (!r) return false;
    (reads_ring(late_reads, *r) ? late_releases : early_releases).push_back(a);
  }

  // X1 (rewritten above) leaves P's values in S; `take` packs them into P.
  k.owned_stmts.insert(k.owned_stmts.end(), made.begin(), made.end());
  Op x1_op = *it.x, x2_op = *it.x;
  x1_op.stmts = x1;
  x2_op.stmts = x2;
  Op take;
  take.kind = Op::Copy;
  take.loc = it.x->loc;
  take.dst = pref;
  take.src.kind = Ref::Reg;
  take.src.index = S;
  take.src.shape = pref.shape;
  take.src.origin = std::vector<IExprP>(pref.shape.size(), cst(0));
  take.note = "P of this iteration, now that the previous one's GEMM is done with it";

  const std::string j = loop.var;
  const IExprP n = loop.extent;
  auto at = [&](std::vector<Op> ops, const IExprP& value) {
    for (Op& o : ops) substitute(o, j, value);
    return ops;
  };
  auto append = [](Body& to, const std::vector<Op>& ops) {
    to.insert(to.end(), ops.begin(), ops.end());
  };
  std::vector<Op> first_half, second_group, after_second;
  if (it.zero) first_half.push_back(*it.zero);
  first_half.push_back(*it.fence1);
  append(first_half, it.gemm1);
  first_half.push_back(*it.commit1);
  append(second_group, it.gemm2);
  second_group.push_back(*it.commit2);
  after_second.push_back(take);
  if (it.x_fence) after_second.push_back(*it.x_fence); // the next wgmma reads the shared P
  if (!x2.empty()) after_second.push_back(x2_op);
  if (it.rest) after_second.push_back(*it.rest);

  // Iteration 0's first half, before the loop.
  Body pre = early_waits;
  append(pre, first_half);
  pre.push_back(wgmma_wait(0, "the first GEMM of iteration 0"));
  append(pre, early_releases);
  pre.push_back(x1_op);
  append(pre, after_second);
  for (Op& o : pre) substitute(o, j, cst(0));
  // Iterations 1..n-1: this one's first GEMM, the previous one's second.
  Op next = loop;
  next.var = "grove_" + j;
  next.extent = sub(n, cst(1));
  next.lets = {{j, add(var(next.var), cst(1))}};
  next.note = "iteration " + j + " issues its first GEMM, then iteration " + j +
              " - 1's second: the CUDA-core work of one runs under the other";
  Body& nb = next.body;
  nb = early_waits;
  append(nb, first_half);
  append(nb, at(late_waits, sub(var(j), cst(1))));
  nb.push_back(*it.fence2); // (the fence above covers it; without, ptxas injects one: C7519)
  append(nb, at(second_group, sub(var(j), cst(1))));
  nb.push_back(wgmma_wait(1, "this iteration's first GEMM is done; the previous one's second "
                             "may still run"));
  append(nb, early_releases);
  nb.push_back(x1_op);
  nb.push_back(wgmma_wait(0, "the previous iteration's second GEMM is done"));
  append(nb, at(late_releases, sub(var(j), cst(1))));
  append(nb, after_second);
  // The last iteration's second GEMM, after the loop.
  IExprP last = sub(n, cst(1));
  Body post = at(late_waits, last);
  post.push_back(*it.fence2);
  append(post, at(second_group, last));
  post.push_back(wgmma_wait(0, "the last iteration's second GEMM"));
  append(post, at(late_releases, last));

  Body all = std::move(pre);
  all.push_back(std::move(next));
  append(all, post);
  if (may_be_empty) {
    // A loop of at most one iteration (n may be zero or negative, as in attention whose key
    // range depends on where its query tile sits): an `if` that the passes after this one and
    // the emulator see as a loop.
    Op wrap;
    wrap.kind = Op::Loop;
    wrap.loc = loop.loc;
    wrap.var = "grove_" + j + "_any";
    wrap.extent = bin(IExpr::Min, n, cst(1));
    wrap.at_most_once = true;
    wrap.note = "once if loop " + j + " runs at all: its iteration 0 is peeled";
    wrap.body = std::move(all);
    all = {std::move(wrap)};
  }
  body.erase(body.begin() + static_cast<long>(pos));
  body.insert(body.begin() + static_cast<long>(pos), all.begin(), all.end());
  return true;
}

} // namespace

void overlap_gemms(kir::Kernel& k) {
  for (Role& r : k.roles) {
    if (r.kind != Role::Consumer) continue;
    for (size_t i = 0; i < r.body.size(); ++i)
      if (r.body[i].kind == Op::Loop && overlap_loop(k, r.body, i, r.max_regs)) return;
  }
}

} // namespace grove::lower
