#include "attention_step_fixture.h"

#include <stdexcept>

namespace grove::test {

using namespace kir;

namespace {

const char* kLeaves = R"(
task attn_init(m: write f32[R], l: write f32[R], acc: write f32[R, D]);
variant attn_init.fill leaf {
  m[r] = -inf;
  l[r] = 0.0;
  acc[r, d] = 0.0;
}
task attn_zero(Sc: write f32[R, C]);
variant attn_zero.fill leaf { Sc[r, c] = 0.0; }
task attn_softmax(m: readwrite f32[R], l: readwrite f32[R], acc: readwrite f32[R, D],
                  Sc: readwrite f32[R, C], P: write f16[R, C], mnew: write f32[R],
                  alpha: write f32[R], sm_scale: float, k0: int, SK: int);
variant attn_softmax.online leaf {
  Sc[r, c] = select(k0 + c < SK, Sc[r, c] * (sm_scale * 1.4426950408889634), -inf);
  mnew[r] = max(m[r], max[c](Sc[r, c]));
  alpha[r] = exp2(m[r] - mnew[r]);
  P[r, c] = exp2(Sc[r, c] - mnew[r]);
  l[r] = l[r] * alpha[r] + sum[c](P[r, c]);
  acc[r, d] = acc[r, d] * alpha[r];
  m[r] = mnew[r];
}
task attn_finish(acc: readwrite f32[R, D], l: read f32[R]);
variant attn_finish.normalize leaf { acc[r, d] = acc[r, d] / l[r]; }
)";

std::vector<const Stmt*> statements(const Program& p, const std::string& task) {
  for (const VariantDecl& v : p.variants)
    if (v.task == task) {
      std::vector<const Stmt*> out;
      for (const StmtPtr& s : v.body) out.push_back(s.get());
      return out;
    }
  throw std::logic_error("attention fixture: no leaf for " + task);
}

} // namespace

std::unique_ptr<AttentionFixture> make_attention_step_fixture(int D, int stages) {
  auto f = std::make_unique<AttentionFixture>();
  Diagnostics d(f->sm);
  parse_source(f->sm.add("attention_step_fixture.grove", kLeaves), f->sm, d, f->leaf);
  if (d.has_errors()) throw std::logic_error("attention fixture: leaf statements do not parse");
  const int BQ = 128, BK = 128, wgs = 2;
  Kernel& k = f->kernel;
  k.name = "attention_step_fixture";
  k.source = "tests/cuda/attention_step_fixture.cpp";
  k.size_vars = {"BH", "S"};
  k.float_params = {"sm_scale"};
  std::vector<IExprP> shape = {var("BH"), var("S"), cst(D)};
  k.tensors = {{"O", ElemType::F16, shape, false, true},
               {"Q", ElemType::F16, shape, true, false},
               {"K", ElemType::F16, shape, true, false},
               {"V", ElemType::F16, shape, true, false}};
  k.grid_vars = {"b", "qi"};
  k.grid = {var("BH"), bin(IExpr::CeilDiv, var("S"), cst(BQ))};
  SmemBuffer Qs{"Q_s", ElemType::F16, {BQ, D}, 1, Swizzle::B128, 0};
  SmemBuffer Ks{"K_s", ElemType::F16, {BK, D}, stages, Swizzle::B128, Qs.slot_bytes()};
  SmemBuffer Vs{"V_s",  ElemType::F16, {BK, D},
                stages, Swizzle::B128, Ks.offset + Ks.slot_bytes() * stages};
  k.smem = {Qs, Ks, Vs};
  k.smem_bytes = Vs.offset + Vs.slot_bytes() * stages;
  enum { kS, kP, kAcc, kM, kL, kMnew, kAlpha };
  k.regs = {{"Sc", ElemType::F32, {64, BK}}, {"P", ElemType::F16, {64, BK}},
            {"acc", ElemType::F32, {64, D}}, {"m", ElemType::F32, {64}},
            {"l", ElemType::F32, {64}},      {"mnew", ElemType::F32, {64}},
            {"alpha", ElemType::F32, {64}}};
  enum { kQFull, kKvFull, kKvEmpty };
  k.barriers = {{"q_full", 1, 1}, {"kv_full", stages, 1}, {"kv_empty", stages, wgs}};

  IExprP j = var("j");
  IExprP slot = bin(IExpr::Mod, j, cst(stages));
  IExprP round = bin(IExpr::Div, j, cst(stages));
  IExprP kv_tiles = bin(IExpr::CeilDiv, var("S"), cst(BK));
  auto op = [](Op::Kind kind, const char* note) {
    Op o;
    o.kind = kind;
    o.note = note;
    return o;
  };
  auto smem_ref = [](int buf, IExprP s, std::vector<IExprP> origin, std::vector<int64_t> box) {
    Ref r;
    r.kind = Ref::Smem;
    r.index = buf;
    r.slot = std::move(s);
    r.origin = std::move(origin);
    r.shape = std::move(box);
    r.swizzle = Swizzle::B128;
    return r;
  };
  auto global_ref = [](int t, std::vector<IExprP> origin, std::vector<int64_t> box) {
    Ref r;
    r.kind = Ref::Global;
    r.index = t;
    r.origin = std::move(origin);
    r.shape = std::move(box);
    return r;
  };
  auto reg = [&](int i) {
    Ref r;
    r.kind = Ref::Reg;
    r.index = i;
    const RegTensor& t = k.regs[static_cast<size_t>(i)];
    r.origin.assign(t.shape.size(), cst(0));
    r.shape = t.shape;
    return r;
  };

  Role prod;
  prod.kind = Role::Producer;
  prod.name = "producer";
  prod.warps = 1;
  prod.max_regs = 40;
  {
    Op regs = op(Op::SetMaxNReg, "producer registers");
    regs.count = 40;
    Op qx = op(Op::MbarArriveExpectTx, "Q tile");
    qx.barrier = kQFull;
    qx.slot = cst(0);
    qx.bytes = Qs.slot_bytes();
    Op ql = op(Op::TmaLoad, "Q tile");
    ql.dst = smem_ref(0, cst(0), {cst(0), cst(0)}, {BQ, D});
    ql.src = global_ref(1, {var("b"), mul(var("qi"), cst(BQ)), cst(0)}, {BQ, D});
    ql.barrier = kQFull;
    ql.slot = cst(0);
    Op loop = op(Op::Loop, "K/V tiles");
    loop.var = "j";
    loop.extent = kv_tiles;
    Op wait = op(Op::MbarWait, "slot free");
    wait.barrier = kKvEmpty;
    wait.slot = slot;
    wait.phase = bin(IExpr::Mod, add(round, cst(1)), cst(2));
    Op expect = op(Op::MbarArriveExpectTx, "K and V tiles");
    expect.barrier = kKvFull;
    expect.slot = slot;
    expect.bytes = Ks.slot_bytes() + Vs.slot_bytes();
    Op lk = op(Op::TmaLoad, "K tile");
    lk.dst = smem_ref(1, slot, {cst(0), cst(0)}, {BK, D});
    lk.src = global_ref(2, {var("b"), mul(j, cst(BK)), cst(0)}, {BK, D});
    lk.barrier = kKvFull;
    lk.slot = slot;
    Op lv = lk;
    lv.note = "V tile";
    lv.dst.index = 2;
    lv.src.index = 3;
    loop.body = {wait, expect, lk, lv};
    prod.body = {regs, qx, ql, loop};
  }

  Role cons;
  cons.kind = Role::Consumer;
  cons.name = "consumer";
  cons.warpgroups = wgs;
  cons.max_regs = 232;
  {
    Op regs = op(Op::SetMaxNReg, "consumer registers");
    regs.count = 232;
    Op init = op(Op::Compute, "attn_init.fill");
    init.stmts = statements(f->leaf, "attn_init");
    init.tensors = {{"m", reg(kM)}, {"l", reg(kL)}, {"acc", reg(kAcc)}};
    Op qwait = op(Op::MbarWait, "Q tile landed");
    qwait.barrier = kQFull;
    qwait.slot = cst(0);
    qwait.phase = cst(0);
    Op loop = op(Op::Loop, "K/V tiles");
    loop.var = "j";
    loop.extent = kv_tiles;
    Op wait = op(Op::MbarWait, "K/V tiles landed");
    wait.barrier = kKvFull;
    wait.slot = slot;
    wait.phase = bin(IExpr::Mod, round, cst(2));
    Op zero = op(Op::Compute, "attn_zero.fill");
    zero.stmts = statements(f->leaf, "attn_zero");
    zero.tensors = {{"Sc", reg(kS)}};
    Op fence = op(Op::WgmmaFence, "");
    Op qk = op(Op::Wgmma, "S = Q K^T");
    qk.dst = reg(kS);
    qk.src = smem_ref(0, cst(0), {mul(var("wg"), cst(64)), cst(0)}, {64, D});
    qk.src2 = smem_ref(1, slot, {cst(0), cst(0)}, {BK, D});
    qk.trans_b = true;
    Op commit = op(Op::WgmmaCommit, "");
    Op wwait = op(Op::WgmmaWait, "");
    wwait.count = 0;
    Op softmax = op(Op::Compute, "attn_softmax.online");
    softmax.stmts = statements(f->leaf, "attn_softmax");
    softmax.tensors = {{"m", reg(kM)}, {"l", reg(kL)},       {"acc", reg(kAcc)},    {"Sc", reg(kS)},
                       {"P", reg(kP)}, {"mnew", reg(kMnew)}, {"alpha", reg(kAlpha)}};
    softmax.scalars["sm_scale"].param = "sm_scale";
    softmax.scalars["k0"].int_value = mul(j, cst(BK));
    softmax.scalars["SK"].int_value = var("S");
    Op pv = op(Op::Wgmma, "acc += P V");
    pv.dst = reg(kAcc);
    pv.src = reg(kP);
    pv.src2 = smem_ref(2, slot, {cst(0), cst(0)}, {BK, D});
    Op release = op(Op::MbarArrive, "slot free");
    release.barrier = kKvEmpty;
    release.slot = slot;
    loop.body = {wait, zero, fence, qk, commit, wwait, softmax, fence, pv, commit, wwait, release};
    Op finish = op(Op::Compute, "attn_finish.normalize");
    finish.stmts = statements(f->leaf, "attn_finish");
    finish.tensors = {{"acc", reg(kAcc)}, {"l", reg(kL)}};
    Op store = op(Op::Copy, "O rows of this warpgroup");
    store.dst = global_ref(
        0, {var("b"), add(mul(var("qi"), cst(BQ)), mul(var("wg"), cst(64))), cst(0)}, {64, D});
    store.src = reg(kAcc);
    cons.body = {regs, init, qwait, loop, finish, store};
  }
  k.roles = {prod, cons};
  return f;
}

} // namespace grove::test
