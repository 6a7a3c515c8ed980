// A hand-built attention step in kernel IR: O = softmax(Q·K^T · scale) · V with the online softmax,
// one block per BQ = 64 * wgs query rows. It exercises what the GEMM fixture does not: wgmma with
// B transposed (S = Q·K^T), A from registers (acc += P·V), compute on registers (row max and sum,
// exp2) and on shared memory (the output tile), fence.proxy.async and a TMA store.
//
//   producer: TMA Q -> Q_s (qbar); for j: wait empty[s]; expect_tx full[s]; TMA K, V -> slot s
//   consumer: m, l, acc = -inf, 0, 0; wait qbar; for j: wait full[s]; S = 0; fence;
//             wgmma S += Q_s · K_s^T; commit; wait 0; softmax step (P in f16 registers); fence;
//             wgmma acc += P · V_s; commit; wait 0; arrive empty[s]
//             O_s = acc / l; fence.proxy.async; TMA store O_s -> O; commit; wait 0
#pragma once
#include <memory>

#include "frontend/parser.h"
#include "kernel/kir.h"

namespace grove::test {

struct AttentionFixture {
  SourceManager sm;
  Program leaf; // holds the statements Compute ops point to
  kir::Kernel kernel;
};

// Sizes S (queries) and T (keys) are runtime; D is fixed. Float parameter "scale" is the softmax
// scale times log2(e).
std::unique_ptr<AttentionFixture> make_attention_fixture(int wgs = 2, int D = 64, int BKV = 64,
                                                         int stages = 2);

} // namespace grove::test
