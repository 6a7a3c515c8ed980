// Pass 6, lowering to kernel IR (kernel_ir.cpp): the producer's loads, and the cluster groups that
// share them.
#include "lowering/kernel_ir_emitter.h"

namespace grove::lower {

using namespace kir;

void KernelIrEmitter::producer(const Events& evs, Body& out, const std::string& it) {
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
        out.push_back(ring_wait(empty_.at(r), r, it, 1, e, "producer waits for a free slot"));
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

// The groups of blocks that fill parts of ring r's slots (none: only this block).
std::vector<unsigned> KernelIrEmitter::release_groups(int r) const {
  auto it = cluster_.rings.find(r);
  return it == cluster_.rings.end() ? std::vector<unsigned>{} : it->second;
}

// Which slice of a copy shared by `group` this block loads (its rank among the group's blocks,
// from grove_rank), and how many blocks share it.
std::pair<IExprP, int64_t> KernelIrEmitter::slice_in_group(unsigned group) const {
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
Op KernelIrEmitter::release(int r, const Event& e, IExprP slot, const std::string& note) {
  Op rel = op(Op::MbarArrive, &e);
  rel.barrier = empty_.at(r);
  rel.cluster_groups = release_groups(r);
  rel.slot = std::move(slot);
  rel.note = note;
  return rel;
}

} // namespace grove::lower
