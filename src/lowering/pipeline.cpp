// The lowering pipeline, top to bottom. Each pass is one file; each can be printed after it runs.
#include "lowering/pipeline.h"

#include "lowering/loop_graph.h"
#include "lowering/passes.h"

namespace grove::lower {

const std::vector<std::string>& pass_names() {
  static const std::vector<std::string> names = {
      "instantiate", "dependences", "vectorize", "copy-elimination", "smem-allocation",
      "kernel-ir",   "overlap",     "pingpong",  "persistent"};
  return names;
}

Lowered lower_mapping(const Program& prog, const MappingDecl& mapping, const LowerOptions& opts) {
  Lowered l;
  auto dump = [&](const std::string& pass) {
    if (opts.dump && opts.dump_after == pass)
      *opts.dump << "// after " << pass << "\n" << to_text(l);
  };

  // 1. Instantiate the task tree symbolically: block programs of copy and leaf events.
  instantiate(prog, mapping, opts.sizes, l);
  dump("instantiate");
  // 2. Dependence analysis: each event's preconditions.
  for (BlockProgram& b : l.blocks) analyze_dependences(b);
  dump("dependences");
  // 3. Vectorize loops over warpgroups into the processor id `wg`.
  for (BlockProgram& b : l.blocks) vectorize(b);
  dump("vectorize");
  // 4. Copy elimination, then dependences again on what remains.
  for (BlockProgram& b : l.blocks) {
    eliminate_copies(b);
    analyze_dependences(b);
  }
  dump("copy-elimination");
  // 5. pipeline = auto: the solver-based scheduler picks the ring depth of the pipelined loop.
  //    A block whose tile one consumer warpgroup computes, mapped `pingpong = true`, gets two
  //    that take alternate tiles, each with its own copy of what the consumers write.
  for (BlockProgram& b : l.blocks) {
    b.alternate_tiles = b.block->pingpong && b.block->pingpong->value && b.consumer_warpgroups == 1;
    if (b.pipeline_depth == 0 || opts.schedule_all) {
      LoopSchedule s = schedule_loop(b);
      if (b.pipeline_depth == 0) {
        b.pipeline_depth = s.found ? s.depth : 1;
        // Ping-pong consumers where the schedule overlaps them, unless the mapping says.
        if (!b.block->pingpong) b.pingpong = s.pingpong;
      }
      if (opts.schedules) opts.schedules->push_back(std::move(s));
    }
  }
  // 6. Shared memory: ring depths, offsets, aliasing under the bound.
  for (BlockProgram& b : l.blocks) allocate_shared_memory(b);
  dump("smem-allocation");
  // 7. Warp specialization and pipelining, then kernel IR.
  WarpSpecStrategy producer_consumer;
  for (BlockProgram& b : l.blocks)
    l.kernels.push_back(to_kernel_ir(b, plan_roles(b, producer_consumer), l));
  if (opts.dump && opts.dump_after == "kernel-ir")
    for (const kir::Kernel& k : l.kernels) *opts.dump << kir::to_text(k);
  // 8. A GEMM whose register operand the CUDA cores make from another GEMM's result overlaps
  //    with the next iteration's first GEMM and CUDA-core work (attention's P·V with Q·K^T and
  //    the softmax, as FlashAttention-3 does inside a warpgroup).
  for (size_t i = 0; i < l.kernels.size(); ++i)
    if (!l.blocks[i].block->overlap || l.blocks[i].block->overlap->value)
      overlap_gemms(l.kernels[i]);
  if (opts.dump && opts.dump_after == "overlap")
    for (const kir::Kernel& k : l.kernels) *opts.dump << kir::to_text(k);
  // 9. Ping-pong consumers take turns on the tensor cores (from the mapping or the schedule).
  for (size_t i = 0; i < l.kernels.size(); ++i) take_turns(l.kernels[i], l.blocks[i]);
  if (opts.dump && opts.dump_after == "pingpong")
    for (const kir::Kernel& k : l.kernels) *opts.dump << kir::to_text(k);
  // 10. Persistent kernels: each role loops over the output tiles in a cache-friendly order.
  //    Clustered kernels that are not persistent take the same loop with one tile group per
  //    cluster (one iteration), which is how a cluster's blocks find their tiles.
  for (size_t i = 0; i < l.kernels.size(); ++i)
    if (l.kernels[i].persistent || l.kernels[i].cluster > 1)
      loop_over_tiles(l.kernels[i], l.blocks[i].block->tile_band);
  if (opts.dump && opts.dump_after == "persistent")
    for (const kir::Kernel& k : l.kernels) *opts.dump << kir::to_text(k);
  return l;
}

} // namespace grove::lower
