// Lowering of the element-wise kernel IR ops (Compute: leaf statements; Copy) to loops over the
// register fragment each thread of a consumer warpgroup holds.
//
// A rank-2 statement over [R, C] runs, in every thread, over the elements the WGMMA accumulator
// layout gives it: rows 64*rb + frag_row + 8*rh, columns 8*cb + frag_col + {0, 1} (kir.h). Its
// fragment index in a register tensor [R, C] is rb*(C/2) + cb*4 + rh*2 + e (16-bit tensors pack
// elements 2f and 2f+1 into one u32). A rank-1 statement runs over the thread's rows. Shared
// and global boxes are read and written at the element's (row, column). A row reduction
// (sum[c] or max[c] over a rank-2 operand) reduces the thread's own columns, then the quad's.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "cuda/emit.h"

namespace grove::cuda {

// Where the op runs: a consumer warpgroup (fragment layouts available) or the producer warp(s).
struct RoleCtx {
  bool consumer = true;
  int threads = 128; // threads that run the role instance's body
};

// `preloaded`: reads the printer has loaded ahead (fixed_global_reads), by key, and the names of
// the values.
void emit_compute(CodeWriter& w, const kir::Kernel& k, const kir::Op& op, const RoleCtx& ctx,
                  const std::map<std::string, std::string>* preloaded = nullptr);

// A compute op's reads of a global tensor the kernel only reads, at a fixed element (literal
// subscripts: the block-scaled GEMM's `sw[0]`), as (key, C expression of the load). The printer
// loads them at the top of the loop iteration the op runs in, where their latency hides behind
// the waits and wgmmas before the op; in place they would follow the wgmma wait, whose asm
// statement nvcc does not move loads across.
std::vector<std::pair<std::string, std::string>> fixed_global_reads(const kir::Kernel& k,
                                                                    const kir::Op& op);
void emit_copy(CodeWriter& w, const kir::Kernel& k, const kir::Op& op, const RoleCtx& ctx);

// C names of the per-thread fragment position, declared by the kernel printer in consumer roles.
inline constexpr const char* kTid = "tid";          // thread index in the warpgroup, 0..127
inline constexpr const char* kFragRow = "frag_row"; // 16 * (tid / 32) + (tid % 32) / 4
inline constexpr const char* kFragCol = "frag_col"; // 2 * (tid % 4)

} // namespace grove::cuda
