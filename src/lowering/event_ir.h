// The event IR: one block's work after the task tree is instantiated symbolically. Each event is
// a copy or a leaf call with the events it must wait for (its preconditions); loops stay loops.
// Later passes rewrite it (vectorize, eliminate copies, place buffers, split into warp roles) and
// the last one turns it into kernel IR.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "frontend/ast.h"
#include "kernel/kir.h"

namespace grove::lower {

using kir::IExprP;

// A tensor the block touches: a global parameter, or a buffer the lowering made (a block local,
// or the shared-memory / register copy of a view of another tensor).
struct Tensor {
  enum Kind { Global, Buffer } kind = Buffer;
  std::string name;
  ElemType elem = ElemType::F32;
  Memory memory = Memory::Global;
  std::vector<IExprP> shape;  // constant for buffers
  int param = -1;             // Global: index into the kernel's tensors
  bool per_warpgroup = false; // registers (or smem) private to each consumer warpgroup
  int slots = 1;              // shared-memory ring depth, set by warp specialization
  int64_t offset = -1;        // shared-memory byte offset, set by allocation
  int alias_of = -1;          // shared memory reused from this tensor (allocation)
  int staging_loop = -1;      // a TMA store's staging tile with a slot per parity of this loop's
                              // iterations (allocation): one is written while the other's
                              // store still reads it
  SourceLoc loc;
};

// A box of a tensor: `origin` per tensor axis; view dimension d moves along tensor axis axes[d].
struct View {
  int tensor = -1;
  std::vector<IExprP> origin;
  std::vector<int> axes;
  std::vector<IExprP> extent;
  std::vector<int64_t> const_extent() const; // throws std::logic_error if one is not constant
};

struct Event;
using Events = std::vector<Event>;

struct Event {
  enum Kind { Copy, Leaf, Loop } kind = Leaf;
  int id = -1;
  SourceLoc loc;
  std::string note; // instance and task, for readers
  // Copy: dst <- src (a memory change at a mapping boundary)
  View src, dst;
  // Leaf: the instance's variant statements, bound by parameter name
  const Instance* instance = nullptr;
  const VariantDecl* variant = nullptr;
  std::vector<std::pair<std::string, View>> args; // tensor parameters and locals
  std::vector<std::pair<std::string, Privilege>> privs;
  std::vector<std::pair<std::string, kir::Scalar>> scalars;
  // Processor: a leaf (or copy) run by each of `wg_count` warpgroups with loop variable `wg_var`
  // (before vectorization) or by warpgroup `wg` (after); 0 means the block as a whole.
  std::string wg_var;
  int wg_count = 0;
  // Loop
  std::string var;
  IExprP extent;
  Events body;
  // Dependences: ids of earlier events (same iteration) and of the previous iteration of the
  // enclosing loop (loop-carried) this event must wait for.
  std::vector<int> pre, pre_carried;
};

struct BlockProgram {
  std::string name;
  const Instance* block = nullptr; // the BLOCK instance the kernel runs
  std::vector<std::string> grid_vars;
  std::vector<IExprP> grid;
  std::vector<Tensor> tensors;
  Events events;
  std::vector<std::string> float_params;
  int consumer_warpgroups = 1;
  int pipeline_depth = 1;
  // The consumer warpgroups take turns on the tensor cores (see kernel_ir.cpp): from the mapping,
  // or under pipeline = auto from the schedule.
  bool pingpong = false;
  // Ping-pong over tiles (a GEMM whose tile one consumer warpgroup computes, with pingpong =
  // true): two consumer warpgroups take alternate tiles of a persistent block, so one's epilogue
  // runs under the other's main loop. Buffers the consumers write get a copy per warpgroup.
  bool alternate_tiles = false;
  bool warp_specialize = true;
  int64_t smem_limit = 232448;
};

// All kernels of one mapping (one per parallel launch of blocks at HOST).
struct Lowered {
  std::vector<std::string> size_vars;
  std::vector<kir::GlobalTensor> globals;
  std::vector<BlockProgram> blocks;
  std::vector<kir::Kernel> kernels;
  int next_id = 0;
};

// Readable text, for `grove explain --after PASS`.
std::string to_text(const Lowered& l);
std::string view_str(const BlockProgram& b, const View& v);

// Visits every event, depth first, with its enclosing loops.
void for_each_event(Events& evs, const std::function<void(Event&)>& f);

} // namespace grove::lower
