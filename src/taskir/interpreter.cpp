#include "taskir/interpreter.h"

#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>

#include "frontend/check.h"
#include "taskir/leaf_eval.h"
#include "taskir/partition.h"

namespace grove {
namespace {

struct Value {
  enum Kind { Int, Float, Tensor, Part } kind = Int;
  int64_t i = 0;
  double f = 0;
  View view;
  std::shared_ptr<Partition> part;
  double num() const { return kind == Int ? static_cast<double>(i) : f; }
};

Value int_value(int64_t v) {
  Value x;
  x.i = v;
  return x;
}
Value float_value(double v) {
  Value x;
  x.kind = Value::Float;
  x.f = v;
  return x;
}

// The value of an int parameter given as a number; an error unless it is a whole number in range.
int64_t to_int(double v, const Param& p, SourceLoc loc) {
  if (!(std::fabs(v) <= 9007199254740992.0) || v != std::floor(v)) // 2^53; false for NaN
    throw GroveError(loc, "int parameter '" + p.name + "' gets " + std::to_string(v) +
                              ", which is not a whole number of at most 2^53");
  return static_cast<int64_t>(v);
}

// The most elements one tensor may have in the CPU interpreter (8 GiB of doubles).
constexpr int64_t kMaxElements = int64_t(1) << 30;

// Product of extents, or -1 when it exceeds kMaxElements (so it cannot overflow).
int64_t element_count(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t v : shape) {
    if (v <= 0) return 0;
    if (v > kMaxElements / n) return -1;
    n *= v;
  }
  return n;
}

class Frame {
public:
  Frame() { scopes_.emplace_back(); }
  void push() { scopes_.emplace_back(); }
  void pop() { scopes_.pop_back(); }
  void define(const std::string& n, Value v) { scopes_.back()[n] = std::move(v); }
  const Value* find(const std::string& n) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      auto f = it->find(n);
      if (f != it->end()) return &f->second;
    }
    return nullptr;
  }
  // Every scalar in scope, for leaf expressions.
  std::map<std::string, double> scalars() const {
    std::map<std::string, double> out;
    for (const auto& sc : scopes_)
      for (const auto& [n, v] : sc)
        if (v.kind == Value::Int || v.kind == Value::Float) out[n] = v.num();
    return out;
  }

private:
  std::vector<std::map<std::string, Value>> scopes_;
};

Memory default_memory(Level l) {
  switch (l) {
  case Level::Host:
    return Memory::Global;
  case Level::Block:
    return Memory::Shared;
  default:
    return Memory::Register;
  }
}

class Interp {
public:
  Interp(const Program& p, const MappingDecl* m, const RunOptions& o)
      : prog_(p), map_(m), opts_(o) {
    if (map_)
      for (const Instance& in : map_->instances) instances_.emplace(in.name, &in);
  }

  RunStats stats;

  void run(const TaskDecl& task, const VariantDecl& var, const Instance* inst,
           const std::vector<Value>& args, SourceLoc call_loc) {
    ++stats.launches;
    // Bounds that turn a runaway program (a task launching itself, an enormous loop) into an error.
    if (depth_ >= 64)
      fail(call_loc, "launches nest deeper than 64 levels: does a task launch itself?",
           "give the recursion a case that stops it, or launch a different task");
    step(call_loc);
    struct Depth {
      int& d;
      explicit Depth(int& x) : d(x) { ++d; }
      ~Depth() { --d; }
    } depth(depth_);
    Frame fr;
    bind_params(task, args, call_loc, fr);
    if (var.leaf) {
      run_leaf(task, var, inst, args, call_loc, fr);
    } else {
      for (const StmtPtr& s : var.body) inner_stmt(*s, task, var, inst, fr);
    }
  }

private:
  const Program& prog_;
  const MappingDecl* map_;
  RunOptions opts_;
  std::map<std::string, const Instance*> instances_;
  std::set<const Instance*> checked_;
  int depth_ = 0;
  int64_t steps_ = 0; // launches and loop iterations, against opts_.max_steps

  void step(SourceLoc loc) {
    if (++steps_ > opts_.max_steps)
      fail(loc,
           "more than " + std::to_string(opts_.max_steps) +
               " launches and loop iterations: the program is too large to run on the CPU",
           "use smaller sizes on the CPU, or larger tiles");
  }

  // ---- binding ----
  void bind_params(const TaskDecl& task, const std::vector<Value>& args, SourceLoc call_loc,
                   Frame& fr) {
    if (args.size() != task.params.size())
      throw GroveError(call_loc, "task '" + task.name + "' takes " +
                                     std::to_string(task.params.size()) + " arguments");
    for (size_t i = 0; i < args.size(); ++i) {
      const Param& p = task.params[i];
      const Value& a = args[i];
      if (!p.type.is_tensor) {
        if (a.kind == Value::Tensor || a.kind == Value::Part)
          throw GroveError(call_loc,
                           "parameter '" + p.name + "' of '" + task.name + "' needs a number");
        fr.define(p.name,
                  p.type.is_int ? int_value(to_int(a.num(), p, call_loc)) : float_value(a.num()));
        continue;
      }
      if (a.kind != Value::Tensor)
        throw GroveError(call_loc,
                         "parameter '" + p.name + "' of '" + task.name + "' needs a tensor");
      fr.define(p.name, a);
      std::vector<int64_t> shape = a.view.shape();
      if (shape.size() != p.type.dims.size())
        throw GroveError(call_loc, "rank mismatch: '" + task.name + "' gets a rank-" +
                                       std::to_string(shape.size()) + " tensor for parameter '" +
                                       p.name + "'");
      for (size_t d = 0; d < p.type.dims.size(); ++d) {
        const Expr& dim = *p.type.dims[d];
        int64_t want;
        std::string label;
        if (dim.kind == Expr::Int) {
          want = dim.ival;
          label = std::to_string(want);
        } else if (const Value* v = fr.find(dim.name)) {
          want = v->i;
          label = dim.name + " = " + std::to_string(want);
        } else {
          fr.define(dim.name, int_value(shape[d]));
          continue;
        }
        if (shape[d] != want)
          throw GroveError(
              call_loc,
              "shape mismatch: '" + task.name + "' gets a " + shape_str(shape) +
                  " tensor for parameter '" + p.name + "', whose dimension " + std::to_string(d) +
                  " must be " + label,
              "check the tile sizes the mapping sets against the shapes the task declares");
      }
    }
  }

  // ---- inner variants ----
  [[noreturn]] void fail(SourceLoc loc, const std::string& msg, const std::string& hint = {}) {
    throw GroveError(loc, msg, hint);
  }

  Value eval(const Expr& e, Frame& fr) {
    switch (e.kind) {
    case Expr::Int:
      return int_value(e.ival);
    case Expr::Float:
      return float_value(e.fval);
    case Expr::Inf:
      return float_value(std::numeric_limits<double>::infinity());
    case Expr::Name: {
      const Value* v = fr.find(e.name);
      if (!v) fail(e.loc, "'" + e.name + "' has no value here");
      return *v;
    }
    case Expr::Unary: {
      Value a = eval(*e.args[0], fr);
      if (a.kind == Value::Int) {
        if (e.op == "-" && a.i == std::numeric_limits<int64_t>::min()) overflow(e);
        return int_value(e.op == "-" ? -a.i : !a.i);
      }
      return float_value(e.op == "-" ? -a.f : !a.f);
    }
    case Expr::Binary: {
      Value a = eval(*e.args[0], fr), b = eval(*e.args[1], fr);
      const std::string& op = e.op;
      if (a.kind == Value::Int && b.kind == Value::Int) {
        int64_t x = a.i, y = b.i, r = 0;
        if ((op == "/" || op == "%") && y == 0) fail(e.loc, "division by zero");
        if ((op == "+" && __builtin_add_overflow(x, y, &r)) ||
            (op == "-" && __builtin_sub_overflow(x, y, &r)) ||
            (op == "*" && __builtin_mul_overflow(x, y, &r)) ||
            ((op == "/" || op == "%") && x == std::numeric_limits<int64_t>::min() && y == -1))
          overflow(e);
        if (op == "+" || op == "-" || op == "*") return int_value(r);
        if (op == "/") return int_value(x / y);
        if (op == "%") return int_value(x % y);
      } else {
        double x = a.num(), y = b.num();
        if (op == "+") return float_value(x + y);
        if (op == "-") return float_value(x - y);
        if (op == "*") return float_value(x * y);
        if (op == "/") return float_value(x / y);
      }
      fail(e.loc, "operator '" + op + "' cannot be used here");
    }
    case Expr::Index:
      return index(e, fr);
    case Expr::Call:
      return call(e, fr);
    case Expr::Reduce:
      break;
    }
    fail(e.loc, "this expression belongs in a leaf statement");
  }

  [[noreturn]] void overflow(const Expr& e) {
    fail(e.loc, "integer overflow in '" + expr_str(e) + "'",
         "sizes, tunables and indices are 64-bit integers; check the values the mapping sets");
  }

  int64_t eval_int(const Expr& e, Frame& fr) {
    Value v = eval(e, fr);
    if (v.kind != Value::Int) fail(e.loc, "expected an integer");
    return v.i;
  }

  Value index(const Expr& e, Frame& fr) {
    Value base = eval(*e.args[0], fr);
    std::vector<int64_t> idx;
    for (size_t i = 1; i < e.args.size(); ++i) idx.push_back(eval_int(*e.args[i], fr));
    Value out;
    out.kind = Value::Tensor;
    try {
      if (base.kind == Value::Part) {
        try {
          out.view = base.part->piece(idx);
        } catch (const std::invalid_argument& err) {
          fail(e.loc, err.what(),
               "pieces are numbered from 0; loop over cdiv(extent, tile size) of them");
        }
      } else if (base.kind == Value::Tensor) {
        for (size_t i = 0; i < idx.size(); ++i)
          if (idx[i] < 0 || idx[i] >= base.view.dims[i].extent)
            throw std::invalid_argument("index " + std::to_string(idx[i]) +
                                        " is outside dimension " + std::to_string(i) +
                                        " of extent " + std::to_string(base.view.dims[i].extent));
        out.view = base.view.select(idx);
      } else {
        fail(e.loc, "only tensors and partitions can be indexed");
      }
    } catch (const std::invalid_argument& err) {
      fail(e.loc, err.what());
    }
    return out;
  }

  Value call(const Expr& e, Frame& fr) {
    const std::string& f = e.name;
    if (f == "cdiv" || f == "min" || f == "max") {
      Value a = eval(*e.args[0], fr), b = eval(*e.args[1], fr);
      if (a.kind == Value::Int && b.kind == Value::Int) {
        if (f == "cdiv") {
          if (b.i <= 0)
            fail(e.loc, "cdiv by " + std::to_string(b.i) + "; the divisor must be positive");
          return int_value(a.i / b.i + (a.i % b.i > 0 ? 1 : 0));
        }
        return int_value(f == "min" ? std::min(a.i, b.i) : std::max(a.i, b.i));
      }
      return float_value(f == "min" ? std::min(a.num(), b.num()) : std::max(a.num(), b.num()));
    }
    Value t = eval(*e.args[0], fr);
    if (t.kind != Value::Tensor) fail(e.args[0]->loc, "'" + f + "' needs a tensor");
    Value out;
    out.kind = Value::Part;
    try {
      if (f == "tile" || f == "rows" || f == "cols") {
        std::vector<int64_t> sizes;
        for (size_t i = 1; i < e.args.size(); ++i) sizes.push_back(eval_int(*e.args[i], fr));
        std::vector<int> dims;
        if (f == "tile")
          for (int d = 0; d < t.view.rank(); ++d) dims.push_back(d);
        else
          dims.push_back(f == "rows" ? 0 : 1);
        out.part = std::make_shared<Partition>(make_tile(t.view, dims, sizes));
      } else if (f == "mma_frag") {
        int m = 0, n = 0, k = 0;
        parse_mma_shape(e.args[2]->name, m, n, k);
        const std::string& lv = e.args[3]->name;
        Level level = lv == "WARP"     ? Level::Warp
                      : lv == "THREAD" ? Level::Thread
                                       : Level::Warpgroup;
        out.part =
            std::make_shared<Partition>(make_mma_frag(t.view, e.args[1]->name[0], m, n, k, level));
      } else {
        fail(e.loc, "unknown function '" + f + "'");
      }
    } catch (const std::invalid_argument& err) {
      fail(e.loc, std::string(err.what()),
           "choose tile sizes and MMA shapes that divide the tensor");
    }
    return out;
  }

  const Instance* resolve(const Instance* parent, const std::string& task, SourceLoc loc) {
    if (!map_ || !parent) fail(loc, "no mapping instance runs task '" + task + "'");
    for (const auto& [t, target] : parent->calls)
      if (t.value == task) return instances_.at(target.value);
    const Instance* found = nullptr;
    for (const Instance& in : map_->instances)
      if (in.task == task) {
        if (found)
          fail(loc, "several instances run task '" + task + "'; add a call line to instance '" +
                        parent->name + "'");
        found = &in;
      }
    if (!found) fail(loc, "mapping '" + map_->name + "' has no instance for task '" + task + "'");
    return found;
  }

  void inner_stmt(const Stmt& s, const TaskDecl& task, const VariantDecl& var, const Instance* inst,
                  Frame& fr) {
    switch (s.kind) {
    case Stmt::Tunable:
      define_tunables(s, inst, fr);
      break;
    case Stmt::Local: {
      std::vector<int64_t> shape = local_shape(s, fr);
      // Locals start poisoned with NaN so a read before any write shows in the results.
      auto buf = std::make_shared<Buffer>(s.names[0], s.type.elem, shape,
                                          std::numeric_limits<double>::quiet_NaN(), opts_.compute);
      Value v;
      v.kind = Value::Tensor;
      v.view = View::whole(buf);
      fr.define(s.names[0], v);
      break;
    }
    case Stmt::Let:
      fr.define(s.names[0], eval(*s.value, fr));
      break;
    case Stmt::For: {
      std::vector<int64_t> ext;
      for (const ExprPtr& a : s.args) ext.push_back(eval_int(*a, fr));
      int64_t total = 1; // saturates: step() stops a loop that large long before the end
      for (int64_t x : ext)
        if (__builtin_mul_overflow(total, std::max<int64_t>(x, 0), &total))
          total = std::numeric_limits<int64_t>::max();
      std::vector<int64_t> idx(ext.size(), 0);
      for (int64_t it = 0; it < total; ++it) {
        step(s.loc);
        fr.push();
        for (size_t d = 0; d < ext.size(); ++d) fr.define(s.names[d], int_value(idx[d]));
        for (const StmtPtr& b : s.body) inner_stmt(*b, task, var, inst, fr);
        fr.pop();
        for (size_t d = ext.size(); d-- > 0;) {
          if (++idx[d] < ext[d]) break;
          idx[d] = 0;
        }
      }
      break;
    }
    case Stmt::Launch: {
      std::vector<Value> args;
      for (const ExprPtr& a : s.args) args.push_back(eval(*a, fr));
      const Instance* child = resolve(inst, s.callee, s.callee_loc);
      const TaskDecl* ct = prog_.find_task(child->task);
      const VariantDecl* cv = prog_.find_variant(child->task, child->variant);
      if (!ct || !cv) fail(s.callee_loc, "instance '" + child->name + "' has no runnable variant");
      run(*ct, *cv, child, args, s.callee_loc);
      break;
    }
    case Stmt::Mma:
    case Stmt::Assign:
      fail(s.loc, "leaf statement in inner variant '" + var.task + "." + var.name + "'");
    }
  }

  // The shape of a local tensor, each dimension positive and the whole small enough to allocate.
  std::vector<int64_t> local_shape(const Stmt& s, Frame& fr) {
    std::vector<int64_t> shape;
    for (const ExprPtr& d : s.type.dims) {
      int64_t v = eval_int(*d, fr);
      if (v <= 0)
        fail(d->loc, "local '" + s.names[0] + "' has a dimension of " + std::to_string(v),
             "check the tile sizes the mapping sets");
      shape.push_back(v);
    }
    if (element_count(shape) < 0)
      fail(s.loc,
           "local '" + s.names[0] + "' " + shape_str(shape) +
               " is too large for the CPU interpreter",
           "a tensor may have at most 2^30 elements here; check the tile sizes the mapping sets");
    return shape;
  }

  void define_tunables(const Stmt& s, const Instance* inst, Frame& fr) {
    for (size_t i = 0; i < s.names.size(); ++i) {
      bool found = false;
      if (inst)
        for (const auto& [n, v] : inst->tunables)
          if (n.value == s.names[i]) {
            fr.define(s.names[i], int_value(v.value));
            found = true;
          }
      if (!found)
        fail(s.name_locs[i],
             "tunable '" + s.names[i] + "' has no value" +
                 (inst ? " in instance '" + inst->name + "'" : ""),
             "set it in the mapping: tunable " + s.names[i] + " = <value>;");
    }
  }

  // ---- leaves ----
  Memory memory_of(const Instance* inst, const std::string& name) {
    if (inst)
      for (const auto& [n, m] : inst->memories)
        if (n.value == name) return m.value;
    return inst ? default_memory(inst->level) : Memory::Global;
  }

  void run_leaf(const TaskDecl& task, const VariantDecl& var, const Instance* inst,
                const std::vector<Value>& args, SourceLoc call_loc, Frame& fr) {
    ++stats.leaf_runs;
    // Arguments that overlap while one is written would make the result depend on the order of
    // stores: refuse them.
    for (size_t i = 0; i < args.size(); ++i)
      for (size_t j = i + 1; j < args.size(); ++j) {
        const Param &pi = task.params[i], &pj = task.params[j];
        if (!pi.type.is_tensor || !pj.type.is_tensor) continue;
        if ((can_write(pi.priv) || can_write(pj.priv)) && args[i].view.may_overlap(args[j].view))
          fail(call_loc,
               "arguments for '" + pi.name + "' and '" + pj.name + "' of '" + task.name +
                   "' overlap and one of them is written",
               "pass disjoint pieces, or merge them into one readwrite parameter");
      }
    std::vector<std::unique_ptr<Dense>> owned;
    LeafEnv env;
    env.exact = opts_.exact;
    for (size_t i = 0; i < args.size(); ++i) {
      const Param& p = task.params[i];
      if (!p.type.is_tensor) continue;
      auto d = std::make_unique<Dense>();
      d->name = p.name;
      d->elem = p.type.elem;
      d->shape = args[i].view.shape();
      if (element_count(d->shape) < 0)
        fail(call_loc,
             "'" + task.name + "' gets a " + shape_str(d->shape) + " tensor for parameter '" +
                 p.name + "', too large for the CPU interpreter",
             "a tensor may have at most 2^30 elements here; check the tile sizes the mapping "
             "sets");
      if (opts_.compute) {
        if (can_read(p.priv))
          args[i].view.gather(d->data);
        else
          d->data.assign(static_cast<size_t>(args[i].view.count()),
                         std::numeric_limits<double>::quiet_NaN());
      }
      env.tensors[p.name] = d.get();
      owned.push_back(std::move(d));
    }
    for (const StmtPtr& s : var.body) {
      switch (s->kind) {
      case Stmt::Tunable:
        define_tunables(*s, inst, fr);
        break;
      case Stmt::Let:
        fr.define(s->names[0], eval(*s->value, fr));
        break;
      case Stmt::Local: {
        auto d = std::make_unique<Dense>();
        d->name = s->names[0];
        d->elem = s->type.elem;
        d->shape = local_shape(*s, fr);
        if (opts_.compute)
          d->data.assign(static_cast<size_t>(element_count(d->shape)),
                         std::numeric_limits<double>::quiet_NaN());
        env.tensors[d->name] = d.get();
        owned.push_back(std::move(d));
        break;
      }
      case Stmt::Assign:
      case Stmt::Mma:
        if (s->kind == Stmt::Mma && inst && inst->level == Level::Warpgroup)
          check_wgmma(*s, env, inst);
        if (opts_.compute) {
          env.scalars = fr.scalars();
          run_leaf_statement(*s, env);
        }
        break;
      default:
        fail(s->loc, "launches and loops do not belong in a leaf");
      }
    }
    if (inst && inst->level == Level::Warpgroup && checked_.insert(inst).second)
      check_registers(env, inst, task);
    if (!opts_.compute) return;
    for (size_t i = 0; i < args.size(); ++i) {
      const Param& p = task.params[i];
      if (p.type.is_tensor && can_write(p.priv))
        args[i].view.scatter(env.tensors[p.name]->data, opts_.exact);
    }
  }

  // The shapes a warpgroup can issue: M a multiple of 64 (one m64 instruction per 64 rows),
  // N a multiple of 8 up to 256, K a multiple of 16 (32 for 8-bit operands).
  void check_wgmma(const Stmt& s, LeafEnv& env, const Instance* inst) {
    auto shape = [&](const Expr& e, bool& tr) -> const std::vector<int64_t>& {
      tr = e.kind == Expr::Call;
      const Expr& n = tr ? *e.args[0] : e;
      auto it = env.tensors.find(n.name);
      if (it == env.tensors.end()) fail(n.loc, "'" + n.name + "' is not a tensor of this leaf");
      return it->second->shape;
    };
    bool t0, ta, tb;
    const auto& c = shape(*s.args[0], t0);
    const auto& a = shape(*s.args[1], ta);
    (void)shape(*s.args[2], tb);
    const Expr& an = ta ? *s.args[1]->args[0] : *s.args[1];
    const ElemType a_type = env.tensors.at(an.name)->elem;
    int64_t M = c[0], N = c[1], K = a[ta ? 0 : 1];
    const std::string error = wgmma_shape_error(inst->name, M, N, K, a_type);
    if (!error.empty()) fail(inst->loc, error, wgmma_shape_hint(a_type));
  }

  // A warpgroup's register tensors are spread over its 128 threads; each thread has 255 registers.
  void check_registers(LeafEnv& env, const Instance* inst, const TaskDecl& task) {
    int64_t regs = 0;
    std::string parts;
    for (const auto& [name, d] : env.tensors) {
      if (memory_of(inst, name) != Memory::Register) continue;
      int64_t n = element_count(d->shape); // at most 2^30: leaf tensors are checked on entry
      int64_t r = (n * elem_bytes(d->elem) + 128 * 4 - 1) / (128 * 4);
      regs += r;
      parts += (parts.empty() ? "" : ", ") + name + " " + shape_str(d->shape) + " " +
               elem_name(d->elem) + ": " + std::to_string(r);
    }
    if (regs > 255)
      fail(inst->loc,
           "instance '" + inst->name + "' (" + task.name + " @ WARPGROUP) needs " +
               std::to_string(regs) + " registers per thread for its register tensors (" + parts +
               "); a thread has at most 255",
           "use smaller tiles per warpgroup, or more warpgroups per block");
  }
};

} // namespace

const TaskDecl* entry_task(const Program& prog, const MappingDecl& mapping) {
  if (!mapping.entry) return nullptr;
  for (const Instance& in : mapping.instances)
    if (in.name == mapping.entry->value) return prog.find_task(in.task);
  return nullptr;
}

EntryArgs allocate_entry(const TaskDecl& task, const std::map<std::string, int64_t>& sizes,
                         const std::map<std::string, double>& scalars, SourceLoc where,
                         bool allocate) {
  EntryArgs args;
  for (const Param& p : task.params) {
    if (!p.type.is_tensor) {
      auto it = sizes.find(p.name);
      auto given = scalars.find(p.name);
      if (given != scalars.end()) {
        if (p.type.is_int && given->second != std::floor(given->second))
          throw GroveError(p.loc, "scalar '" + p.name + "' is an int, but was given " +
                                      std::to_string(given->second));
        args.scalars[p.name] = given->second;
      } else if (it != sizes.end()) {
        args.scalars[p.name] = static_cast<double>(it->second);
      } else if (p.default_value) {
        args.scalars[p.name] = constant_value(*p.default_value).value_or(0.0);
      } else {
        throw GroveError(p.loc, "scalar '" + p.name + "' of task '" + task.name + "' has no value",
                         "give it with --arg " + p.name +
                             "=<value>, or a default in the task declaration");
      }
      continue;
    }
    std::vector<int64_t> shape;
    for (const ExprPtr& d : p.type.dims) {
      if (d->kind == Expr::Int) {
        shape.push_back(d->ival);
        continue;
      }
      auto it = sizes.find(d->name);
      if (it == sizes.end())
        throw GroveError(d->loc, "size '" + d->name + "' of task '" + task.name + "' is not given",
                         "pass it with --size " + d->name + "=<value>");
      if (it->second <= 0 || it->second > (int64_t(1) << 20))
        throw GroveError(
            d->loc, "size " + d->name + " = " + std::to_string(it->second) + " is out of range",
            "sizes run from 1 to 1048576");
      shape.push_back(it->second);
    }
    if (element_count(shape) < 0)
      throw GroveError(p.loc,
                       "tensor '" + p.name + "' " + shape_str(shape) +
                           " is too large for the CPU interpreter",
                       "use smaller sizes on the CPU");
    args.tensors[p.name] = std::make_shared<Buffer>(p.name, p.type.elem, shape, 0.0, allocate);
  }
  (void)where;
  return args;
}

namespace {
std::vector<Value> entry_values(const TaskDecl& task, EntryArgs& args) {
  std::vector<Value> vals;
  for (const Param& p : task.params) {
    Value v;
    if (p.type.is_tensor) {
      auto it = args.tensors.find(p.name);
      if (it == args.tensors.end())
        throw GroveError(p.loc, "no tensor given for parameter '" + p.name + "'");
      v.kind = Value::Tensor;
      v.view = View::whole(it->second);
    } else {
      v = p.type.is_int ? int_value(to_int(args.scalars[p.name], p, p.loc))
                        : float_value(args.scalars[p.name]);
    }
    vals.push_back(v);
  }
  return vals;
}
} // namespace

RunStats run_mapping(const Program& prog, const MappingDecl& mapping, EntryArgs& args,
                     const RunOptions& opts) {
  const Instance* entry = nullptr;
  for (const Instance& in : mapping.instances)
    if (mapping.entry && in.name == mapping.entry->value) entry = &in;
  if (!entry) throw GroveError(mapping.loc, "mapping '" + mapping.name + "' has no entry instance");
  const TaskDecl* task = prog.find_task(entry->task);
  const VariantDecl* var = prog.find_variant(entry->task, entry->variant);
  if (!task || !var)
    throw GroveError(entry->loc, "entry instance '" + entry->name + "' has no runnable variant");
  Interp in(prog, &mapping, opts);
  in.run(*task, *var, entry, entry_values(*task, args), entry->loc);
  return in.stats;
}

RunStats run_reference(const Program& prog, const TaskDecl& task, const VariantDecl& ref,
                       EntryArgs& args, const RunOptions& opts) {
  Interp in(prog, nullptr, opts);
  in.run(task, ref, nullptr, entry_values(task, args), ref.loc);
  return in.stats;
}

double check_tolerance(const Program& prog, const MappingDecl& m, ElemType out) {
  double bound = tolerance_for(out);
  for (const Instance& inst : m.instances) {
    const VariantDecl* v = prog.find_variant(inst.task, inst.variant);
    if (!v || !v->leaf) continue;
    for (const StmtPtr& s : v->body)
      if (s->kind == Stmt::Local) bound = std::max(bound, tolerance_for(s->type.elem));
  }
  return bound;
}

} // namespace grove
