// A hand-built warp-specialized GEMM in kernel IR (C = A · B, f16, fp32 accumulation): the shape
// the lowering is meant to produce, used to test the emulator and the CUDA back end on their own.
//
//   producer (1 warp):  for kt: wait empty[s]; expect_tx full[s]; TMA A, B tiles -> slot s
//   consumers (2 wgs):  acc = 0; for kt: wait full[s]; wgmma acc += A_s · B_s; wait; arrive
//   empty[s]
//                       then store acc rows [64*wg, +64) of the block's C tile to global
#pragma once
#include <memory>

#include "frontend/parser.h"
#include "kernel/kir.h"

namespace grove::test {

struct GemmFixture {
  SourceManager sm;
  Program leaf; // holds the statements Compute ops point to
  kir::Kernel kernel;
};

std::unique_ptr<GemmFixture> make_gemm_fixture(int BM = 128, int BN = 256, int BK = 64,
                                               int stages = 4);

} // namespace grove::test
