// The lowering passes, one per file, in the order pipeline.cpp runs them.
#pragma once
#include <map>
#include <set>

#include "lowering/event_ir.h"

namespace grove::lower {

// instantiate.cpp: the task tree, symbolically, into block programs of copy and leaf events.
void instantiate(const Program& prog, const MappingDecl& mapping,
                 const std::map<std::string, int64_t>& sizes, Lowered& out);
// dependences.cpp: each event's preconditions (true, anti and output dependences by privilege).
void analyze_dependences(BlockProgram& b);
// vectorize.cpp: loops over warpgroups become the processor id `wg`; NONE locals become
// per-warpgroup register pieces.
void vectorize(BlockProgram& b);
// copy_elimination.cpp: hoist loop-invariant copies, drop copy pairs that cancel.
void eliminate_copies(BlockProgram& b);
// smem_allocation.cpp: ring depths and offsets under the mapping's bound, aliasing when needed.
void allocate_shared_memory(BlockProgram& b);
// warp_specialization.cpp: which role runs each event, and the mbarrier rings between roles.
struct Ring {
  int loop = -1; // the loop event whose iterations fill it; -1: filled once, up front
  int slots = 1;
  std::vector<int> copies;            // producer copy events that fill it
  int64_t bytes = 0;                  // per fill
  std::pair<int, int> reader{-1, -1}; // loop rings: what reads them first (see first_reader)
};
struct RolePlan {
  std::map<int, bool> producer; // event id -> runs on the producer warp
  std::vector<Ring> rings;
};
// A warp-specialization strategy decides the roles; the default puts global-to-shared copies on
// a producer warp and everything else on the consumer warpgroups. (The solver-based scheduler
// will supply others, such as ping-pong consumers.)
struct WarpSpecStrategy {
  virtual ~WarpSpecStrategy() = default;
  virtual RolePlan plan(const BlockProgram& b) const;
};
RolePlan plan_roles(const BlockProgram& b, const WarpSpecStrategy& s);
// A block-level copy from global into shared memory: the producer's (a TMA load).
bool is_tma_load(const BlockProgram& b, const Event& e);
// A copy from a shared buffer to a global tensor: a consumer's TMA store.
bool is_tma_store(const BlockProgram& b, const Event& e);
// kernel_ir.cpp: the block program, with its role plan, as kernel IR.
// cluster.cpp: the tile coordinates a cluster's blocks split and the loads they share (multicast).
struct ClusterPlan {
  int size = 1;                               // blocks per cluster; 1: no cluster
  std::vector<kir::Kernel::ClusterDim> dims;  // the tile coordinates they split (rank order)
  std::map<int, unsigned> shared_copies;      // copy event id -> the group that shares it (a
                                              // mask over dims): each of its blocks loads a slice
  std::map<int, std::vector<unsigned>> rings; // ring -> the groups of its shared copies: its slots
                                              // are released to every block of each
};
ClusterPlan plan_cluster(const BlockProgram& b, const RolePlan& plan);
// In a persistent kernel its rings count iterations across tiles (the tile loop's variable is
// kTileIter), and every pipelined loop must run the same number of iterations in every tile.
inline constexpr const char* kTileIter = "grove_tile_iter";
kir::Kernel to_kernel_ir(const BlockProgram& b, const RolePlan& plan, const Lowered& l);
// overlap.cpp: where an iteration of the consumers' pipelined loop runs a GEMM, CUDA-core work
// making the register A operand of a second GEMM, then that GEMM (attention: Q·K^T, softmax,
// P·V), iteration j issues its first GEMM before iteration j-1's second, and its CUDA-core work
// runs while that one is on the tensor cores (iteration 0's first half peeled before the loop).
void overlap_gemms(kir::Kernel& k);
// pingpong.cpp: with BlockProgram::pingpong, the two consumer warpgroups take turns on the tensor
// cores (named-barrier turns around the pipelined loop's wgmma groups).
void take_turns(kir::Kernel& k, const BlockProgram& b);
// persistent.cpp: each role's body becomes a loop over the output tiles this block handles
// (grove_cta, grove_cta + grove_ctas, ...) in a cache-friendly order: bands of `band` rows of
// tiles (the mapping's tile_band; default 8).
void loop_over_tiles(kir::Kernel& k, const std::optional<Located<int64_t>>& band);

} // namespace grove::lower
