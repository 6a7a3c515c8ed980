// The kernel-IR emulator: runs a kir::Kernel on the CPU under seeded random interleavings and
// reports synchronization and layout bugs with the kernel IR location of the op at fault.
//
// Model (the contract is kernel/kir.h; what the emulator adds is written here):
// - Blocks run one after another (they are independent). Within a block each role instance is an
//   agent: the producer warp, and each consumer warpgroup (every consumer op is warpgroup-wide).
//   Each scheduler step picks, uniformly at random from a seeded generator, one agent that can
//   make progress or one asynchronous operation whose delay has passed.
// - TMA loads, TMA stores and wgmmas are asynchronous: issuing one starts it, and it takes effect
//   (data moves, bytes complete on the mbarrier) a random 0..max_delay steps later, or later still.
//   A TMA load's destination reads as NaN until it lands; a wgmma reads its shared-memory operands
//   and updates its accumulator when it completes.
// - Shared memory is stored as the physical arrangement of each slot: an op whose Ref assumes a
//   swizzle reads and writes through that swizzle, so a producer and consumer that
//   disagree on the layout see garbled data. Register tensors are stored logically, row-major per
//   warpgroup (the accumulator fragment layout is not modelled).
// - Ordering is tracked with vector clocks (mbarrier phases, named barriers, wgmma/TMA-store waits
//   carry happens-before), so a shared-memory access that is not ordered after a conflicting one
//   is reported whichever interleaving the seed picked, besides accesses that overlap an
//   operation still in flight.
// - Named barriers: the agents whose code names a barrier id are its participants; a bar.sync or
//   bar.arrive whose count differs from their threads (or from another participant's count) is
//   reported, and so is an agent arriving twice before the barrier completes.
// - Clusters: the blocks of a cluster run together, each with its own shared memory, mbarriers
//   and named barriers. A multicast TMA load writes the shared memory of every block of its group
//   and completes bytes on their mbarriers (bytes may land before the arrive.expect_tx that
//   announces them, as PTX allows); a remote arrive arrives on the mbarrier of every block it
//   names (kir::cluster_targets); barrier.cluster
//   releases once every thread that has not finished has arrived. Signalling a block all of whose
//   agents have finished (on the GPU: exited) is reported.
// - mbarrier waits: besides deadlocks, a wait that passes on a phase later than the one after the
//   last phase this agent waited on (it missed a phase: parity aliasing) is reported. Where the
//   consumer warpgroups take a ring's phases in turns (Op::phases_in_turns, ping-pong over
//   tiles), the last phase any of them waited on counts; a wait that passes early, on the phase
//   before the one it means, shows as a read of data that has not landed.
// - Persistent kernels run `persistent_ctas` blocks, each looping over its tiles (clustered ones
//   that are not persistent, one block per tile).
// Not modelled: the accumulator fragment layout (kernel IR has no per-thread register ops, so it
// cannot be got wrong there; the CUDA printer owns it), and races on global memory (boxes written
// by TMA stores and copies are not checked against each other, within a cluster or across).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernel/kir.h"
#include "support/diagnostics.h"
#include "taskir/view.h"

namespace grove {

struct EmulatorOptions {
  uint64_t seed = 1;
  int max_delay = 8;                      // scheduler steps before an async op may complete
  int64_t step_limit = 50'000'000;        // over all blocks
  int max_blocks = 0;                     // 0 = every block of the grid, else the first max_blocks
  int persistent_ctas = 0;                // persistent kernels: blocks to run (0: 1 + seed % 4)
  int max_errors = 16;                    // stop after this many distinct errors
  const SourceManager* sources = nullptr; // to print op locations as file:line:col
};

struct EmulatorReport {
  bool ok = true;
  // Each names the block, the agent (role and warpgroup), the op (kir::op_name), its note and its
  // location when valid, then what went wrong.
  std::vector<std::string> errors;
  int64_t steps = 0;
  int64_t blocks = 0; // blocks emulated
};

// Runs `k`. `tensors` holds a buffer per kernel tensor (by name, with the shape the sizes give);
// written tensors are updated in place. A temporary (a HOST local) that is not there yet is added,
// filled with NaN, for the kernels that run after this one. `sizes` binds the kernel's size
// variables and `float_params` its float parameters.
EmulatorReport emulate(const kir::Kernel& k,
                       std::map<std::string, std::shared_ptr<Buffer>>& tensors,
                       const std::map<std::string, int64_t>& sizes,
                       const std::map<std::string, double>& float_params,
                       const EmulatorOptions& opts = {});

} // namespace grove
