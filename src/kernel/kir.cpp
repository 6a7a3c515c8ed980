#include "kernel/kir.h"

#include <sstream>

namespace grove::kir {

int swizzle_bytes(Swizzle s) {
  switch (s) {
  case Swizzle::B32:
    return 32;
  case Swizzle::B64:
    return 64;
  case Swizzle::B128:
    return 128;
  default:
    return 0;
  }
}

Swizzle widest_swizzle(const SmemBuffer& b) {
  const int64_t row_bytes = b.shape.empty() ? 0 : b.shape.back() * elem_bytes(b.elem);
  for (Swizzle sw : {Swizzle::B128, Swizzle::B64, Swizzle::B32}) {
    const int64_t w = swizzle_bytes(sw);
    if (row_bytes == 0 || row_bytes % w != 0) continue;
    return b.slot_bytes() % (8 * w) == 0 ? sw : Swizzle::None;
  }
  return Swizzle::None;
}

int64_t SmemBuffer::slot_bytes() const {
  int64_t n = elem_bytes(elem);
  for (int64_t d : shape) n *= d;
  return n;
}

IExprP row_pitch(const GlobalTensor& t) {
  const int64_t per16 = 16 / elem_bytes(t.elem);
  if (t.shape.size() < 2 || per16 <= 1) return t.shape.back();
  return mul(bin(IExpr::CeilDiv, t.shape.back(), cst(per16)), cst(per16));
}

namespace {
bool body_tma_only(const Body& body, int tensor) {
  auto other_use = [&](const Ref& r) { return r.kind == Ref::Global && r.index == tensor; };
  for (const Op& o : body) {
    if (!body_tma_only(o.body, tensor)) return false;
    if (o.kind == Op::TmaLoad || o.kind == Op::TmaStore) continue;
    if (other_use(o.dst) || other_use(o.src) || other_use(o.src2)) return false;
    for (const auto& [name, r] : o.tensors)
      if (other_use(r)) return false;
  }
  return true;
}
} // namespace

bool tma_only(const Kernel& k, int tensor) {
  for (const Role& r : k.roles)
    if (!body_tma_only(r.body, tensor)) return false;
  return true;
}

void substitute(Op& o, const std::string& name, const IExprP& value) {
  auto sub = [&](IExprP& e) { e = substitute(e, name, value); };
  auto sub_ref = [&](Ref& r) {
    sub(r.slot);
    for (IExprP& x : r.origin) sub(x);
  };
  for (IExprP* e : {&o.guard, &o.extent, &o.slot, &o.phase, &o.id_expr}) sub(*e);
  for (Ref* r : {&o.dst, &o.src, &o.src2}) sub_ref(*r);
  for (auto& [n, r] : o.tensors) sub_ref(r);
  for (auto& [n, s] : o.scalars) sub(s.int_value);
  for (auto& [n, e] : o.lets) sub(e);
  for (auto& [n, e] : o.carries) sub(e);
  for (Op& x : o.body) substitute(x, name, value);
}

IExprP cluster_coord(const Kernel& k, size_t d) {
  if (k.cluster_dims.size() == 1) return var("grove_rank");
  int64_t stride = 1;
  for (size_t e = 0; e < d; ++e) stride *= k.cluster_dims[e].size;
  return bin(IExpr::Mod, bin(IExpr::Div, var("grove_rank"), cst(stride)),
             cst(k.cluster_dims[d].size));
}

std::vector<int> cluster_targets(const Kernel& k, int rank, const std::vector<unsigned>& groups) {
  if (groups.empty()) return {rank};
  auto coord = [&](int r, size_t d) {
    return static_cast<int>(eval(*cluster_coord(k, d), {{"grove_rank", r}}));
  };
  std::vector<int> out;
  for (int r = 0; r < k.cluster; ++r) {
    bool reached = false;
    for (unsigned m : groups) {
      bool same = true;
      for (size_t d = 0; d < k.cluster_dims.size(); ++d)
        if (!(m >> d & 1u)) same = same && coord(r, d) == coord(rank, d);
      reached = reached || same;
    }
    if (reached) out.push_back(r);
  }
  return out;
}

// How an op names the blocks it reaches: nothing for this block only, `suffix` for the whole
// cluster, else the tile coordinates each group spans, e.g. ".multicast[n]" or ".cluster[m|n]".
static std::string groups_str(const Kernel& k, const std::vector<unsigned>& groups,
                              const std::string& whole, const std::string& partial) {
  if (groups.empty()) return " ";
  const unsigned all = (1u << k.cluster_dims.size()) - 1;
  if (groups.size() == 1 && groups[0] == all) return whole + " ";
  std::string s = partial + "[";
  for (size_t g = 0; g < groups.size(); ++g) {
    s += g ? "|" : "";
    bool first = true;
    for (size_t d = 0; d < k.cluster_dims.size(); ++d)
      if (groups[g] >> d & 1u) {
        s += (first ? "" : ",") + k.cluster_dims[d].var;
        first = false;
      }
  }
  return s + "] ";
}

int Kernel::threads() const {
  int t = 0;
  for (const Role& r : roles) t += r.kind == Role::Producer ? 128 : 128 * r.warpgroups;
  return t;
}

const char* op_name(Op::Kind k) {
  switch (k) {
  case Op::Loop:
    return "for";
  case Op::MbarArriveExpectTx:
    return "mbarrier.arrive.expect_tx";
  case Op::MbarArrive:
    return "mbarrier.arrive";
  case Op::MbarWait:
    return "mbarrier.try_wait.parity";
  case Op::TmaLoad:
    return "tma.load";
  case Op::TmaStore:
    return "tma.store";
  case Op::TmaStoreCommit:
    return "tma.store.commit_group";
  case Op::TmaStoreWait:
    return "tma.store.wait_group.read";
  case Op::FenceProxyAsync:
    return "fence.proxy.async";
  case Op::WgmmaFence:
    return "wgmma.fence";
  case Op::Wgmma:
    return "wgmma.mma_async";
  case Op::WgmmaCommit:
    return "wgmma.commit_group";
  case Op::WgmmaWait:
    return "wgmma.wait_group";
  case Op::Compute:
    return "compute";
  case Op::Copy:
    return "copy";
  case Op::NamedBarrier:
    return "bar.sync";
  case Op::NamedBarrierArrive:
    return "bar.arrive";
  case Op::SetMaxNReg:
    return "setmaxnreg";
  case Op::ClusterSync:
    return "barrier.cluster.sync";
  }
  return "?";
}

namespace {

std::string str(const IExprP& e) {
  return e ? to_string(*e) : "-";
}

std::string ref_str(const Kernel& k, const Ref& r) {
  std::ostringstream os;
  switch (r.kind) {
  case Ref::Reg:
    os << "reg " << k.regs.at(static_cast<size_t>(r.index)).name;
    break;
  case Ref::Smem:
    os << "smem " << k.smem.at(static_cast<size_t>(r.index)).name << "[" << str(r.slot) << "]";
    break;
  case Ref::Global:
    os << "global " << k.tensors.at(static_cast<size_t>(r.index)).name;
    break;
  }
  if (!r.origin.empty()) {
    os << " @(";
    for (size_t i = 0; i < r.origin.size(); ++i) os << (i ? ", " : "") << str(r.origin[i]);
    os << ")";
  }
  if (!r.shape.empty()) {
    os << " box[";
    for (size_t i = 0; i < r.shape.size(); ++i) os << (i ? ", " : "") << r.shape[i];
    os << "]";
  }
  return os.str();
}

void body_text(const Kernel& k, const Body& b, int indent, std::ostream& os) {
  std::string pad(static_cast<size_t>(indent), ' ');
  for (const Op& op : b) {
    os << pad;
    if (op.guard) os << "if " << str(op.guard) << ": ";
    switch (op.kind) {
    case Op::Loop:
      os << "for " << op.var << " in 0.." << str(op.extent) << ":";
      if (!op.note.empty()) os << "    // " << op.note;
      os << "\n";
      for (const auto& [name, value] : op.lets)
        os << std::string(static_cast<size_t>(indent + 2), ' ') << "let " << name << " = "
           << str(value) << "\n";
      body_text(k, op.body, indent + 2, os);
      for (const auto& [name, value] : op.carries)
        os << std::string(static_cast<size_t>(indent + 2), ' ') << name << " += " << str(value)
           << "  (from 0)\n";
      continue;
    case Op::MbarArriveExpectTx:
      os << op_name(op.kind) << " " << k.barriers.at(static_cast<size_t>(op.barrier)).name << "["
         << str(op.slot) << "] bytes=" << op.bytes;
      break;
    case Op::MbarArrive:
      os << op_name(op.kind) << groups_str(k, op.cluster_groups, ".cluster_wide", ".cluster")
         << k.barriers.at(static_cast<size_t>(op.barrier)).name << "[" << str(op.slot) << "]";
      break;
    case Op::MbarWait:
      os << op_name(op.kind) << " " << k.barriers.at(static_cast<size_t>(op.barrier)).name << "["
         << str(op.slot) << "] parity=" << str(op.phase);
      break;
    case Op::TmaLoad:
      os << op_name(op.kind) << groups_str(k, op.cluster_groups, ".multicast", ".multicast")
         << ref_str(k, op.dst) << " <- " << ref_str(k, op.src) << " signals "
         << k.barriers.at(static_cast<size_t>(op.barrier)).name << "[" << str(op.slot) << "]";
      break;
    case Op::TmaStore:
    case Op::Copy:
      os << op_name(op.kind) << " " << ref_str(k, op.dst) << " <- " << ref_str(k, op.src);
      break;
    case Op::Wgmma:
      os << op_name(op.kind) << " " << ref_str(k, op.dst) << " += " << (op.trans_a ? "T " : "")
         << ref_str(k, op.src) << " * " << (op.trans_b ? "T " : "") << ref_str(k, op.src2);
      break;
    case Op::WgmmaWait:
    case Op::TmaStoreWait:
      os << op_name(op.kind) << " " << op.count;
      break;
    case Op::NamedBarrier:
    case Op::NamedBarrierArrive:
      os << op_name(op.kind) << " id=" << (op.id_expr ? str(op.id_expr) : std::to_string(op.id))
         << " threads=" << op.count;
      break;
    case Op::SetMaxNReg:
      os << op_name(op.kind) << " " << op.count;
      break;
    case Op::ClusterSync:
      os << op_name(op.kind);
      break;
    case Op::Compute: {
      os << "compute {";
      for (const auto& [n, r] : op.tensors) os << " " << n << "=" << ref_str(k, r) << ";";
      for (const auto& [n, s] : op.scalars)
        os << " " << n << "="
           << (s.int_value        ? str(s.int_value)
               : !s.param.empty() ? s.param
                                  : std::to_string(s.value))
           << ";";
      os << " }";
      for (const Stmt* s : op.stmts) {
        os << "\n" << pad << "    ";
        if (s->kind == Stmt::Mma) {
          os << "mma(...)";
        } else {
          os << s->target << "[";
          for (size_t i = 0; i < s->indices.size(); ++i) os << (i ? ", " : "") << s->indices[i];
          os << "] = " << expr_str(*s->value);
        }
      }
      break;
    }
    default:
      os << op_name(op.kind);
      break;
    }
    if (!op.note.empty()) os << "    // " << op.note;
    os << "\n";
  }
}

} // namespace

std::string to_text(const Kernel& k) {
  std::ostringstream os;
  os << "kernel " << k.name << "  (" << k.source << ")\n";
  os << "  grid:";
  for (size_t i = 0; i < k.grid.size(); ++i) os << " " << k.grid_vars[i] << " < " << str(k.grid[i]);
  os << "\n  threads: " << k.threads() << ", shared memory: " << k.smem_bytes << " bytes";
  if (k.last_tiles_first) os << ", last tiles first";
  if (k.persistent && !k.tiles) os << ", persistent";
  if (k.persistent && k.tiles) {
    os << ", persistent over " << str(k.tiles) << " tiles (";
    for (size_t i = 0; i < k.tile_grid.size(); ++i)
      os << (i ? " " : "") << k.tile_vars[i] << " < " << str(k.tile_grid[i]);
    os << ")";
  }
  if (k.cluster_x * k.cluster_y > 1) os << ", cluster " << k.cluster_x << "x" << k.cluster_y;
  if (k.cluster > 1) {
    os << " (" << k.cluster << " blocks split";
    for (size_t d = 0; d < k.cluster_dims.size(); ++d)
      os << (d ? " x " : " ") << k.cluster_dims[d].var << " by " << k.cluster_dims[d].size;
    os << ")";
  }
  os << "\n";
  for (const GlobalTensor& t : k.tensors) {
    os << "  global " << t.name << ": " << elem_name(t.elem) << "[";
    for (size_t i = 0; i < t.shape.size(); ++i) os << (i ? ", " : "") << str(t.shape[i]);
    os << "]" << (t.read ? " read" : "") << (t.written ? " written" : "") << "\n";
  }
  for (const SmemBuffer& s : k.smem) {
    os << "  smem " << s.name << ": " << elem_name(s.elem) << "[";
    for (size_t i = 0; i < s.shape.size(); ++i) os << (i ? ", " : "") << s.shape[i];
    os << "] x " << s.slots << " slots at " << s.offset
       << (s.swizzle != Swizzle::None
               ? ", " + std::to_string(swizzle_bytes(s.swizzle)) + "B swizzle"
               : "")
       << "\n";
  }
  for (const RegTensor& r : k.regs) {
    os << "  reg " << r.name << ": " << elem_name(r.elem) << "[";
    for (size_t i = 0; i < r.shape.size(); ++i) os << (i ? ", " : "") << r.shape[i];
    os << "] per warpgroup\n";
  }
  for (const Barrier& b : k.barriers)
    os << "  mbarrier " << b.name << "[" << b.slots << "], " << b.arrivals
       << " arrival(s) per phase\n";
  for (const Role& r : k.roles) {
    os << "  role " << r.name << " ("
       << (r.kind == Role::Producer ? "1 warp" : std::to_string(r.warpgroups) + " warpgroup(s)");
    if (r.max_regs) os << ", " << r.max_regs << " registers";
    os << "):\n";
    body_text(k, r.body, 4, os);
  }
  return os.str();
}

ElemType elem_of(const Kernel& k, const Ref& r) {
  size_t i = static_cast<size_t>(r.index);
  return r.kind == Ref::Reg    ? k.regs.at(i).elem
         : r.kind == Ref::Smem ? k.smem.at(i).elem
                               : k.tensors.at(i).elem;
}

} // namespace grove::kir
