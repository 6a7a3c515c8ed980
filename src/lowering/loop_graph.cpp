// Builds the scheduler's graph from the event IR of a block's pipelined loop: TMA loads from the
// producer copies, and per consumer warpgroup one wgmma node per mma and one CUDA-core node per
// run of element-wise statements (their exponentials and other arithmetic counted per element).
// Edges follow the event dependences; loop-carried ones have distance 1.
#include "lowering/loop_graph.h"

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#ifdef GROVE_HAVE_SCHEDULER
#include "scheduler/print.h"
#include "scheduler/solve.h"
#endif

namespace grove::lower {
namespace {

using nlohmann::json;

int64_t elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// Arithmetic per element of an expression: (special-function ops, other fp32 ops).
void count_ops(const Expr& e, double& sfu, double& fp32,
               const std::map<std::string, int64_t>& extents, double scale) {
  switch (e.kind) {
  case Expr::Call:
    if (e.name == "exp2" || e.name == "exp" || e.name == "log2" || e.name == "tanh" ||
        e.name == "sqrt")
      sfu += scale;
    else
      fp32 += scale;
    break;
  case Expr::Binary:
  case Expr::Unary:
    fp32 += scale;
    break;
  case Expr::Reduce: {
    auto it = extents.find(e.var);
    scale *= it == extents.end() ? 1 : static_cast<double>(it->second);
    fp32 += scale; // the reduction's own adds or maxes
    break;
  }
  default:
    break;
  }
  for (const ExprPtr& a : e.args) count_ops(*a, sfu, fp32, extents, scale);
}

struct Builder {
  const BlockProgram& b;
  json ops = json::array(), edges = json::array();
  std::map<int, std::vector<std::pair<std::string, std::string>>>
      nodes; // event -> per wg (first, last)
  int64_t fixed_smem = 0;

  std::vector<int64_t> shape_of(const Event& e, const std::string& name) {
    for (const auto& [n, v] : e.args)
      if (n == name) return v.const_extent();
    for (const StmtPtr& s : e.variant->body)
      if (s->kind == Stmt::Local && s->names[0] == name) {
        std::vector<int64_t> out;
        for (const ExprPtr& d : s->type.dims) {
          int64_t v = 0;
          if (d->kind == Expr::Int) v = d->ival;
          for (const auto& [sn, sv] : e.scalars)
            if (d->kind == Expr::Name && sn == d->name && sv.int_value)
              kir::is_const(sv.int_value, &v);
          out.push_back(v);
        }
        return out;
      }
    return {};
  }

  void leaf(const Event& e, int wg) {
    std::string base = e.instance->name + "_w" + std::to_string(wg);
    std::string first, prev;
    int seg = 0;
    json alu;
    double sfu = 0, fp32 = 0;
    auto flush_alu = [&]() {
      if (sfu == 0 && fp32 == 0) return;
      std::string name = base + "_ew" + std::to_string(seg++);
      json work = json::object();
      if (sfu > 0) work["sfu_ops"] = sfu;
      if (fp32 > 0) work["fp32_ops"] = fp32;
      ops.push_back({{"name", name},
                     {"kind", "alu"},
                     {"work", work},
                     {"note", "element-wise statements of " + e.note}});
      if (!prev.empty()) edges.push_back({{"from", prev}, {"to", name}});
      if (first.empty()) first = name;
      prev = name;
      sfu = fp32 = 0;
    };
    for (const StmtPtr& s : e.variant->body) {
      if (s->kind == Stmt::Assign) {
        std::vector<int64_t> shape = shape_of(e, s->target);
        std::map<std::string, int64_t> ext;
        for (size_t i = 0; i < s->indices.size() && i < shape.size(); ++i)
          ext[s->indices[i]] = shape[i];
        // Reduction extents: the dims of the tensors the reduced index reads.
        std::function<void(const Expr&)> reduce_ext = [&](const Expr& x) {
          if (x.kind == Expr::Index)
            for (size_t i = 1; i < x.args.size(); ++i)
              if (x.args[i]->kind == Expr::Name && !ext.count(x.args[i]->name)) {
                std::vector<int64_t> sh = shape_of(e, x.args[0]->name);
                if (i - 1 < sh.size()) ext[x.args[i]->name] = sh[i - 1];
              }
          for (const ExprPtr& a : x.args) reduce_ext(*a);
        };
        reduce_ext(*s->value);
        double n = static_cast<double>(elements(shape));
        count_ops(*s->value, sfu, fp32, ext, n);
        fp32 += n * 0; // the store itself is free
      } else if (s->kind == Stmt::Mma) {
        flush_alu();
        auto name_of = [](const Expr& x) {
          return x.kind == Expr::Call ? x.args[0]->name : x.name;
        };
        std::vector<int64_t> c = shape_of(e, name_of(*s->args[0]));
        std::vector<int64_t> a = shape_of(e, name_of(*s->args[1]));
        bool ta = s->args[1]->kind == Expr::Call;
        int64_t K = a.size() == 2 ? a[ta ? 0 : 1] : 0;
        // 8-bit operands go through the tensor cores at twice the rate.
        bool fp8 = false;
        for (const auto& [n, v] : e.args)
          if (n == name_of(*s->args[1]))
            fp8 = is_fp8(b.tensors[static_cast<size_t>(v.tensor)].elem);
        std::string name = base + "_mma" + std::to_string(seg++);
        bool acc = false; // accumulated across iterations: carried in place
        for (const auto& [n, v] : e.args)
          if (n == name_of(*s->args[0])) acc = true;
        ops.push_back(
            {{"name", name},
             {"kind", "wgmma"},
             {"work",
              {{fp8 ? "tensor_fma_8bit" : "tensor_fma", static_cast<double>(elements(c) * K)}}},
             {"regs", static_cast<int>((elements(c) * 4 + 511) / 512)},
             {"accumulator", acc},
             {"note", "mma of " + e.note}});
        if (acc) edges.push_back({{"from", name}, {"to", name}, {"distance", 1}});
        if (!prev.empty()) edges.push_back({{"from", prev}, {"to", name}});
        if (first.empty()) first = name;
        prev = name;
      }
    }
    flush_alu();
    if (!first.empty()) nodes[e.id].push_back({first, prev});
  }

  void edge(const Event& from, const Event& to, int distance) {
    auto f = nodes.find(from.id), t = nodes.find(to.id);
    if (f == nodes.end() || t == nodes.end()) return;
    for (size_t i = 0; i < t->second.size(); ++i) {
      // Per-warpgroup events depend warpgroup by warpgroup; a block-wide copy feeds them all.
      size_t j = f->second.size() == 1 ? 0 : i;
      if (j >= f->second.size()) continue;
      if (f->second[j].second == t->second[i].first && distance == 0) continue;
      json e = {{"from", f->second[j].second}, {"to", t->second[i].first}};
      if (distance) e["distance"] = distance;
      edges.push_back(e);
    }
  }
};

const Event* find_loop(const Events& evs) {
  for (const Event& e : evs) {
    if (e.kind != Event::Loop) continue;
    for (const Event& x : e.body)
      if (x.kind == Event::Copy) return &e;
    if (const Event* inner = find_loop(e.body)) return inner;
  }
  return nullptr;
}

} // namespace

bool have_scheduler() {
#ifdef GROVE_HAVE_SCHEDULER
  return true;
#else
  return false;
#endif
}

#ifdef GROVE_HAVE_SCHEDULER
// Whether, in the steady state, CUDA-core work of one consumer warpgroup overlaps (modulo II) the
// tensor-core work of another: the FA3 ping-pong, which the lowering then enforces with turns.
bool pingpong(const sched::Schedule& s) {
  auto overlap = [&](int64_t a0, int64_t alen, int64_t b0, int64_t blen) {
    for (int64_t shift : {-s.ii, int64_t{0}, s.ii})
      if (a0 < b0 + shift + blen && b0 + shift < a0 + alen) return true;
    return false;
  };
  for (const sched::OpSlot& a : s.ops) {
    if (a.kind != "alu" || s.roles[static_cast<size_t>(a.role)].kind != "consumer") continue;
    for (const sched::OpSlot& m : s.ops) {
      if (m.kind != "wgmma" || m.role == a.role ||
          s.roles[static_cast<size_t>(m.role)].kind != "consumer")
        continue;
      for (const sched::UnitSlot& u : m.units)
        if (overlap(a.offset, a.busy, m.offset, u.cycles)) return true;
    }
  }
  return false;
}
#endif

LoopSchedule schedule_loop(const BlockProgram& b, const std::string& machine) {
  LoopSchedule out;
  const Event* loop = find_loop(b.events);
  if (!loop) return out;
  out.found = true;
  Builder g{b};
  std::map<int, const Event*> by_id;
  for (const Event& e : loop->body) {
    by_id[e.id] = &e;
    if (e.kind == Event::Copy &&
        b.tensors[static_cast<size_t>(e.src.tensor)].kind == Tensor::Global &&
        b.tensors[static_cast<size_t>(e.dst.tensor)].memory == Memory::Shared) {
      int64_t bytes = elem_bytes(b.tensors[static_cast<size_t>(e.src.tensor)].elem) *
                      elements(e.src.const_extent());
      std::string name = "load_" + b.tensors[static_cast<size_t>(e.dst.tensor)].name;
      g.ops.push_back({{"name", name},
                       {"kind", "tma_load"},
                       {"work", {{"bytes", bytes}}},
                       {"smem_bytes", bytes},
                       {"note", e.note}});
      g.nodes[e.id].push_back({name, name});
    } else if (e.kind == Event::Leaf) {
      for (int w = 0; w < std::max(1, b.consumer_warpgroups); ++w) g.leaf(e, w);
    }
  }
  // Only true dependences become edges: the scheduler resolves anti and output dependences itself,
  // by giving a value as many rotating copies as its lifetime needs.
  auto written = [&](const Event& e) {
    std::set<int> w;
    if (e.kind == Event::Copy) w.insert(e.dst.tensor);
    for (const auto& [n, v] : e.args)
      for (const auto& [pn, pr] : e.privs)
        if (pn == n && can_write(pr)) w.insert(v.tensor);
    return w;
  };
  auto read = [&](const Event& e) {
    std::set<int> r;
    if (e.kind == Event::Copy) r.insert(e.src.tensor);
    for (const auto& [n, v] : e.args)
      for (const auto& [pn, pr] : e.privs)
        if (pn == n && can_read(pr)) r.insert(v.tensor);
    return r;
  };
  auto true_dep = [&](const Event& from, const Event& to) {
    std::set<int> w = written(from), r = read(to);
    for (int t : w)
      if (r.count(t)) return true;
    return false;
  };
  for (const Event& e : loop->body) {
    for (int p : e.pre)
      if (by_id.count(p) && true_dep(*by_id[p], e)) g.edge(*by_id[p], e, 0);
    for (int p : e.pre_carried)
      if (by_id.count(p) && true_dep(*by_id[p], e)) g.edge(*by_id[p], e, 1);
  }
  for (const Tensor& t : b.tensors)
    if (t.memory == Memory::Shared && t.slots <= 1) {
      bool in_loop = false;
      for (const Event& e : loop->body)
        if (e.kind == Event::Copy && e.dst.tensor == static_cast<int>(&t - b.tensors.data()))
          in_loop = true;
      if (!in_loop) {
        int64_t n = elem_bytes(t.elem);
        for (const auto& d : t.shape) {
          int64_t v = 0;
          kir::is_const(d, &v);
          n *= v;
        }
        g.fixed_smem += b.alternate_tiles ? 2 * n : n; // a copy per warpgroup
      }
    }
  json graph = {{"name", b.name + "_loop"},
                {"description", "the pipelined loop of instance " + b.block->name},
                {"fixed_smem_bytes", g.fixed_smem},
                {"ops", g.ops},
                {"edges", g.edges}};
  out.graph_json = graph.dump(2);
#ifdef GROVE_HAVE_SCHEDULER
  sched::Graph sg = sched::parse_graph(out.graph_json, b.name);
  sched::Machine m = sched::load_machine(machine);
  m.smem_bytes = std::min<int64_t>(m.smem_bytes, b.smem_limit - 1024);
  sched::Schedule s = sched::solve(sg, m);
  out.text = sched::to_text(s);
  out.svg = sched::to_svg(s);
  if (!s.feasible)
    throw GroveError(b.block->loc,
                     "no software pipeline exists for instance '" + b.block->name +
                         "': " + s.reason,
                     "use smaller tiles, or set a pipeline depth by hand");
  for (const sched::Buffer& buf : s.buffers)
    if (buf.memory == "smem") out.depth = std::max(out.depth, buf.copies);
  out.pingpong = pingpong(s);
  if (out.depth == 0) out.depth = 2;
#else
  (void)machine;
  throw GroveError(b.block->loc,
                   "pipeline = auto needs the scheduler, and this Grove was built without it",
                   "rebuild with -DGROVE_SCHEDULER=ON (needs libz3-dev), or set a pipeline depth");
#endif
  return out;
}

} // namespace grove::lower
