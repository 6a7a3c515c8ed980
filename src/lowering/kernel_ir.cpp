// Pass 6: lowering to kernel IR. The producer role gets the loops that hold its copies, each
// iteration waiting for an empty slot, announcing the bytes it will deliver and issuing the TMA
// loads. Consumers run every other event in program order: they wait for a slot to be full
// before the first event that reads it, and release it after the last one; leaves become
// compute ops and wgmma groups; copies back to global become TMA stores or masked stores.
//
// The pass's parts, by meaning: this file sets up buffers, barriers and the two roles;
// kernel_ir_producer.cpp writes the producer's loads, kernel_ir_consumer.cpp the consumers' ops,
// kernel_ir_checks.cpp refuses what the kernel cannot honour (kernel_ir_emitter.h declares them).
#include <algorithm>
#include <functional>

#include "lowering/kernel_ir_emitter.h"

namespace grove::lower {

using namespace kir;

namespace {
constexpr int kProducerRegs = 24;

bool reg_box_mentions(const Body& body, const std::string& v) {
  for (const Op& o : body) {
    for (const Ref* r : {&o.dst, &o.src, &o.src2})
      if (r->kind == Ref::Reg)
        for (const IExprP& x : r->origin)
          if (mentions(x, v)) return true;
    for (const auto& [n, r] : o.tensors)
      if (r.kind == Ref::Reg)
        for (const IExprP& x : r.origin)
          if (mentions(x, v)) return true;
    if (reg_box_mentions(o.body, v)) return true;
  }
  return false;
}

// A consumer loop of constant extent whose iterations take different boxes of a register tensor
// (an epilogue over column pieces of the accumulator) is unrolled: registers are named by
// constants only, so each iteration's boxes must be.
void unroll_register_loops(Body& body) {
  for (size_t i = 0; i < body.size(); ++i) {
    Op& o = body[i];
    unroll_register_loops(o.body);
    int64_t n = 0;
    if (o.kind != Op::Loop || !reg_box_mentions(o.body, o.var)) continue;
    if (!is_const(o.extent, &n))
      throw GroveError(o.loc,
                       "the loop over '" + o.var +
                           "' takes a different piece of a register tensor " +
                           "each iteration, but runs " + to_string(*o.extent) + " iterations",
                       "registers are named by constants: loop over pieces a constant number of "
                       "times (tile sizes fixed by tunables)");
    Body copies;
    for (int64_t it = 0; it < n; ++it)
      for (Op x : o.body) {
        for (const auto& [name, value] : o.lets) substitute(x, name, value);
        substitute(x, o.var, cst(it));
        copies.push_back(std::move(x));
      }
    body.erase(body.begin() + static_cast<long>(i));
    body.insert(body.begin() + static_cast<long>(i), copies.begin(), copies.end());
    i += copies.size() - 1;
  }
}
} // namespace

Kernel KernelIrEmitter::run() {
  k_.name = b_.name;
  k_.source = "instance " + b_.block->name;
  k_.tensors = l_.globals;
  k_.size_vars = l_.size_vars;
  k_.float_params = b_.float_params;
  k_.grid_vars = b_.grid_vars;
  k_.grid = b_.grid;
  if (b_.block->persistent) k_.persistent = persistent_ = b_.block->persistent->value;
  if (b_.block->last_tiles_first) k_.last_tiles_first = b_.block->last_tiles_first->value;
  if (persistent_) check_persistent();
  if (b_.alternate_tiles) check_alternate_tiles();
  k_.alternate_tiles = b_.alternate_tiles;
  if (b_.block->cluster) {
    k_.cluster_x = b_.block->cluster->value.first;
    k_.cluster_y = b_.block->cluster->value.second;
  }
  cluster_ = plan_cluster(b_, plan_);
  k_.cluster = cluster_.size;
  k_.cluster_dims = cluster_.dims;
  // Buffers.
  for (size_t t = 0; t < b_.tensors.size(); ++t) {
    const Tensor& ten = b_.tensors[t];
    if (ten.kind == Tensor::Global) continue;
    std::vector<int64_t> shape;
    for (const auto& d : ten.shape) {
      int64_t v = 0;
      is_const(d, &v);
      shape.push_back(v);
    }
    if (ten.memory == Memory::Shared) {
      SmemBuffer s{ten.name, ten.elem, shape, ten.slots, Swizzle::None, ten.offset};
      // BK = 64 f16 elements gets the 128-byte swizzle, 32 gets 64, 16 and 48 get 32 (48: three
      // 32-byte panels).
      s.swizzle = widest_swizzle(s);
      smem_index_[static_cast<int>(t)] = static_cast<int>(k_.smem.size());
      k_.smem.push_back(s);
      k_.smem_bytes = std::max(k_.smem_bytes, s.offset + s.slot_bytes() * s.slots);
    } else if (ten.memory == Memory::Register) {
      reg_index_[static_cast<int>(t)] = static_cast<int>(k_.regs.size());
      k_.regs.push_back({ten.name, ten.elem, shape});
    }
  }
  k_.smem_bytes = (k_.smem_bytes + 7) / 8 * 8;
  note_wgmma_operands(b_.events);
  // Barriers: a full/empty pair per pipelined ring, a `ready` barrier per up-front group.
  for (size_t r = 0; r < plan_.rings.size(); ++r) {
    const Ring& ring = plan_.rings[r];
    for (int c : ring.copies) ring_of_copy_[c] = static_cast<int>(r);
    std::string base = ring.loop < 0 ? "ready" + std::to_string(r) : "ring" + std::to_string(r);
    full_[static_cast<int>(r)] = static_cast<int>(k_.barriers.size());
    k_.barriers.push_back({ring.loop < 0 ? base : base + "_full", ring.slots, 1});
    // Data loaded once per tile is refilled for the next tile of a persistent kernel only
    // after every consumer released it.
    if (ring.loop >= 0 || persistent_) {
      empty_[static_cast<int>(r)] = static_cast<int>(k_.barriers.size());
      // Slots filled by multicast are released to the producers of every block that filled
      // part of them; as many blocks release to each one's (the same relation).
      int blocks =
          static_cast<int>(kir::cluster_targets(k_, 0, release_groups(static_cast<int>(r))).size());
      k_.barriers.push_back({base + "_empty", ring.slots, b_.consumer_warpgroups * blocks});
    }
    kir::Kernel::Ring kr;
    kr.full = full_[static_cast<int>(r)];
    kr.empty = empty_.count(static_cast<int>(r)) ? empty_[static_cast<int>(r)] : -1;
    std::function<void(const Events&)> buffers = [&](const Events& evs) {
      for (const Event& e : evs) {
        buffers(e.body);
        if (e.kind == Event::Copy && ring_of_copy_.count(e.id) &&
            ring_of_copy_[e.id] == static_cast<int>(r) && smem_index_.count(e.dst.tensor))
          kr.buffers.push_back(smem_index_[e.dst.tensor]);
      }
    };
    buffers(b_.events);
    k_.rings.push_back(kr);
  }
  // A persistent kernel whose consumers reuse ring space (aliasing) must finish with it before
  // the producer refills the rings for the next tile.
  bool aliased = false;
  for (const Tensor& t : b_.tensors) aliased = aliased || t.alias_of >= 0;
  if (persistent_ && aliased) {
    tile_done_ = static_cast<int>(k_.barriers.size());
    k_.barriers.push_back({"tile_done", 1, b_.consumer_warpgroups});
  }
  // Buffers each ring fills, so consumers know which waits a read needs.
  for_each_event(const_cast<Events&>(b_.events), [&](Event& e) {
    if (auto it = ring_of_copy_.find(e.id); it != ring_of_copy_.end())
      ring_of_tensor_[e.dst.tensor] = it->second;
  });
  // Staging tiles of TMA stores. Unless the rings alias them (then the producer refills that
  // space once the tile is done, so the store must have read it by then), a store is waited for
  // only before its tile is written again (by the next tile of a persistent block) and before
  // the block exits: its read of shared memory overlaps the next tile's main loop.
  defer_store_waits_ = tile_done_ < 0;
  for_each_event(const_cast<Events&>(b_.events), [&](Event& e) {
    if (e.kind == Event::Loop) loops_[e.id] = &e;
    if (is_tma_store(b_, e)) store_sources_.insert(smem_index_.at(e.src.tensor));
  });

  Role prod;
  prod.kind = Role::Producer;
  prod.name = "producer";
  prod.warps = 1;
  // The producer warp only issues TMA: the fewest registers setmaxnreg allows (24, as
  // FlashAttention-3 does), so the consumers get 240 of the 255 a thread can hold.
  prod.max_regs = kProducerRegs;
  prod.body.push_back(set_regs(kProducerRegs));
  if (tile_done_ >= 0) {
    Op wait = op(Op::MbarWait);
    wait.barrier = tile_done_;
    wait.slot = cst(0);
    wait.phase = bin(IExpr::Mod, add(var(kTileIter), cst(1)), cst(2));
    wait.note = "the consumers are done with the previous tile's shared memory";
    prod.body.push_back(wait);
  }
  producer(b_.events, prod.body, "");

  Role cons;
  cons.kind = Role::Consumer;
  cons.name = "consumers";
  cons.warpgroups = b_.alternate_tiles ? 2 : b_.consumer_warpgroups;
  int per_thread = (65536 - 128 * kProducerRegs) / (128 * cons.warpgroups);
  cons.max_regs = std::min(240, per_thread / 8 * 8);
  cons.body.push_back(set_regs(cons.max_regs));
  consumer(b_.events, cons.body, -1, "");
  if (b_.alternate_tiles) own_tiles(cons.body);
  if (tile_done_ >= 0) {
    Op done = op(Op::MbarArrive);
    done.barrier = tile_done_;
    done.slot = cst(0);
    done.note = "this tile's shared memory may be refilled";
    cons.body.push_back(done);
  }
  if (defer_store_waits_ && stored_) {
    Op drain = store_wait(nullptr, "every TMA store has read its staging tile before the block "
                                   "exits");
    drain.once = true;
    cons.body.push_back(drain);
  }
  if (cluster_.size > 1)
    for (Role* r : {&prod, &cons}) {
      Op sync = op(Op::ClusterSync);
      sync.note = "no block leaves while another may still signal it";
      sync.once = true;
      r->body.push_back(sync);
    }
  unroll_register_loops(cons.body);
  k_.roles = {prod, cons};
  check_wgmma_operands();
  check_registers();
  return std::move(k_);
}

// Warpgroups on alternate tiles: the program's one warpgroup per tile is warpgroup 0 of its
// tile; `wg` then names the warpgroup whose turn the tile is, and picks its copy of every buffer
// the consumers write (a ring's slots are the producer's, taken in turn).
void KernelIrEmitter::own_tiles(Body& body) {
  std::set<int> rings;
  for (const auto& [t, r] : ring_of_tensor_) rings.insert(smem_index_.at(t));
  std::function<void(Ref&)> own = [&](Ref& r) {
    if (r.kind == Ref::Smem && r.index >= 0 && !rings.count(r.index)) r.slot = var("wg");
  };
  std::function<void(Op&)> visit = [&](Op& o) {
    o.phases_in_turns = o.kind == Op::MbarWait;
    for (Ref* r : {&o.dst, &o.src, &o.src2}) own(*r);
    for (auto& [name, r] : o.tensors) own(r);
    for (Op& inner : o.body) visit(inner);
  };
  for (Op& o : body) {
    substitute(o, "wg", cst(0)); // (its body included)
    visit(o);
  }
}

// The iteration a ring's slot and phase follow: the loop variable, or in a persistent kernel
// the iterations of the tiles this block ran before plus the loop variable.
IExprP KernelIrEmitter::count_of(const std::string& it) {
  if (!persistent_) return var(it);
  return add(iterations_before(it, loop_extent_.at(it)), var(it));
}

// The running count of loop `it`'s iterations in earlier tiles, where its extent differs by tile.
std::string KernelIrEmitter::carry_name(const std::string& it) {
  return "grove_before_" + it;
}

bool KernelIrEmitter::carried(const std::string& it) const {
  return std::any_of(k_.tile_carries.begin(), k_.tile_carries.end(),
                     [&](const auto& c) { return c.first == carry_name(it); });
}

// The iterations loop `it` (of `extent` a tile) ran in this block's earlier tiles: the tiles
// times the extent, or where the extent differs by tile, the sum the tile loop carries.
IExprP KernelIrEmitter::iterations_before(const std::string& it, const IExprP& extent) const {
  return carried(it) ? var(carry_name(it)) : mul(var(kTileIter), extent);
}

Op KernelIrEmitter::op(Op::Kind kind, const Event* e) {
  Op o;
  o.kind = kind;
  if (e) {
    o.loc = e->loc;
    o.note = e->note;
  }
  return o;
}

Op KernelIrEmitter::set_regs(int n) {
  Op o = op(Op::SetMaxNReg);
  o.count = n;
  o.note = "registers per thread for this role";
  o.once = true;
  return o;
}

// Rings filled once per block (`it` empty) have one slot, whose phase follows the tile.
IExprP KernelIrEmitter::slot_of(int ring, const std::string& it) {
  int slots = plan_.rings[static_cast<size_t>(ring)].slots;
  if (slots == 1 || it.empty()) return cst(0);
  return bin(IExpr::Mod, count_of(it), cst(slots));
}

IExprP KernelIrEmitter::parity_of(int ring, const std::string& it, int flip) {
  if (it.empty())
    return persistent_ ? bin(IExpr::Mod, add(var(kTileIter), cst(flip)), cst(2)) : cst(flip);
  int slots = plan_.rings[static_cast<size_t>(ring)].slots;
  return bin(IExpr::Mod, add(bin(IExpr::Div, count_of(it), cst(slots)), cst(flip)), cst(2));
}

// A wait on `barrier` (ring r's full or empty one) at the slot of iteration `it`, for the phase
// `flip` selects (0: the slot's current fill; 1: the one before, as the producer waits).
Op KernelIrEmitter::ring_wait(int barrier, int r, const std::string& it, int flip, const Event& e,
                              const std::string& note) {
  Op wait = op(Op::MbarWait, &e);
  wait.barrier = barrier;
  wait.slot = slot_of(r, it);
  wait.phase = parity_of(r, it, flip);
  wait.note = note;
  return wait;
}

Ref KernelIrEmitter::ref(const View& v, const std::string& it) {
  Ref r;
  const Tensor& t = b_.tensors[static_cast<size_t>(v.tensor)];
  r.origin = v.origin;
  r.shape = v.const_extent();
  if (t.kind == Tensor::Global) {
    r.kind = Ref::Global;
    r.index = t.param;
    // A view of lower rank fixes leading axes: keep the full origin; the box covers the view's
    // axes.
  } else if (t.memory == Memory::Shared) {
    r.kind = Ref::Smem;
    r.index = smem_index_.at(v.tensor);
    auto ring = ring_of_tensor_.find(v.tensor);
    r.slot = ring == ring_of_tensor_.end() ? cst(0) : slot_of(ring->second, it);
    if (t.staging_loop >= 0) {
      // A staging tile's slot follows the parity of its loop's iterations (in a persistent
      // block, of all the iterations it ran; allocation made their count the same every tile).
      const Event& loop = *loops_.at(t.staging_loop);
      IExprP n = persistent_ ? add(iterations_before(loop.var, loop.extent), var(loop.var))
                             : var(loop.var);
      r.slot = bin(IExpr::Mod, n, cst(2));
    }
    r.swizzle = k_.smem[static_cast<size_t>(r.index)].swizzle;
  } else {
    r.kind = Ref::Reg;
    r.index = reg_index_.at(v.tensor);
  }
  return r;
}

kir::Kernel to_kernel_ir(const BlockProgram& b, const RolePlan& plan, const Lowered& l) {
  return KernelIrEmitter(b, plan, l).run();
}

} // namespace grove::lower
