// The examples, mappings and sizes that the emulator (emulation_test.cpp) and the CPU run of the
// printed CUDA (tests/cuda/cpu_device_test.cpp) both check: tile multiples and ragged edges,
// persistent grids, clusters, ping-pong, every element type, with variants of a mapping where an
// example's own does not reach a feature.
#pragma once
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "support/numeric.h"
#include "taskir/interpreter.h"

namespace grove::test {

struct Case {
  std::string file, mapping;
  std::map<std::string, int64_t> sizes;
  std::map<std::string, double> scalars;
  // A variant of the example: `from` replaced by `to` in its text, named `variant`.
  std::string from, to, variant;
  TypeArgs types = {}; // type parameters set (`--type T=bf16`)
};

inline std::string case_name(const Case& c) {
  std::string n = c.file.substr(0, c.file.find('.')) + "_" + c.mapping;
  if (!c.variant.empty()) n += "_" + c.variant;
  for (auto& [k, v] : c.sizes) n += "_" + k + std::to_string(v);
  return n;
}

// Test names print the case, not its bytes.
inline void PrintTo(const Case& c, std::ostream* os) {
  *os << case_name(c);
}

// gemm.grove's h100 tiles and K step.
inline const std::string kGemmTiles = R"(BM = 128, BN = 256;
  }
  instance block = gemm_tile.kloop @ BLOCK {
    tunable BK = 64,)";
// The tile shape of gemm.grove's h100_pingpong mapping, through the warpgroup's rows.
inline const std::string kPingPongTiles = R"(mapping h100_pingpong extends h100 {
  instance host {
    tunable BM = 64;
  }
  instance block {
    pipeline = 4;
    pingpong = true;
  }
})";

inline std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

inline std::vector<Case> example_cases() {
  return {
      {"gemm.grove", "h100", {{"M", 256}, {"N", 256}, {"K", 192}}, {}},
      {"gemm.grove", "h100", {{"M", 130}, {"N", 200}, {"K", 72}}, {}},
      // 5 x 3 tiles: the persistent blocks (1 to 4, by seed) each run several.
      {"gemm.grove", "h100", {{"M", 520}, {"N", 600}, {"K", 64}}, {}},
      // A deeper ring: C staging reuses ring space, and the producer waits for each tile's end.
      {"gemm.grove",
       "h100",
       {{"M", 520}, {"N", 300}, {"K", 128}},
       {},
       "pipeline = 3;\n    persistent = true;\n    cluster = (2, 1);",
       "pipeline = 4;\n    persistent = true;",
       "pipeline4"},
      // Clusters without a persistent grid: one tile group per cluster; 3 tile rows, so the
      // last cluster's second block computes a tile past the end (on zeros, stores dropped).
      {"gemm.grove",
       "h100",
       {{"M", 300}, {"N", 264}, {"K", 128}},
       {},
       "persistent = true;",
       "persistent = false;",
       "clusters_not_persistent"},
      // Clusters of 2 x 2 over 3 x 2 tiles: A multicast along tile rows, B along tile columns;
      // the second group's blocks past the end compute on zeros. Persistent and not.
      {"gemm.grove",
       "h100",
       {{"M", 300}, {"N", 300}, {"K", 128}},
       {},
       "cluster = (2, 1);",
       "cluster = (2, 2);",
       "clusters_2x2"},
      {"gemm.grove",
       "h100",
       {{"M", 300}, {"N", 300}, {"K", 128}},
       {},
       "persistent = true;\n    cluster = (2, 1);",
       "persistent = false;\n    cluster = (2, 2);",
       "clusters_2x2_not_persistent"},
      // Bands of 2 tile rows over 5 x 3 tiles (the last band of one row), with clusters of 2.
      {"gemm.grove",
       "h100",
       {{"M", 520}, {"N", 600}, {"K", 64}},
       {},
       "persistent = true;",
       "persistent = true;\n    tile_band = 2;",
       "tile_band_2"},
      // A staged by each warpgroup with ordinary stores (no TMA): a proxy fence before the wgmma
      // reads it, and no wgmma group left in flight over it while the next iteration rewrites it.
      {"gemm.grove",
       "h100",
       {{"M", 300}, {"N", 264}, {"K", 200}},
       {},
       "    memory acc = NONE, A = SHARED, B = SHARED;",
       "    memory acc = NONE, B = SHARED;",
       "A_by_warpgroups"},
      // The epilogue in 64-column pieces, two staging slots in turn, four stages; ragged (the
      // second tile column's last pieces lie wholly outside C).
      {"gemm.grove", "h100_epilogue_pieces", {{"M", 300}, {"N", 264}, {"K", 200}}, {}},
      // Ping-pong over tiles: 5 x 2 tiles, two warpgroups taking turns at a block's tiles.
      {"gemm.grove", "h100_pingpong", {{"M", 300}, {"N", 300}, {"K", 200}}, {}},
      // ... with 128x128 tiles: each warpgroup's wgmmas cover 128 rows (two of 64).
      {"gemm.grove",
       "h100_pingpong",
       {{"M", 300}, {"N", 300}, {"K", 200}},
       {},
       kPingPongTiles,
       replace_all(replace_all(kPingPongTiles, "BM = 64;", "BM = 128, BN = 128;"),
                   "pingpong = true;",
                   "pingpong = true;\n    tunable WM = 128;\n  }\n  instance step {\n    "
                   "tunable WM = 128;"),
       "128x128"},
      {"gemm.grove",
       "h100",
       {{"M", 128}, {"N", 256}, {"K", 128}},
       {},
       "",
       "",
       "bf16",
       {{"T", ElemType::BF16}}},
      {"gemm.grove",
       "h100_pingpong",
       {{"M", 136}, {"N", 264}, {"K", 72}},
       {},
       "",
       "",
       "bf16",
       {{"T", ElemType::BF16}}},
      // Narrower swizzles: K steps of 32 and 16 f16 elements (64- and 32-byte rows, TMA and wgmma
      // in the 64- and 32-byte swizzle), N tiles as narrow, so B (N-major, multicast in halves
      // of 16 and 8 rows) and C's staging tile are in them too.
      {"gemm.grove",
       "h100",
       {{"M", 300}, {"N", 200}, {"K", 200}},
       {},
       kGemmTiles,
       replace_all(replace_all(kGemmTiles, "BN = 256", "BN = 32"), "BK = 64", "BK = 32"),
       "swizzle64"},
      {"gemm.grove",
       "h100",
       {{"M", 200}, {"N", 72}, {"K", 72}},
       {},
       kGemmTiles,
       replace_all(replace_all(kGemmTiles, "BN = 256", "BN = 16"), "BK = 64", "BK = 16"),
       "swizzle32"},
      // W K-major ([N, K]): each block of the cluster multicasts half of W's rows.
      {"linear.grove", "h100", {{"M", 200}, {"N", 300}, {"K", 72}}, {}},
      {"linear.grove", "h100_pingpong", {{"M", 136}, {"N", 264}, {"K", 72}}, {}},
      // ... with K steps of 32: W K-major in the 64-byte swizzle.
      {"linear.grove",
       "h100",
       {{"M", 200}, {"N", 300}, {"K", 200}},
       {},
       "tunable BK = 64, WM = 64;",
       "tunable BK = 32, WM = 64;",
       "swizzle64"},
      // e4m3 operands: m64nNk32 instructions over 128-byte rows of 128 elements.
      {"gemm_fp8.grove", "h100", {{"M", 200}, {"N", 300}, {"K", 136}}, {}},
      // ... over 32-byte rows (BK = 32: one k32 step a row, the 32-byte swizzle).
      {"gemm_fp8.grove",
       "h100",
       {{"M", 136}, {"N", 264}, {"K", 200}},
       {},
       "tunable BK = 128, WM = 64;",
       "tunable BK = 32, WM = 64;",
       "swizzle32"},
      {"gemm_fp8.grove",
       "h100_pingpong",
       {{"M", 136}, {"N", 264}, {"K", 136}},
       {},
       "",
       "",
       "e5m2",
       {{"TA", ElemType::E5M2}, {"TW", ElemType::E5M2}}},
      // A loaded from shared memory into registers: 8-bit values into m64nNk32's A layout.
      {"gemm_fp8.grove",
       "h100",
       {{"M", 200}, {"N", 300}, {"K", 136}},
       {},
       "acc = REGISTER, A = SHARED",
       "acc = REGISTER, A = REGISTER",
       "a_in_registers"},
      {"gemm_fp8.grove",
       "h100",
       {{"M", 136}, {"N", 264}, {"K", 72}},
       {},
       "acc = REGISTER, A = SHARED",
       "acc = REGISTER, A = REGISTER",
       "a_in_registers_e5m2",
       {{"TA", ElemType::E5M2}}},
      // Row and column scales staged in shared memory for the epilogue.
      {"gemm_fp8_rowwise.grove", "rowwise_h100", {{"M", 136}, {"N", 264}, {"K", 136}}, {}},
      // Block scales: a partial sum a K step, scaled into the accumulator; W's scale from global
      // memory, A's staged with the operands.
      {"gemm_fp8_blockwise.grove",
       "blockwise_h100",
       {{"M", 136}, {"N", 264}, {"K", 300}, {"KB", 3}, {"NB", 3}},
       {}},
      // A memory-bound kernel: row reductions on the CUDA cores, TMA stores of Q and its scales.
      {"quantize_fp8_blockwise.grove", "h100", {{"M", 200}, {"K", 700}, {"KB", 6}}, {}},
      {"batched_gemm.grove", "h100", {{"L", 2}, {"M", 100}, {"N", 256}, {"K", 128}}, {}},
      {"dual_gemm.grove", "h100", {{"M", 128}, {"N", 200}, {"K", 128}}, {}},
      {"gemm_bias_gelu.grove", "h100", {{"M", 128}, {"N", 300}, {"K", 64}}, {}},
      // Ping-pong over tiles with an epilogue that stages bias per warpgroup.
      {"gemm_bias_gelu.grove",
       "h100",
       {{"M", 200}, {"N", 300}, {"K", 64}},
       {},
       "BM = 128, BN = 256;\n  }\n  instance block = gemm_tile.kloop @ BLOCK {\n    tunable BK = "
       "64, "
       "WM = 64;\n    memory acc = NONE;\n    warp_specialize = true;\n    pipeline = 3;",
       "BM = 64, BN = 256;\n  }\n  instance block = gemm_tile.kloop @ BLOCK {\n    tunable BK = "
       "64, "
       "WM = 64;\n    memory acc = NONE;\n    warp_specialize = true;\n    pipeline = 3;\n    "
       "pingpong = true;",
       "pingpong"},
      {"gemm_rowsum.grove", "h100", {{"M", 200}, {"N", 256}, {"K", 136}}, {}},
      // D = alpha A·B + beta C: C's tile loaded once a tile, after the main loop's operands.
      {"gemm_residual.grove",
       "h100",
       {{"M", 300}, {"N", 264}, {"K", 200}},
       {{"alpha", 0.5}, {"beta", 2.0}}},
      {"gemm_residual.grove",
       "h100_128x128",
       {{"M", 520}, {"N", 300}, {"K", 136}},
       {{"alpha", 1.0}, {"beta", 1.0}}},
      // ... with a third stage and no cluster: D's staging tile over the rings, C's tile (the
      // producer loads it) in its own space.
      {"gemm_residual.grove",
       "h100",
       {{"M", 520}, {"N", 300}, {"K", 136}},
       {{"alpha", 1.0}, {"beta", -1.0}},
       "pipeline = 2;\n    persistent = true;\n    cluster = (2, 1);",
       "pipeline = 3;\n    persistent = true;",
       "pipeline3"},
      // Split-K in chunks of 128 here (three, the last ragged), so the emulator stays quick.
      {"gemm_splitk.grove",
       "h100_splitk",
       {{"M", 200}, {"N", 136}, {"K", 300}},
       {},
       "KS = 4096;",
       "KS = 128;",
       "chunks_of_128"},
      {"attention.grove", "h100_d128", {{"BH", 1}, {"S", 256}, {"D", 128}}, {{"sm_scale", 0.088}}},
      // FP8: P from registers (quad shuffles into the 8-bit A layout) or, as a variant, written to
      // shared memory by the softmax and read by the P·V wgmma (a proxy fence); in order at D 256.
      {"attention_fp8.grove",
       "fp8_d128",
       {{"BH", 2}, {"S", 200}, {"D", 128}},
       {{"sm_scale", 0.088}, {"v_scale", 0.5}}},
      {"attention_fp8.grove",
       "fp8_d128",
       {{"BH", 1}, {"S", 300}, {"D", 128}},
       {{"sm_scale", 0.088}, {"v_scale", 1.0}},
       "P = REGISTER;",
       "P = SHARED;",
       "p_shared"},
      {"attention_fp8.grove",
       "fp8_d256",
       {{"BH", 1}, {"S", 200}, {"D", 256}},
       {{"sm_scale", 0.0625}, {"v_scale", 1.0}}},
      // ... with 64 keys a step: Vt's 64-byte rows in the 64-byte swizzle, S small enough for
      // the overlap (an A/B candidate: no spills).
      {"attention_fp8.grove",
       "fp8_d256",
       {{"BH", 1}, {"S", 300}, {"D", 256}},
       {{"sm_scale", 0.0625}, {"v_scale", 0.5}},
       "    overlap = false;",
       "    tunable BK = 64;",
       "bk64_overlap"},
      {"attention_fp8_causal.grove",
       "fp8_d128_causal",
       {{"BH", 1}, {"S", 300}, {"D", 128}},
       {{"sm_scale", 0.088}, {"v_scale", 1.0}}},
      {"attention.grove", "h100_d64", {{"BH", 1}, {"S", 200}, {"D", 64}}, {{"sm_scale", 0.125}}},
      {"attention_causal.grove",
       "h100_d128_causal",
       {{"BH", 1}, {"S", 256}, {"D", 128}},
       {{"sm_scale", 0.088}}},
      {"attention_causal.grove",
       "h100_d64_causal",
       {{"BH", 1}, {"S", 190}, {"D", 64}},
       {{"sm_scale", 0.125}}},
      // Persistent: 6 query tiles of 1 to 6 key tiles over a few blocks (the emulator's 1 to 4,
      // the stand-in's 4), a ragged last one.
      {"attention_causal.grove",
       "h100_d128_causal_persistent",
       {{"BH", 1}, {"S", 700}, {"D", 128}},
       {{"sm_scale", 0.088}}},
      // Head dimension 256 (64- and, causal, 80-row K/V tiles), a ragged last one.
      {"attention.grove", "h100_d256", {{"BH", 1}, {"S", 200}, {"D", 256}}, {{"sm_scale", 0.0625}}},
      {"attention_causal.grove",
       "h100_d256_causal",
       {{"BH", 1}, {"S", 200}, {"D", 256}},
       {{"sm_scale", 0.0625}}},
      // Grouped-query attention: G query heads per K/V head, a ragged last tile.
      {"attention_gqa.grove",
       "gqa_d128",
       {{"BKV", 1}, {"G", 2}, {"S", 200}, {"D", 128}},
       {{"sm_scale", 0.088}}},
      {"attention_gqa_causal.grove",
       "gqa_d64_causal",
       {{"BKV", 1}, {"G", 2}, {"S", 190}, {"D", 64}},
       {{"sm_scale", 0.125}}},
      // Prefill with a KV cache: the key range of a query tile starts past the cache; with
      // SQ > SK the first query tile sees no key (a pipelined loop of no iteration).
      {"attention_prefill.grove",
       "prefill_d128",
       {{"BH", 1}, {"SQ", 130}, {"SK", 300}, {"D", 128}},
       {{"sm_scale", 0.088}}},
      {"attention_prefill.grove",
       "prefill_d256",
       {{"BH", 1}, {"SQ", 300}, {"SK", 100}, {"D", 256}},
       {{"sm_scale", 0.0625}}},
      // Decoding: two kernels, the second reading what the first wrote into temporaries.
      {"attention_decode.grove",
       "decode_d128",
       {{"BH", 1}, {"SQ", 3}, {"SK", 1100}, {"D", 128}},
       {{"sm_scale", 0.088}}},
      {"attention_decode.grove",
       "decode_d256",
       {{"BH", 1}, {"SQ", 1}, {"SK", 600}, {"D", 256}},
       {{"sm_scale", 0.0625}}},
      {"attention_gqa_prefill.grove",
       "gqa_prefill_d64",
       {{"BKV", 1}, {"G", 2}, {"SQ", 130}, {"SK", 200}, {"D", 64}},
       {{"sm_scale", 0.125}}},
      // bf16 (`--type T=bf16`): P packed to bf16 in registers for the P·V wgmma.
      {"attention.grove",
       "h100_d128",
       {{"BH", 1}, {"S", 200}, {"D", 128}},
       {{"sm_scale", 0.088}},
       "",
       "",
       "bf16",
       {{"T", ElemType::BF16}}},
      {"attention_causal.grove",
       "h100_d64_causal",
       {{"BH", 1}, {"S", 190}, {"D", 64}},
       {{"sm_scale", 0.125}},
       "",
       "",
       "bf16",
       {{"T", ElemType::BF16}}},
  };
}

} // namespace grove::test
