#include "attention_fixture.h"

#include <stdexcept>

namespace grove::test {

using namespace kir;

namespace {

const char* kLeaves = R"(task init(m: write f32[R], l: write f32[R], acc: write f32[R, D]);
variant init.v leaf { m[r] = -inf; l[r] = 0.0; acc[r, d] = 0.0; }
task zero(Sc: write f32[R, C]);
variant zero.v leaf { Sc[r, c] = 0.0; }
task soft(Sc: readwrite f32[R, C], P: write f16[R, C], m: readwrite f32[R], l: readwrite f32[R],
          mnew: readwrite f32[R], alpha: readwrite f32[R], acc: readwrite f32[R, D], k0: int,
          T: int, scale: float);
variant soft.v leaf {
  Sc[r, c] = select(k0 + c < T, Sc[r, c] * scale, -inf);
  mnew[r] = max(m[r], max[c](Sc[r, c]));
  alpha[r] = exp2(m[r] - mnew[r]);
  P[r, c] = exp2(Sc[r, c] - mnew[r]);
  l[r] = l[r] * alpha[r] + sum[c](P[r, c]);
  acc[r, d] = acc[r, d] * alpha[r];
  m[r] = mnew[r];
}
task fin(Os: write f16[R, D], l: read f32[R], acc: read f32[R, D]);
variant fin.v leaf { Os[r, d] = acc[r, d] / l[r]; }
)";

Op op(Op::Kind kind) {
  Op o;
  o.kind = kind;
  o.note = "attention fixture";
  return o;
}

Ref ref(Ref::Kind kind, int index, std::vector<IExprP> origin, std::vector<int64_t> shape,
        IExprP slot = nullptr, Swizzle sw = Swizzle::None) {
  Ref r;
  r.kind = kind;
  r.index = index;
  r.origin = std::move(origin);
  r.shape = std::move(shape);
  r.slot = std::move(slot);
  r.swizzle = sw;
  return r;
}

} // namespace

std::unique_ptr<AttentionFixture> make_attention_fixture(int wgs, int D, int BKV, int stages) {
  auto f = std::make_unique<AttentionFixture>();
  Diagnostics d(f->sm);
  parse_source(f->sm.add("attention_fixture.grove", kLeaves), f->sm, d, f->leaf);
  if (d.has_errors()) throw std::runtime_error(d.format(d.errors()[0]));
  auto stmts = [&](size_t v) {
    std::vector<const Stmt*> s;
    for (const StmtPtr& p : f->leaf.variants.at(v).body) s.push_back(p.get());
    return s;
  };
  Kernel& k = f->kernel;
  const int BQ = 64 * wgs;
  k.name = "attention_fixture";
  k.source = "tests/emulator/attention_fixture.cpp";
  k.size_vars = {"S", "T"};
  k.float_params = {"scale"};
  enum { O, Q, K, V };
  k.tensors = {{"O", ElemType::F16, {var("S"), cst(D)}, false, true},
               {"Q", ElemType::F16, {var("S"), cst(D)}, true, false},
               {"K", ElemType::F16, {var("T"), cst(D)}, true, false},
               {"V", ElemType::F16, {var("T"), cst(D)}, true, false}};
  k.grid_vars = {"bq"};
  k.grid = {bin(IExpr::CeilDiv, var("S"), cst(BQ))};
  enum { Qs, Ks, Vs, Os };
  SmemBuffer qs{"Q_s", ElemType::F16, {BQ, D}, 1, Swizzle::B128, 0};
  SmemBuffer ks{"K_s", ElemType::F16, {BKV, D}, stages, Swizzle::B128, qs.slot_bytes()};
  SmemBuffer vs{"V_s",  ElemType::F16, {BKV, D},
                stages, Swizzle::B128, ks.offset + ks.slot_bytes() * stages};
  SmemBuffer os{"O_s", ElemType::F16, {BQ, D},
                1,     Swizzle::None, vs.offset + vs.slot_bytes() * stages};
  k.smem = {qs, ks, vs, os};
  k.smem_bytes = os.offset + os.slot_bytes();
  enum { Sr, Pr, Acc, Mr, Lr, Mnew, Alpha };
  k.regs = {{"S", ElemType::F32, {64, BKV}}, {"P", ElemType::F16, {64, BKV}},
            {"acc", ElemType::F32, {64, D}}, {"m", ElemType::F32, {64}},
            {"l", ElemType::F32, {64}},      {"mnew", ElemType::F32, {64}},
            {"alpha", ElemType::F32, {64}}};
  enum { QBar, Full, Empty };
  k.barriers = {{"qbar", 1, 1}, {"full", stages, 1}, {"empty", stages, wgs}};

  IExprP j = var("j"), slot = bin(IExpr::Mod, j, cst(stages));
  IExprP round = bin(IExpr::Div, j, cst(stages));
  IExprP tiles = bin(IExpr::CeilDiv, var("T"), cst(BKV));
  IExprP wg_row = mul(var("wg"), cst(64));
  auto reg = [](int i, std::vector<int64_t> shape) {
    std::vector<IExprP> origin(shape.size(), cst(0));
    return ref(Ref::Reg, i, origin, shape);
  };

  Role prod;
  prod.kind = Role::Producer;
  prod.name = "producer";
  prod.warps = 1;
  {
    Op qx = op(Op::MbarArriveExpectTx);
    qx.barrier = QBar;
    qx.slot = cst(0);
    qx.bytes = qs.slot_bytes();
    Op ql = op(Op::TmaLoad);
    ql.dst = ref(Ref::Smem, Qs, {cst(0), cst(0)}, {BQ, D}, cst(0), Swizzle::B128);
    ql.src = ref(Ref::Global, Q, {mul(var("bq"), cst(BQ)), cst(0)}, {BQ, D});
    ql.barrier = QBar;
    ql.slot = cst(0);
    Op loop = op(Op::Loop);
    loop.var = "j";
    loop.extent = tiles;
    Op wait = op(Op::MbarWait);
    wait.barrier = Empty;
    wait.slot = slot;
    wait.phase = bin(IExpr::Mod, add(round, cst(1)), cst(2));
    Op x = op(Op::MbarArriveExpectTx);
    x.barrier = Full;
    x.slot = slot;
    x.bytes = ks.slot_bytes() + vs.slot_bytes();
    Op lk = op(Op::TmaLoad);
    lk.dst = ref(Ref::Smem, Ks, {cst(0), cst(0)}, {BKV, D}, slot, Swizzle::B128);
    lk.src = ref(Ref::Global, K, {mul(j, cst(BKV)), cst(0)}, {BKV, D});
    lk.barrier = Full;
    lk.slot = slot;
    Op lv = lk;
    lv.dst.index = Vs;
    lv.src.index = V;
    loop.body = {wait, x, lk, lv};
    prod.body = {qx, ql, loop};
  }

  Role cons;
  cons.kind = Role::Consumer;
  cons.name = "consumer";
  cons.warpgroups = wgs;
  {
    Op init = op(Op::Compute);
    init.stmts = stmts(0);
    init.tensors = {{"m", reg(Mr, {64})}, {"l", reg(Lr, {64})}, {"acc", reg(Acc, {64, D})}};
    Op qwait = op(Op::MbarWait);
    qwait.barrier = QBar;
    qwait.slot = cst(0);
    qwait.phase = cst(0);
    Op loop = op(Op::Loop);
    loop.var = "j";
    loop.extent = tiles;
    Op wait = op(Op::MbarWait);
    wait.barrier = Full;
    wait.slot = slot;
    wait.phase = bin(IExpr::Mod, round, cst(2));
    Op zero = op(Op::Compute);
    zero.stmts = stmts(1);
    zero.tensors = {{"Sc", reg(Sr, {64, BKV})}};
    Op fence = op(Op::WgmmaFence);
    Op qk = op(Op::Wgmma);
    qk.dst = reg(Sr, {64, BKV});
    qk.src = ref(Ref::Smem, Qs, {wg_row, cst(0)}, {64, D}, cst(0), Swizzle::B128);
    qk.src2 = ref(Ref::Smem, Ks, {cst(0), cst(0)}, {BKV, D}, slot, Swizzle::B128);
    qk.trans_b = true;
    Op commit = op(Op::WgmmaCommit);
    Op wwait = op(Op::WgmmaWait);
    wwait.count = 0;
    Op soft = op(Op::Compute);
    soft.stmts = stmts(2);
    soft.tensors = {{"Sc", reg(Sr, {64, BKV})}, {"P", reg(Pr, {64, BKV})},
                    {"m", reg(Mr, {64})},       {"l", reg(Lr, {64})},
                    {"mnew", reg(Mnew, {64})},  {"alpha", reg(Alpha, {64})},
                    {"acc", reg(Acc, {64, D})}};
    soft.scalars["k0"].int_value = mul(j, cst(BKV));
    soft.scalars["T"].int_value = var("T");
    soft.scalars["scale"].param = "scale";
    Op pv = op(Op::Wgmma);
    pv.dst = reg(Acc, {64, D});
    pv.src = reg(Pr, {64, BKV});
    pv.src2 = ref(Ref::Smem, Vs, {cst(0), cst(0)}, {BKV, D}, slot, Swizzle::B128);
    Op release = op(Op::MbarArrive);
    release.barrier = Empty;
    release.slot = slot;
    loop.body = {wait, zero, fence, qk, commit, wwait, soft, fence, pv, commit, wwait, release};
    Op fin = op(Op::Compute);
    fin.stmts = stmts(3);
    Ref out = ref(Ref::Smem, Os, {wg_row, cst(0)}, {64, D}, cst(0));
    fin.tensors = {{"Os", out}, {"l", reg(Lr, {64})}, {"acc", reg(Acc, {64, D})}};
    Op pfence = op(Op::FenceProxyAsync);
    Op store = op(Op::TmaStore);
    store.src = out;
    store.dst = ref(Ref::Global, O, {add(mul(var("bq"), cst(BQ)), wg_row), cst(0)}, {64, D});
    Op scommit = op(Op::TmaStoreCommit);
    Op swait = op(Op::TmaStoreWait);
    swait.count = 0;
    cons.body = {init, qwait, loop, fin, pfence, store, scommit, swait};
  }
  k.roles = {prod, cons};
  return f;
}

} // namespace grove::test
