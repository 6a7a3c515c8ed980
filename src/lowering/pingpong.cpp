// Pass 8: ping-pong consumers. The two consumer warpgroups take turns on the tensor cores, as in
// FlashAttention-3: a turn runs from the last wgmma group of one iteration of the pipelined loop
// to the first group of the next (PV(j), then QK(j+1)), so one warpgroup's CUDA-core work (the
// softmax) runs under the other's GEMMs. Where the overlap pass made an iteration issue its two
// groups back to back (QK(j+1), then PV(j)), they are one turn, and so are the groups it peeled
// before and after the loop. A turn is a token passed through named barriers
// kPingPong + wg: a warpgroup bar.syncs on its own before its turn and bar.arrives on the other's
// after it (256 threads: both warpgroups). Warpgroup 1 hands warpgroup 0 the first turn once.
#include <algorithm>

#include "lowering/passes.h"

namespace grove::lower {
namespace {

using namespace kir;

// Ids 8 and 9: 1 is the consumers' barrier for reused shared memory, 2-4 the CUDA printer's
// per-warpgroup barriers.
constexpr int kPingPong = 8;

Op turn(Op::Kind kind, const std::string& note) {
  Op o;
  o.kind = kind;
  o.id_expr = kind == Op::NamedBarrier ? add(var("wg"), cst(kPingPong))
                                       : sub(cst(kPingPong + 1), var("wg"));
  o.count = 256;
  o.note = note;
  return o;
}

bool issues_wgmma(const Body& b) {
  for (const Op& o : b)
    if (o.kind == Op::Wgmma) return true;
  return false;
}

// The first loop of `b` whose own body issues wgmmas (the consumers' main or pipelined loop).
Body::iterator wgmma_loop(Body& b) {
  return std::find_if(b.begin(), b.end(),
                      [](const Op& o) { return o.kind == Op::Loop && issues_wgmma(o.body); });
}

// Whether compute `c` only fills the accumulator of wgmma `w` (a zero fill the printer folds
// into it: the turn must start before it, so that nothing comes between them).
bool fills(const Op& c, const Op& w) {
  if (c.kind != Op::Compute || w.kind != Op::Wgmma || c.stmts.empty()) return false;
  for (const Stmt* s : c.stmts) {
    auto it = c.tensors.find(s->target);
    if (it == c.tensors.end() || it->second.kind != Ref::Reg || it->second.index != w.dst.index)
      return false;
  }
  return true;
}

// Makes each run of wgmma groups in `b` issued with no wait between them (from its fence, or the
// fill before it, through its last commit) one turn. For the overlapped form: QK(j+1) and PV(j)
// in the loop, and the groups peeled before and after it.
void turns_around_groups(Body& b) {
  for (size_t i = 0; i < b.size(); ++i) {
    if (b[i].kind != Op::WgmmaFence) continue;
    size_t start = i > 0 && i + 1 < b.size() && fills(b[i - 1], b[i + 1]) ? i - 1 : i, last = i;
    for (size_t k = i; k < b.size() && b[k].kind != Op::WgmmaWait && b[k].kind != Op::Loop; ++k)
      if (b[k].kind == Op::WgmmaCommit) last = k;
    b.insert(b.begin() + static_cast<long>(last) + 1,
             turn(Op::NamedBarrierArrive, "the other warpgroup's turn on the tensor cores"));
    b.insert(b.begin() + static_cast<long>(start),
             turn(Op::NamedBarrier, "wait for this warpgroup's turn on the tensor cores"));
    i = last + 2;
  }
}

// Once per block, after setmaxnreg: warpgroup 1 gives warpgroup 0 the first turn.
void first_turn(Role& cons) {
  Op first = turn(Op::NamedBarrierArrive, "warpgroup 0 has the first turn on the tensor cores");
  first.guard = bin(IExpr::Min, var("wg"), cst(1));
  first.once = true;
  auto after = cons.body.begin();
  while (after != cons.body.end() && after->kind == Op::SetMaxNReg) ++after;
  cons.body.insert(after, first);
}

// Warpgroups on alternate tiles (Kernel::alternate_tiles): a turn is one tile's main loop, so
// the main loops run one after another while each warpgroup's epilogue runs under the other's.
// The order matters beyond speed: a warpgroup waits on a ring slot's phase only after every
// earlier phase has been waited for (by it or the other), or try_wait.parity could pass on the
// phase before the one it means.
void turns_around_main_loops(Role& cons) {
  auto loop = wgmma_loop(cons.body);
  if (loop == cons.body.end()) return;
  loop = cons.body.insert(loop, turn(Op::NamedBarrier, "wait for this warpgroup's turn: the "
                                                       "other's main loop is done"));
  cons.body.insert(loop + 2, turn(Op::NamedBarrierArrive,
                                  "the other warpgroup's turn: its tile's main loop may start"));
  first_turn(cons);
}

} // namespace

void take_turns(kir::Kernel& k, const BlockProgram& b) {
  if (!b.pingpong) return;
  const SourceLoc at = b.block->pingpong ? b.block->pingpong->loc : b.block->loc;
  // Under pipeline = auto the schedule proposes ping-pong wherever one warpgroup's CUDA-core work
  // overlaps the other's wgmmas; where turns cannot be placed (one GEMM per iteration, as a
  // block-scaled GEMM's), the warpgroups are left to interleave on their own, not refused.
  const bool mapped = b.block->pingpong.has_value();
  Role* cons = nullptr;
  for (Role& r : k.roles)
    if (r.kind == Role::Consumer) cons = &r;
  if (cons && k.alternate_tiles) {
    turns_around_main_loops(*cons);
    return;
  }
  if (!cons || cons->warpgroups != 2) {
    if (!mapped) return;
    throw GroveError(at,
                     "instance '" + b.block->name + "' asks for ping-pong consumers, but has " +
                         std::to_string(cons ? cons->warpgroups : 0) + " consumer warpgroup(s)",
                     "ping-pong needs exactly two consumer warpgroups; set pingpong = false");
  }
  // The pipelined loop: the consumers' top-level loop that issues wgmmas, or the one such loop
  // inside it where the overlap pass wrapped the loop and its peeled parts (`scope`).
  Body* scope = &cons->body;
  auto loop = wgmma_loop(*scope);
  if (loop != scope->end() && loop->at_most_once) {
    scope = &loop->body;
    loop = wgmma_loop(*scope);
  }
  std::vector<size_t> fences, commits;
  for (size_t i = 0; loop != scope->end() && i < loop->body.size(); ++i) {
    if (loop->body[i].kind == Op::WgmmaFence) fences.push_back(i);
    if (loop->body[i].kind == Op::WgmmaCommit) commits.push_back(i);
  }
  // The overlapped form (two groups with no wait between): a turn per run of groups, inside the
  // loop and out.
  bool back_to_back = !fences.empty() && commits.size() == 2;
  for (size_t i = fences.empty() ? 0 : fences[0]; back_to_back && i < commits.back(); ++i)
    back_to_back = loop->body[i].kind != Op::WgmmaWait;
  if (!back_to_back && (fences.size() < 2 || fences.size() != commits.size())) {
    if (!mapped) return;
    throw GroveError(at,
                     "instance '" + b.block->name +
                         "' asks for ping-pong consumers, but an iteration of loop '" +
                         (loop == scope->end() ? std::string("?") : loop->var) + "' issues " +
                         std::to_string(fences.size()) + " wgmma group(s)",
                     "ping-pong needs two GEMMs per iteration with CUDA-core work between (as "
                     "attention); set pingpong = false");
  }
  if (back_to_back) {
    turns_around_groups(loop->body);
    turns_around_groups(*scope);
    first_turn(*cons);
    return;
  }
  // Inside the loop the first group ends a turn; every later one starts one, and ends it but for
  // the last, whose turn runs on into the next iteration's first group.
  Body& body = loop->body;
  for (size_t g = fences.size(); g-- > 0;) {
    if (g + 1 < fences.size() || g == 0)
      body.insert(body.begin() + static_cast<long>(commits[g]) + 1,
                  turn(Op::NamedBarrierArrive, "the other warpgroup's turn on the tensor cores"));
    if (g > 0)
      body.insert(body.begin() + static_cast<long>(fences[g]),
                  turn(Op::NamedBarrier, "wait for this warpgroup's turn on the tensor cores"));
  }
  // Around the loop: the first turn before it, the hand-over after it.
  loop = scope->insert(loop, turn(Op::NamedBarrier, "wait for this warpgroup's first turn"));
  scope->insert(loop + 2, turn(Op::NamedBarrierArrive, "the other warpgroup's turn"));
  first_turn(*cons);
}

} // namespace grove::lower
