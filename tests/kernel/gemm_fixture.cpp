#include "gemm_fixture.h"

namespace grove::test {

using namespace kir;

std::unique_ptr<GemmFixture> make_gemm_fixture(int BM, int BN, int BK, int stages) {
  auto f = std::make_unique<GemmFixture>();
  Diagnostics d(f->sm);
  parse_source(f->sm.add("fixture.grove",
                         "task z(acc: write f32[R, C]);\nvariant z.v leaf { acc[i, j] = 0.0; }\n"),
               f->sm, d, f->leaf);
  Kernel& k = f->kernel;
  const int wgs = BM / 64;
  k.name = "gemm_fixture";
  k.source = "tests/kernel/gemm_fixture.cpp";
  k.size_vars = {"M", "N", "K"};
  k.tensors = {{"C", ElemType::F16, {var("M"), var("N")}, false, true},
               {"A", ElemType::F16, {var("M"), var("K")}, true, false},
               {"B", ElemType::F16, {var("K"), var("N")}, true, false}};
  k.grid_vars = {"bi", "bj"};
  k.grid = {bin(IExpr::CeilDiv, var("M"), cst(BM)), bin(IExpr::CeilDiv, var("N"), cst(BN))};
  // Each in the layout the lowering picks (A's rows are BK f16 elements).
  SmemBuffer As{"A_s", ElemType::F16, {BM, BK}, stages, Swizzle::None, 0};
  As.swizzle = widest_swizzle(As);
  SmemBuffer Bs{"B_s", ElemType::F16, {BK, BN}, stages, Swizzle::None, As.slot_bytes() * stages};
  Bs.swizzle = widest_swizzle(Bs);
  k.smem = {As, Bs};
  k.smem_bytes = Bs.offset + Bs.slot_bytes() * stages;
  k.regs = {{"acc", ElemType::F32, {64, BN}}};
  k.barriers = {{"full", stages, 1}, {"empty", stages, wgs}};

  IExprP kt = var("kt");
  IExprP slot = bin(IExpr::Mod, kt, cst(stages));
  IExprP parity = bin(IExpr::Mod, bin(IExpr::Div, kt, cst(stages)), cst(2));
  IExprP k_tiles = bin(IExpr::CeilDiv, var("K"), cst(BK));
  auto smem_ref = [&](int buf, std::vector<IExprP> origin, std::vector<int64_t> shape) {
    Ref r;
    r.kind = Ref::Smem;
    r.index = buf;
    r.slot = slot;
    r.origin = std::move(origin);
    r.shape = std::move(shape);
    r.swizzle = k.smem[static_cast<size_t>(buf)].swizzle;
    return r;
  };
  auto global_ref = [](int t, std::vector<IExprP> origin, std::vector<int64_t> shape) {
    Ref r;
    r.kind = Ref::Global;
    r.index = t;
    r.origin = std::move(origin);
    r.shape = std::move(shape);
    return r;
  };
  Ref acc;
  acc.kind = Ref::Reg;
  acc.index = 0;
  acc.origin = {cst(0), cst(0)};
  acc.shape = {64, BN};

  auto op = [](Op::Kind kind) {
    Op o;
    o.kind = kind;
    o.note = "gemm fixture";
    return o;
  };

  Role prod;
  prod.kind = Role::Producer;
  prod.name = "producer";
  prod.warps = 1;
  prod.max_regs = 40;
  {
    Op loop = op(Op::Loop);
    loop.var = "kt";
    loop.extent = k_tiles;
    Op wait = op(Op::MbarWait);
    wait.barrier = 1;
    wait.slot = slot;
    wait.phase = bin(IExpr::Mod, add(bin(IExpr::Div, kt, cst(stages)), cst(1)), cst(2));
    Op expect = op(Op::MbarArriveExpectTx);
    expect.barrier = 0;
    expect.slot = slot;
    expect.bytes = As.slot_bytes() + Bs.slot_bytes();
    Op la = op(Op::TmaLoad);
    la.dst = smem_ref(0, {cst(0), cst(0)}, {BM, BK});
    la.src = global_ref(1, {mul(var("bi"), cst(BM)), mul(kt, cst(BK))}, {BM, BK});
    la.barrier = 0;
    la.slot = slot;
    Op lb = op(Op::TmaLoad);
    lb.dst = smem_ref(1, {cst(0), cst(0)}, {BK, BN});
    lb.src = global_ref(2, {mul(kt, cst(BK)), mul(var("bj"), cst(BN))}, {BK, BN});
    lb.barrier = 0;
    lb.slot = slot;
    loop.body = {wait, expect, la, lb};
    Op regs = op(Op::SetMaxNReg);
    regs.count = 40;
    prod.body = {regs, loop};
  }

  Role cons;
  cons.kind = Role::Consumer;
  cons.name = "consumer";
  cons.warpgroups = wgs;
  cons.warps = 4;
  cons.max_regs = 232;
  {
    Op regs = op(Op::SetMaxNReg);
    regs.count = 232;
    Op zero = op(Op::Compute);
    zero.stmts = {f->leaf.variants[0].body[0].get()};
    zero.tensors["acc"] = acc;
    Op loop = op(Op::Loop);
    loop.var = "kt";
    loop.extent = k_tiles;
    Op wait = op(Op::MbarWait);
    wait.barrier = 0;
    wait.slot = slot;
    wait.phase = parity;
    Op fence = op(Op::WgmmaFence);
    Op mma = op(Op::Wgmma);
    mma.dst = acc;
    mma.src = smem_ref(0, {mul(var("wg"), cst(64)), cst(0)}, {64, BK});
    mma.src2 = smem_ref(1, {cst(0), cst(0)}, {BK, BN});
    Op commit = op(Op::WgmmaCommit);
    Op wwait = op(Op::WgmmaWait);
    wwait.count = 0;
    Op release = op(Op::MbarArrive);
    release.barrier = 1;
    release.slot = slot;
    loop.body = {wait, fence, mma, commit, wwait, release};
    Op store = op(Op::Copy);
    store.dst = global_ref(
        0, {add(mul(var("bi"), cst(BM)), mul(var("wg"), cst(64))), mul(var("bj"), cst(BN))},
        {64, BN});
    store.src = acc;
    cons.body = {regs, zero, loop, store};
  }
  k.roles = {prod, cons};
  return f;
}

} // namespace grove::test
