// Synchronous data movement (Copy), leaf statements on the CUDA cores (Compute) and the
// arithmetic of a completing wgmma. Register tensors are logical, row-major per warpgroup.
#include <set>

#include "emulator/block.h"
#include "taskir/leaf_eval.h"

namespace grove::emu {

using kir::Op;
using kir::Ref;

namespace {

const std::vector<int64_t>& shape_of(const kir::Kernel& k,
                                     const std::vector<std::vector<int64_t>>& g, const Ref& r) {
  size_t i = static_cast<size_t>(r.index);
  switch (r.kind) {
  case Ref::Reg:
    if (r.index < 0 || i >= k.regs.size()) break;
    return k.regs[i].shape;
  case Ref::Smem:
    if (r.index < 0 || i >= k.smem.size()) break;
    return k.smem[i].shape;
  case Ref::Global:
    if (r.index < 0 || i >= g.size()) break;
    return g[i];
  }
  throw std::runtime_error("a reference to buffer " + std::to_string(r.index) +
                           ", which does not exist");
}

void names_read(const Expr& e, std::set<std::string>& out) {
  if (e.kind == Expr::Index && e.args[0]->kind == Expr::Name) out.insert(e.args[0]->name);
  if (e.kind == Expr::Call && e.name == "trans" && e.args.size() == 1 &&
      e.args[0]->kind == Expr::Name)
    out.insert(e.args[0]->name);
  if (e.kind == Expr::Name) out.insert(e.name); // an mma operand
  for (const ExprPtr& a : e.args) names_read(*a, out);
}

} // namespace

Box Block::box(const Agent& a, const Ref& r, const Env& env) const {
  const std::vector<int64_t>& shape = shape_of(k_, global_shapes_, r);
  Box b = eval_box(r, shape, env);
  if (r.kind == Ref::Smem) {
    b.cta = a.cta;
    smem_[static_cast<size_t>(a.cta)].check(b);
  }
  if (r.kind == Ref::Reg && !inside(b, shape))
    throw std::runtime_error("box " + box_str(b) + " is outside register tensor " +
                             k_.regs[static_cast<size_t>(r.index)].name + " " + shape_str(shape));
  return b;
}

std::vector<double> Block::read(Agent& a, const Op& op, const Ref& r, const Box& b) {
  if (r.kind == Ref::Smem) {
    check_smem_in_flight(a, op, b, false);
    for (const std::string& c : smem_[static_cast<size_t>(b.cta)].access(
             b, false, a.epoch(), a.vc, a.label + "'s " + kir::op_name(op.kind)))
      error(a, &op, "reads shared memory: " + c);
    return smem_[static_cast<size_t>(b.cta)].read(b, r.swizzle);
  }
  std::vector<int64_t> idx = box_indices(b, shape_of(k_, global_shapes_, r));
  const std::vector<double>* src;
  if (r.kind == Ref::Reg) {
    check_regs_in_flight(a, op, r.index, false);
    src = &a.regs[static_cast<size_t>(r.index)];
  } else {
    src = &globals_[static_cast<size_t>(r.index)]->data;
  }
  std::vector<double> v(idx.size());
  for (size_t i = 0; i < idx.size(); ++i)
    v[i] = idx[i] < 0 ? 0.0 : (*src)[static_cast<size_t>(idx[i])];
  return v;
}

void Block::write(Agent& a, const Op& op, const Ref& r, const Box& b,
                  const std::vector<double>& v) {
  if (r.kind == Ref::Smem) {
    check_smem_in_flight(a, op, b, true);
    for (const std::string& c : smem_[static_cast<size_t>(b.cta)].access(
             b, true, a.epoch(), a.vc, a.label + "'s " + kir::op_name(op.kind)))
      error(a, &op, "writes shared memory: " + c);
    smem_[static_cast<size_t>(b.cta)].write(b, r.swizzle, v);
    a.unfenced_smem.push_back(b);
    return;
  }
  std::vector<int64_t> idx = box_indices(b, shape_of(k_, global_shapes_, r));
  std::vector<double>* dst;
  if (r.kind == Ref::Reg) {
    check_regs_in_flight(a, op, r.index, true);
    a.regs_unfenced[static_cast<size_t>(r.index)] = true;
    dst = &a.regs[static_cast<size_t>(r.index)];
  } else {
    dst = &globals_[static_cast<size_t>(r.index)]->data;
  }
  ElemType t = elem_of(k_, r);
  for (size_t i = 0; i < idx.size(); ++i)
    if (idx[i] >= 0) (*dst)[static_cast<size_t>(idx[i])] = round_to(t, v[i]);
}

void Block::copy(Agent& a, const Op& op) {
  Box s = box(a, op.src, a.env), d = box(a, op.dst, a.env);
  if (s.count() != d.count())
    throw Fatal("copy of " + std::to_string(s.count()) + " elements into a box of " +
                std::to_string(d.count()));
  write(a, op, op.dst, d, read(a, op, op.src, s));
}

void Block::compute(Agent& a, const Op& op) {
  std::set<std::string> reads, writes;
  for (const Stmt* s : op.stmts) {
    if (s->kind == Stmt::Assign) {
      writes.insert(s->target);
      names_read(*s->value, reads);
    } else if (s->kind == Stmt::Mma) {
      for (const ExprPtr& e : s->args) names_read(*e, reads);
      if (!s->args.empty() && s->args[0]->kind == Expr::Name) writes.insert(s->args[0]->name);
    } else {
      throw Fatal("a compute op runs only assignments and mma statements");
    }
  }
  std::map<std::string, Dense> dense;
  std::map<std::string, Box> boxes;
  LeafEnv env;
  for (const auto& [name, r] : op.tensors) {
    Box b = box(a, r, a.env);
    Dense& d = dense[name];
    d.name = name;
    d.elem = elem_of(k_, r);
    d.shape = r.shape;
    d.data = reads.count(name) ? read(a, op, r, b)
                               : std::vector<double>(static_cast<size_t>(b.count()), 0.0);
    boxes[name] = b;
    env.tensors[name] = &d;
  }
  for (const auto& [name, s] : op.scalars) {
    if (s.int_value)
      env.scalars[name] = static_cast<double>(kir::eval(*s.int_value, a.env));
    else if (!s.param.empty()) {
      auto it = float_params_.find(s.param);
      if (it == float_params_.end()) throw Fatal("float parameter '" + s.param + "' has no value");
      env.scalars[name] = it->second;
    } else {
      env.scalars[name] = s.value;
    }
  }
  for (const Stmt* s : op.stmts) {
    try {
      run_leaf_statement(*s, env);
    } catch (const GroveError& e) {
      std::string at;
      if (e.loc.valid() && opts_.sources)
        at = " at " + opts_.sources->path(e.loc.file) + ":" + std::to_string(e.loc.line) + ":" +
             std::to_string(e.loc.col);
      throw Fatal(std::string("leaf statement") + at + ": " + e.what());
    }
  }
  for (const std::string& name : writes) {
    auto it = op.tensors.find(name);
    if (it == op.tensors.end())
      throw Fatal("the leaf writes '" + name + "', which this op does not bind");
    write(a, op, it->second, boxes[name], dense[name].data);
  }
}

void Block::mma(AsyncOp& o) {
  Agent& a = agents_[static_cast<size_t>(o.agent)];
  const Op& op = *o.op;
  auto get = [&](const Ref& r) {
    Box b = box(a, r, o.env);
    if (r.kind == Ref::Smem) return smem_[static_cast<size_t>(b.cta)].read(b, r.swizzle);
    std::vector<int64_t> idx = box_indices(b, k_.regs[static_cast<size_t>(r.index)].shape);
    std::vector<double> v(idx.size());
    for (size_t i = 0; i < idx.size(); ++i)
      v[i] = a.regs[static_cast<size_t>(r.index)][static_cast<size_t>(idx[i])];
    return v;
  };
  std::vector<double> A = get(op.src), B = get(op.src2);
  int64_t M = op.dst.shape[0], N = op.dst.shape[1],
          K = op.trans_a ? op.src.shape[0] : op.src.shape[1];
  Box d = box(a, op.dst, o.env);
  std::vector<int64_t> idx = box_indices(d, k_.regs[static_cast<size_t>(op.dst.index)].shape);
  std::vector<double>& acc = a.regs[static_cast<size_t>(op.dst.index)];
  ElemType t = k_.regs[static_cast<size_t>(op.dst.index)].elem;
  // Dense row-major A (M x K), B (K x N) and C (M x N) for matmul_add.
  if (op.trans_a) A = transposed(A, K, M);
  if (op.trans_b) B = transposed(B, N, K);
  std::vector<double> c(idx.size());
  for (size_t e = 0; e < idx.size(); ++e) c[e] = acc[static_cast<size_t>(idx[e])];
  matmul_add(A.data(), B.data(), c.data(), M, N, K);
  for (size_t e = 0; e < idx.size(); ++e) acc[static_cast<size_t>(idx[e])] = round_to(t, c[e]);
}

} // namespace grove::emu
