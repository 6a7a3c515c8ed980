// Pass 6: lowering to kernel IR. The producer role gets the loops that hold its copies, each
// iteration waiting for an empty slot, announcing the bytes it will deliver and issuing the TMA
// loads. Consumers run every other event in program order: they wait for a slot to be full
// before the first event that reads it, and release it after the last one; leaves become
// compute ops and wgmma groups; copies back to global become TMA stores or masked stores.
#include <functional>
#include <map>
#include <set>

#include "lowering/passes.h"

namespace grove::lower {
namespace {

constexpr int kProducerRegs = 24;

using namespace kir;

class Emitter {
public:
  Emitter(const BlockProgram& b, const RolePlan& plan, const Lowered& l)
      : b_(b), plan_(plan), l_(l) {}

  Kernel run() {
    k_.name = b_.name;
    k_.source = "instance " + b_.block->name;
    k_.tensors = l_.globals;
    k_.size_vars = l_.size_vars;
    k_.float_params = b_.float_params;
    k_.grid_vars = b_.grid_vars;
    k_.grid = b_.grid;
    if (b_.block->persistent) k_.persistent = persistent_ = b_.block->persistent->value;
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
        // The 128-byte swizzle where rows are whole 128-byte lines and a slot whole 1024-byte
        // atoms (8 rows): the layout TMA and wgmma want; a slot that is not (a bias row) stays
        // row-major, so that every slot of a ring starts on an atom.
        if (!shape.empty() && (shape.back() * elem_bytes(ten.elem)) % 128 == 0 &&
            s.slot_bytes() % 1024 == 0)
          s.swizzle = Swizzle::B128;
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
        int blocks = static_cast<int>(
            kir::cluster_targets(k_, 0, release_groups(static_cast<int>(r))).size());
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
      if (e.kind != Event::Copy || e.dst.tensor < 0 || e.src.tensor < 0) return;
      if (b_.tensors[static_cast<size_t>(e.dst.tensor)].kind != Tensor::Global) return;
      if (auto it = smem_index_.find(e.src.tensor); it != smem_index_.end())
        store_sources_.insert(it->second);
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
    k_.roles = {prod, cons};
    check_registers();
    return std::move(k_);
  }

private:
  const BlockProgram& b_;
  const RolePlan& plan_;
  const Lowered& l_;
  Kernel k_;
  std::map<int, int> smem_index_, reg_index_, full_, empty_, ring_of_copy_, ring_of_tensor_;
  std::set<int> ready_waited_;    // up-front rings consumers already waited for
  std::set<int> written_generic_; // smem tensors written by consumers since the last proxy fence
  std::set<int> wgmma_smem_;      // smem buffers some wgmma reads
  std::set<int> aliased_synced_;
  bool persistent_ = false;
  ClusterPlan cluster_;
  int tile_done_ = -1;                        // persistent with aliasing: consumers end a tile
  std::set<int> store_sources_;               // smem buffers TMA stores read
  bool defer_store_waits_ = false;            // wait for a store only before reuse and exit
  bool stored_ = false;                       // a consumer issued a TMA store
  std::map<std::string, IExprP> loop_extent_; // pipelined loop variable -> its extent

  // Warpgroups on alternate tiles: the program's one warpgroup per tile is warpgroup 0 of its
  // tile; `wg` then names the warpgroup whose turn the tile is, and picks its copy of every buffer
  // the consumers write (a ring's slots are the producer's, taken in turn).
  void own_tiles(Body& body) {
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

  // Warpgroups on alternate tiles take turns at the tiles of one persistent block; each tile's
  // data must come through the pipelined rings (data loaded once per tile, or ring space reused
  // by the consumers, would have to be kept per warpgroup too).
  void check_alternate_tiles() {
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

  // A persistent kernel's rings count on from tile to tile, which needs the same number of
  // iterations in every tile, and pipelined loops at the top level of the block.
  void check_persistent() {
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
      for (const std::string& g : b_.grid_vars)
        if (mentions(loop->extent, g))
          throw GroveError(at,
                           "instance '" + b_.block->name +
                               "' asks for a persistent grid, but its pipelined loop '" +
                               loop->var + "' runs " + to_string(*loop->extent) +
                               " iterations, which depends on the tile coordinate '" + g + "'",
                           "set persistent = false (a persistent grid needs the same number of "
                           "iterations in every tile)");
      loop_extent_[loop->var] = loop->extent;
    }
  }

  // The iteration a ring's slot and phase follow: the loop variable, or in a persistent kernel
  // the iterations of the tiles this block ran before plus the loop variable.
  IExprP count_of(const std::string& it) {
    if (!persistent_) return var(it);
    return add(mul(var(kTileIter), loop_extent_.at(it)), var(it));
  }

  // Register tensors are spread over the 128 threads of a warpgroup; a thread has 255 registers.
  void check_registers() {
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
    if (regs > 255)
      throw GroveError(b_.block->loc,
                       "the consumer warpgroups of instance '" + b_.block->name + "' need " +
                           std::to_string(regs) +
                           " registers per thread for their register tensors (" + parts +
                           "); a thread has at most 255",
                       "use smaller tiles per warpgroup or more consumer warpgroups");
  }

  Op op(Op::Kind kind, const Event* e = nullptr) {
    Op o;
    o.kind = kind;
    if (e) {
      o.loc = e->loc;
      o.note = e->note;
    }
    return o;
  }
  Op set_regs(int n) {
    Op o = op(Op::SetMaxNReg);
    o.count = n;
    o.note = "registers per thread for this role";
    o.once = true;
    return o;
  }

  // Rings filled once per block (`it` empty) have one slot, whose phase follows the tile.
  IExprP slot_of(int ring, const std::string& it) {
    int slots = plan_.rings[static_cast<size_t>(ring)].slots;
    if (slots == 1 || it.empty()) return cst(0);
    return bin(IExpr::Mod, count_of(it), cst(slots));
  }
  IExprP parity_of(int ring, const std::string& it, int flip) {
    if (it.empty())
      return persistent_ ? bin(IExpr::Mod, add(var(kTileIter), cst(flip)), cst(2)) : cst(flip);
    int slots = plan_.rings[static_cast<size_t>(ring)].slots;
    return bin(IExpr::Mod, add(bin(IExpr::Div, count_of(it), cst(slots)), cst(flip)), cst(2));
  }

  Ref ref(const View& v, const std::string& it) {
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
      r.swizzle = k_.smem[static_cast<size_t>(r.index)].swizzle;
    } else {
      r.kind = Ref::Reg;
      r.index = reg_index_.at(v.tensor);
    }
    return r;
  }

  // ---- producer ----
  void producer(const Events& evs, Body& out, const std::string& it) {
    for (const Event& e : evs) {
      if (e.kind == Event::Loop) {
        Body inner;
        producer(e.body, inner, e.var);
        if (inner.empty()) continue;
        Op loop = op(Op::Loop, &e);
        loop.var = e.var;
        loop.extent = e.extent;
        loop.body = std::move(inner);
        out.push_back(std::move(loop));
        continue;
      }
      auto rc = ring_of_copy_.find(e.id);
      if (rc == ring_of_copy_.end()) continue;
      int r = rc->second;
      const Ring& ring = plan_.rings[static_cast<size_t>(r)];
      if (ring.copies.front() == e.id) { // the first copy of a fill announces the fill
        if (empty_.count(r)) {
          Op wait = op(Op::MbarWait, &e);
          wait.barrier = empty_.at(r);
          wait.slot = slot_of(r, it);
          wait.phase = parity_of(r, it, 1);
          wait.note = "producer waits for a free slot";
          out.push_back(wait);
        }
        Op expect = op(Op::MbarArriveExpectTx, &e);
        expect.barrier = full_.at(r);
        expect.slot = slot_of(r, it);
        expect.bytes = ring.bytes;
        expect.note = "producer announces " + std::to_string(ring.bytes) + " bytes";
        out.push_back(expect);
      }
      Op load = op(Op::TmaLoad, &e);
      load.dst = ref(e.dst, it);
      load.src = ref(e.src, it);
      if (cluster_.shared_copies.count(e.id)) {
        // This block's slice of the rows, multicast to every block of its group.
        const unsigned group = cluster_.shared_copies.at(e.id);
        load.cluster_groups = {group};
        auto [slice, blocks] = slice_in_group(group);
        for (Ref* box : {&load.dst, &load.src}) {
          size_t axis = box->origin.size() - box->shape.size();
          int64_t rows = box->shape[0] / blocks;
          box->origin[axis] = add(box->origin[axis], mul(slice, cst(rows)));
          box->shape[0] = rows;
        }
        load.note += blocks == cluster_.size
                         ? ", rows of this block's slice, multicast to the cluster"
                         : ", rows of this block's slice, multicast to the blocks of its tile " +
                               std::string(group == 1 ? "column" : "row");
      }
      load.barrier = full_.at(r);
      load.slot = slot_of(r, it);
      out.push_back(load);
    }
  }

  // ---- consumers ----
  bool reads_tensor(const Event& e, int t) const {
    if (e.kind == Event::Copy) return e.src.tensor == t;
    if (e.kind == Event::Leaf)
      for (const auto& [n, v] : e.args)
        if (v.tensor == t) return true;
    if (e.kind == Event::Loop)
      for (const Event& x : e.body)
        if (reads_tensor(x, t)) return true;
    return false;
  }

  // The shared-memory buffers some wgmma reads: the A and B operands of every leaf's mma.
  void note_wgmma_operands(const Events& evs) {
    for (const Event& e : evs) {
      note_wgmma_operands(e.body);
      if (e.kind != Event::Leaf) continue;
      for (const StmtPtr& st : e.variant->body) {
        if (st->kind != Stmt::Mma) continue;
        for (size_t a = 1; a < st->args.size(); ++a) {
          const Expr& x = *st->args[a];
          const std::string& name = x.kind == Expr::Call ? x.args[0]->name : x.name;
          for (const auto& [n, v] : e.args)
            if (n == name && smem_index_.count(v.tensor)) wgmma_smem_.insert(smem_index_[v.tensor]);
        }
      }
    }
  }

  // Whether leaf `e` reads shared memory that a consumer event of `evs` (its loop body) writes:
  // a wgmma group left in flight would still read it while the next iteration rewrites it. (Ring
  // slots are filled by the producer and released only once the group retires.)
  bool reads_what_consumers_rewrite(const Event& e, const Events& evs) const {
    std::function<bool(const Event&, int)> writes = [&](const Event& x, int t) {
      if (plan_.producer.count(x.id) && plan_.producer.at(x.id)) return false;
      if (x.kind == Event::Copy) return x.dst.tensor == t;
      if (x.kind == Event::Leaf) {
        for (const auto& [n, p] : x.privs)
          if (can_write(p))
            for (const auto& [an, v] : x.args)
              if (an == n && v.tensor == t) return true;
        return false;
      }
      for (const Event& y : x.body)
        if (writes(y, t)) return true;
      return false;
    };
    for (const auto& [n, v] : e.args) {
      if (b_.tensors[static_cast<size_t>(v.tensor)].memory != Memory::Shared) continue;
      for (const Event& x : evs)
        if (writes(x, v.tensor)) return true;
    }
    return false;
  }

  // Returns whether the loop body leaves a wgmma group in flight at its end (see only_mma).
  bool consumer(const Events& evs, Body& out, int loop_id, const std::string& it) {
    bool in_flight = false;
    // Rings this level's loop fills: wait before the first reader, release after the last.
    // (At the top level of a persistent kernel: the rings filled once per tile, released after
    // their last reader; their waits are placed by wait_up_front.)
    std::vector<int> rings_here;
    for (size_t r = 0; r < plan_.rings.size(); ++r)
      if (plan_.rings[r].loop == loop_id && (loop_id >= 0 || persistent_))
        rings_here.push_back(static_cast<int>(r));
    std::map<int, size_t> first_use, last_use;
    for (int r : rings_here)
      for (size_t i = 0; i < evs.size(); ++i) {
        bool uses = false;
        for (const auto& [t, rr] : ring_of_tensor_)
          if (rr == r && reads_tensor(evs[i], t)) uses = true;
        if (plan_.producer.count(evs[i].id) && plan_.producer.at(evs[i].id)) uses = false;
        if (!uses) continue;
        if (!first_use.count(r)) first_use[r] = i;
        last_use[r] = i;
      }
    for (size_t i = 0; i < evs.size(); ++i) {
      const Event& e = evs[i];
      for (int r : rings_here)
        if (loop_id >= 0 && first_use.count(r) && first_use[r] == i) {
          Op wait = op(Op::MbarWait, &e);
          wait.barrier = full_.at(r);
          wait.slot = slot_of(r, it);
          wait.phase = parity_of(r, it, 0);
          wait.note = "consumers wait until the slot is full";
          out.push_back(wait);
        }
      if (e.kind == Event::Loop) {
        wait_up_front(e,
                      out); // data loaded once is awaited before the loop, not in every iteration
        Op loop = op(Op::Loop, &e);
        loop.var = e.var;
        loop.extent = e.extent;
        bool loop_in_flight = consumer(e.body, loop.body, e.id, e.var);
        out.push_back(std::move(loop));
        if (loop_in_flight) {
          // Retire the group the last iteration left in flight before its registers are read.
          Op wait = op(Op::WgmmaWait, &e);
          wait.count = 0;
          wait.note = "retire the wgmmas of the last iteration";
          out.push_back(wait);
          // Its slot needs a release only where the next tile refills the ring.
          for (size_t r = 0; r < plan_.rings.size() && persistent_; ++r) {
            if (plan_.rings[r].loop != e.id) continue;
            int slots = plan_.rings[r].slots;
            Op rel =
                release(static_cast<int>(r), e,
                        bin(IExpr::Mod, sub(add(mul(var(kTileIter), e.extent), e.extent), cst(1)),
                            cst(slots)),
                        "consumers release the last iteration's slot");
            int64_t at_least_one = 0;
            if (!is_const(e.extent, &at_least_one) || at_least_one < 1)
              rel.guard = bin(IExpr::Min, e.extent, cst(1));
            out.push_back(rel);
          }
        }
      } else if (!(plan_.producer.count(e.id) && plan_.producer.at(e.id))) {
        wait_up_front(e, out);
        sync_aliases(e, out);
        // Keep the group in flight only where this leaf is the last reader of every ring here.
        bool last_reader = loop_id >= 0 && !rings_here.empty();
        for (int r : rings_here) last_reader = last_reader && last_use.count(r) && last_use[r] == i;
        bool overlap = last_reader && i + 1 == evs.size() && only_mma(e) &&
                       !reads_what_consumers_rewrite(e, evs);
        if (e.kind == Event::Leaf)
          leaf(e, out, it, overlap ? 1 : 0);
        else
          copy(e, out, it);
        if (overlap) {
          for (int r : rings_here) {
            // The previous iteration's group has now retired: release its slot.
            int slots = plan_.rings[static_cast<size_t>(r)].slots;
            Op rel = release(r, e, bin(IExpr::Mod, add(count_of(it), cst(slots - 1)), cst(slots)),
                             "consumers release the previous iteration's slot");
            rel.guard = bin(IExpr::Min, var(it), cst(1));
            out.push_back(rel);
          }
          in_flight = true;
          continue;
        }
      }
      for (int r : rings_here)
        if (last_use.count(r) && last_use[r] == i) {
          out.push_back(release(r, e, slot_of(r, it), "consumers release the slot"));
        }
    }
    return in_flight;
  }

  // The groups of blocks that fill parts of ring r's slots (none: only this block).
  std::vector<unsigned> release_groups(int r) const {
    auto it = cluster_.rings.find(r);
    return it == cluster_.rings.end() ? std::vector<unsigned>{} : it->second;
  }

  // Which slice of a copy shared by `group` this block loads (its rank among the group's blocks,
  // from grove_rank), and how many blocks share it.
  std::pair<IExprP, int64_t> slice_in_group(unsigned group) const {
    IExprP slice = cst(0);
    int64_t blocks = 1;
    for (size_t d = 0; d < k_.cluster_dims.size(); ++d)
      if (group >> d & 1u) {
        slice = add(slice, mul(kir::cluster_coord(k_, d), cst(blocks)));
        blocks *= k_.cluster_dims[d].size;
      }
    return {slice, blocks};
  }

  // An arrival on ring r's empty barrier at `slot`: in every block that fills part of the ring's
  // slots by multicast.
  Op release(int r, const Event& e, IExprP slot, const std::string& note) {
    Op rel = op(Op::MbarArrive, &e);
    rel.barrier = empty_.at(r);
    rel.cluster_groups = release_groups(r);
    rel.slot = std::move(slot);
    rel.note = note;
    return rel;
  }

  // Waits for an up-front (filled once) ring before its first reader.
  void wait_up_front(const Event& e, Body& out) {
    for (const auto& [t, r] : ring_of_tensor_) {
      if (plan_.rings[static_cast<size_t>(r)].loop >= 0 || ready_waited_.count(r) ||
          !reads_tensor(e, t))
        continue;
      ready_waited_.insert(r);
      Op wait = op(Op::MbarWait, &e);
      wait.barrier = full_.at(r);
      wait.slot = cst(0);
      wait.phase = parity_of(r, "", 0);
      wait.note = "consumers wait for the data loaded once";
      out.push_back(wait);
    }
  }

  // Before the first write to shared memory that reuses another buffer's space, every consumer
  // warpgroup must be done with the old contents (the write-after-read edge of aliasing).
  void sync_aliases(const Event& e, Body& out) {
    std::vector<int> ts;
    if (e.kind == Event::Copy) ts.push_back(e.dst.tensor);
    if (e.kind == Event::Leaf)
      for (const auto& [n, v] : e.args) ts.push_back(v.tensor);
    for (int t : ts) {
      const Tensor& ten = b_.tensors[static_cast<size_t>(t)];
      if (ten.memory != Memory::Shared || ten.alias_of < 0 || aliased_synced_.count(t)) continue;
      aliased_synced_.insert(t);
      Op bar = op(Op::NamedBarrier, &e);
      bar.id = 1;
      bar.count = 128 * b_.consumer_warpgroups;
      bar.note = "all consumers are done with the buffer " + ten.name + " reuses";
      out.push_back(bar);
    }
  }

  // A leaf made only of mma statements, the last reader of its loop's ring: its wgmma group can
  // stay in flight while the next iteration waits for data and issues, as fast Hopper GEMMs do.
  // Its slot is then released one iteration later, and after the loop the group is retired.
  // (The last iteration's slot is never released: nothing refills the ring after the loop.)
  static bool only_mma(const Event& e) {
    if (e.kind != Event::Leaf) return false;
    bool any = false;
    for (const StmtPtr& s : e.variant->body) {
      if (s->kind == Stmt::Mma)
        any = true;
      else if (s->kind != Stmt::Local && s->kind != Stmt::Tunable)
        return false;
    }
    return any;
  }

  void leaf(const Event& e, Body& out, const std::string& it, int in_flight = 0) {
    std::map<std::string, Ref> tensors;
    for (const auto& [n, v] : e.args) tensors[n] = ref(v, it);
    std::map<std::string, Scalar> scalars(e.scalars.begin(), e.scalars.end());
    // Leaf locals live in registers of the warpgroup.
    for (const StmtPtr& s : e.variant->body) {
      if (s->kind != Stmt::Local) continue;
      std::vector<int64_t> shape;
      for (const ExprPtr& d : s->type.dims) shape.push_back(eval_dim(*d, scalars, s->loc));
      Ref r;
      r.kind = Ref::Reg;
      r.index = static_cast<int>(k_.regs.size());
      r.shape = shape;
      r.origin.assign(shape.size(), cst(0));
      k_.regs.push_back({e.instance->name + "." + s->names[0], s->type.elem, shape});
      tensors[s->names[0]] = r;
    }
    Op compute = op(Op::Compute, &e);
    auto flush = [&]() {
      if (compute.stmts.empty()) return;
      compute.tensors = tensors;
      compute.scalars = scalars;
      before_smem_writes(compute, out);
      std::set<int> written;
      for (const Stmt* st : compute.stmts)
        if (auto w = tensors.find(st->target); w != tensors.end() && w->second.kind == Ref::Smem)
          written.insert(w->second.index);
      out.push_back(std::move(compute));
      fence_for_wgmma(written, &e, out);
      compute = op(Op::Compute, &e);
    };
    for (const StmtPtr& s : e.variant->body) {
      if (s->kind == Stmt::Assign) {
        compute.stmts.push_back(s.get());
      } else if (s->kind == Stmt::Mma) {
        flush();
        auto operand = [&](const Expr& x, bool& tr) {
          tr = x.kind == Expr::Call;
          return tensors.at(tr ? x.args[0]->name : x.name);
        };
        // Consecutive mma statements form one group: one fence, one commit, one wait.
        bool opens = &s == &e.variant->body.front() || (&s - 1)->get()->kind != Stmt::Mma;
        bool closes = &s == &e.variant->body.back() || (&s + 1)->get()->kind != Stmt::Mma;
        if (opens) out.push_back(op(Op::WgmmaFence, &e));
        bool tc = false;
        Op mma = op(Op::Wgmma, &e);
        mma.loc = s->loc;
        mma.dst = operand(*s->args[0], tc);
        mma.src = operand(*s->args[1], mma.trans_a);
        mma.src2 = operand(*s->args[2], mma.trans_b);
        out.push_back(mma);
        if (closes) {
          out.push_back(op(Op::WgmmaCommit, &e));
          Op wait = op(Op::WgmmaWait, &e);
          bool last = &s == &e.variant->body.back();
          wait.count = last ? in_flight : 0;
          if (wait.count) wait.note = "keep this group in flight into the next iteration";
          out.push_back(wait);
        }
      } else if (s->kind == Stmt::Let) {
        throw GroveError(s->loc, "let in a leaf cannot be lowered yet", "write the value inline");
      }
    }
    flush();
  }

  int64_t eval_dim(const Expr& d, const std::map<std::string, Scalar>& scalars, SourceLoc loc) {
    if (d.kind == Expr::Int) return d.ival;
    if (d.kind == Expr::Name) {
      auto it = scalars.find(d.name);
      int64_t v = 0;
      if (it != scalars.end() && it->second.int_value && is_const(it->second.int_value, &v))
        return v;
    }
    throw GroveError(loc, "a leaf local needs a shape fixed by tunables and tile sizes");
  }

  // Notes the shared memory a compute writes (a TMA store of it needs a proxy fence first) and,
  // where stores are waited for late, waits for the last store of a staging tile it overwrites.
  void before_smem_writes(const Op& compute, Body& out) {
    bool staging = false;
    for (const Stmt* s : compute.stmts) {
      auto it = compute.tensors.find(s->target);
      if (it == compute.tensors.end() || it->second.kind != Ref::Smem) continue;
      written_generic_.insert(it->second.index);
      staging = staging || store_sources_.count(it->second.index);
    }
    if (staging) wait_for_stores(out);
  }

  void wait_for_stores(Body& out) {
    if (defer_store_waits_)
      out.push_back(store_wait(nullptr, "the last TMA store from this staging tile has read it"));
  }

  // Waits until no TMA store still reads shared memory.
  Op store_wait(const Event* e, const std::string& note) {
    Op w = op(Op::TmaStoreWait, e);
    w.count = 0;
    w.note = note;
    return w;
  }

  void copy(const Event& e, Body& out, const std::string& it) {
    Ref dst = ref(e.dst, it), src = ref(e.src, it);
    if (src.kind == Ref::Smem && dst.kind == Ref::Global) {
      if (written_generic_.count(src.index)) {
        out.push_back(op(Op::FenceProxyAsync, &e));
        written_generic_.erase(src.index);
      }
      Op st = op(Op::TmaStore, &e);
      st.dst = dst;
      st.src = src;
      out.push_back(st);
      out.push_back(op(Op::TmaStoreCommit, &e));
      stored_ = true;
      if (!defer_store_waits_) out.push_back(store_wait(&e, ""));
      return;
    }
    Op c = op(Op::Copy, &e);
    c.dst = dst;
    c.src = src;
    if (dst.kind == Ref::Smem) {
      written_generic_.insert(dst.index);
      if (store_sources_.count(dst.index)) wait_for_stores(out);
    }
    out.push_back(c);
    if (dst.kind == Ref::Smem) fence_for_wgmma({dst.index}, &e, out);
  }

  // Generic stores into shared memory a wgmma reads (through the async proxy) need a
  // fence.proxy.async between them and the wgmma; it goes right after the writes, so that every
  // writing thread fences before the warpgroup barrier that follows them.
  void fence_for_wgmma(const std::set<int>& written, const Event* e, Body& out) {
    for (int s : written)
      if (wgmma_smem_.count(s)) {
        Op f = op(Op::FenceProxyAsync, e);
        f.note = "generic smem writes, before a wgmma reads them";
        out.push_back(f);
        return;
      }
  }
};

} // namespace

kir::Kernel to_kernel_ir(const BlockProgram& b, const RolePlan& plan, const Lowered& l) {
  return Emitter(b, plan, l).run();
}

} // namespace grove::lower
