// Pass 6, lowering to kernel IR (kernel_ir.cpp): what a mapping asks that the kernel cannot honour.
#include <algorithm>
#include <functional>

#include "lowering/kernel_ir_emitter.h"

namespace grove::lower {

using namespace kir;

// Warpgroups on alternate tiles take turns at the tiles of one persistent block; each tile's
// data must come through the pipelined rings (data loaded once per tile, or ring space reused
// by the consumers, would have to be kept per warpgroup too).
void KernelIrEmitter::check_alternate_tiles() {
  const SourceLoc at = b_.block->pingpong->loc;
  const std::string who = "instance '" + b_.block->name + "' asks for ping-pong consumers";
  if (!persistent_)
    throw GroveError(at,
                     who + " on alternate tiles (its tile is one warpgroup's), but is not "
                           "persistent",
                     "set persistent = true (the two warpgroups take turns at a block's "
                     "tiles), or split the tile between two warpgroups");
  for (const Ring& ring : plan_.rings)
    if (ring.loop < 0)
      throw GroveError(at, who + " on alternate tiles, but loads data once per tile",
                       "alternate tiles need every load in the pipelined loop; set pingpong = "
                       "false");
  for (const Tensor& t : b_.tensors)
    if (t.alias_of >= 0)
      throw GroveError(at,
                       who + " on alternate tiles, but its shared buffer '" + t.name +
                           "' reuses another's space",
                       "use a shallower pipeline so every buffer has its own space");
}

// A persistent kernel's rings count on from tile to tile, which needs pipelined loops at the top
// level of the block. Where a loop's trip count depends on the tile (causal attention), its rings
// count the earlier tiles' iterations in a running sum the tile loop carries; the warpgroups of
// ping-pong over tiles would each need the other's, so there it is refused.
void KernelIrEmitter::check_persistent() {
  for (const Ring& ring : plan_.rings) {
    if (ring.loop < 0) continue;
    const Event* loop = nullptr;
    for (const Event& e : b_.events)
      if (e.id == ring.loop) loop = &e;
    const SourceLoc at = b_.block->persistent->loc;
    if (!loop) // (for safety: warp specialization already refuses nested pipelined loops)
      throw GroveError(at,
                       "instance '" + b_.block->name +
                           "' asks for a persistent grid, but its pipelined loop is nested "
                           "inside another loop",
                       "set persistent = false, or pipeline the outer loop");
    loop_extent_[loop->var] = loop->extent;
    auto g = std::find_if(b_.grid_vars.begin(), b_.grid_vars.end(),
                          [&](const std::string& v) { return mentions(loop->extent, v); });
    if (g == b_.grid_vars.end()) continue;
    if (b_.alternate_tiles)
      throw GroveError(at,
                       "instance '" + b_.block->name +
                           "' takes alternate tiles per warpgroup (pingpong), but its pipelined "
                           "loop '" +
                           loop->var + "' runs " + to_string(*loop->extent) +
                           " iterations, which depends on the tile coordinate '" + *g + "'",
                       "set pingpong = false: the warpgroups then share every tile");
    if (!carried(loop->var)) k_.tile_carries.push_back({carry_name(loop->var), loop->extent});
  }
}

// Register tensors are spread over the 128 threads of a warpgroup; a consumer thread has the
// registers its role's setmaxnreg gives it (the block's 64K shared out over its warpgroups, the
// producer's kept to 24), at most 255.
void KernelIrEmitter::check_registers() {
  int64_t regs = 0;
  std::string parts;
  for (const RegTensor& r : k_.regs) {
    int64_t n = elem_bytes(r.elem);
    std::string shape;
    for (int64_t d : r.shape) {
      n *= d;
      shape += (shape.empty() ? "" : "x") + std::to_string(d);
    }
    int64_t per_thread = (n + 511) / 512;
    regs += per_thread;
    parts += (parts.empty() ? "" : ", ") + r.name + " " + elem_name(r.elem) + "[" + shape +
             "]: " + std::to_string(per_thread);
  }
  const Role& consumers = k_.roles.at(1);
  const int64_t limit = consumers.max_regs > 0 ? consumers.max_regs : 255;
  if (regs > limit)
    throw GroveError(b_.block->loc,
                     "the consumer warpgroups of instance '" + b_.block->name + "' need " +
                         std::to_string(regs) +
                         " registers per thread for their register tensors (" + parts + "); with " +
                         std::to_string(consumers.warpgroups) +
                         " consumer warpgroup(s) and a producer warp a thread gets " +
                         std::to_string(limit) + " (setmaxnreg)",
                     "use smaller tiles per warpgroup, or fewer consumer warpgroups (each then "
                     "gets more of the block's 64K registers)");
  // ptxas compiles a wgmma within the registers a thread has at the kernel's entry (the 64K over
  // all the block's threads), whatever setmaxnreg gives its role later: the accumulator fragment
  // (N/2 registers for m64nN) and about 26 more for its operands. (With four warpgroups, ptxas
  // refuses m64n256k16: "Insufficient registers (128) to compile instruction ... register target
  // of 154".)
  constexpr int64_t kWgmmaOperandRegs = 26;
  const int64_t at_entry = std::min<int64_t>(255, 65536 / k_.threads() / 8 * 8);
  std::function<void(const Body&)> check_wgmmas = [&](const Body& body) {
    for (const Op& o : body) {
      check_wgmmas(o.body);
      if (o.kind != Op::Wgmma || o.dst.shape.size() != 2) continue;
      const int64_t n = o.dst.shape[1];
      if (n / 2 + kWgmmaOperandRegs <= at_entry) continue;
      throw GroveError(
          o.loc,
          "instance '" + b_.block->name + "' issues wgmma m64n" + std::to_string(n) + " (" +
              std::to_string(n / 2) + " accumulator registers a thread, about " +
              std::to_string(n / 2 + kWgmmaOperandRegs) + " with its operands), but each of its " +
              std::to_string(k_.threads()) + " threads has " + std::to_string(at_entry) +
              " registers at the kernel's entry, where ptxas compiles it",
          "use two consumer warpgroups (a thread of 384 has 168 registers at entry), or a "
          "narrower tile");
    }
  };
  check_wgmmas(consumers.body);
}

// Each wgmma is a sequence of m64nNk16 (m64nNk32 for 8-bit types) instructions, reading its
// shared-memory operands in a swizzled layout: tile sizes that do not fit are refused here, at the
// instance, rather than by the emulator or the CUDA back end later.
void KernelIrEmitter::check_wgmma_operands() {
  std::function<void(const Body&)> check = [&](const Body& body) {
    for (const Op& o : body) {
      check(o.body);
      if (o.kind != Op::Wgmma || o.dst.shape.size() != 2 || o.src.shape.size() != 2 ||
          o.src2.shape.size() != 2)
        continue;
      const bool a_smem = o.src.kind == Ref::Smem;
      const ElemType ta = a_smem ? k_.smem.at(static_cast<size_t>(o.src.index)).elem
                                 : k_.regs.at(static_cast<size_t>(o.src.index)).elem;
      const int64_t M = o.dst.shape[0], N = o.dst.shape[1];
      const int64_t K = o.src.shape[o.trans_a && a_smem ? 0 : 1];
      // (The op's note names the leaf's instance first: "wg_mma (mma_wg.wgmma)".)
      const std::string inst = o.note.empty() ? b_.block->name : o.note.substr(0, o.note.find(' '));
      const std::string error = wgmma_shape_error(inst, M, N, K, ta);
      if (!error.empty()) throw GroveError(o.loc, error, wgmma_shape_hint(ta));
      for (const Ref* r : {&o.src, &o.src2}) {
        if (r->kind != Ref::Smem) continue;
        const SmemBuffer& b = k_.smem.at(static_cast<size_t>(r->index));
        if (b.swizzle != Swizzle::None) continue;
        const int64_t row = (b.shape.empty() ? 0 : b.shape.back()) * elem_bytes(b.elem);
        throw GroveError(o.loc,
                         "wgmma operand " + std::string(r == &o.src ? "A" : "B") + " '" + b.name +
                             "' (" + elem_name(b.elem) + ", rows of " + std::to_string(row) +
                             " bytes) is not in a swizzled layout WGMMA reads",
                         "make the tile's last dimension a multiple of 32 bytes (16 f16/bf16 or 32 "
                         "8-bit elements; in a GEMM the K step of A and of a K-major B, the N tile "
                         "of an N-major B), with 8 rows or more; 128 bytes (64 f16/bf16 elements) "
                         "is fastest");
      }
    }
  };
  check(k_.roles.at(1).body);
}

} // namespace grove::lower
