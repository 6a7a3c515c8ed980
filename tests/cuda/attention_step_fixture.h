// A hand-built attention kernel in kernel IR that exercises the CUDA back end's Compute lowering:
// per K/V tile, S = Q·K^T (Wgmma, B K-major via trans_b), a row max and P = exp2(S - m) in f16
// registers, the online-softmax rescale, then acc += P·V with A from registers (Wgmma "rs").
//
//   producer (1 warp):  TMA Q once; for j: wait kv_empty[s]; expect_tx kv_full[s]; TMA K, V -> s
//   consumers (2 wgs):  m = -inf, l = 0, acc = 0; wait q_full; for j: wait kv_full[s];
//                       S = 0; S += Q_wg·K^T; online softmax on S -> P, m, l, acc;
//                       acc += P·V; arrive kv_empty[s]; then O rows = acc / l
//
// Tensors are [BH, S, D] (3-D TMA, leading dimension fixed per block); D is 64 or 128.
#pragma once
#include <memory>

#include "frontend/parser.h"
#include "kernel/kir.h"

namespace grove::test {

struct AttentionFixture {
  SourceManager sm;
  Program leaf; // holds the statements the Compute ops point to
  kir::Kernel kernel;
};

std::unique_ptr<AttentionFixture> make_attention_step_fixture(int D = 64, int stages = 2);

} // namespace grove::test
