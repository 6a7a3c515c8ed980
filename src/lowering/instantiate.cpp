// Pass 1a: instantiate the task tree symbolically. The HOST variant's parallel launches of blocks
// become block programs (one kernel each); inside a block, BLOCK-level inner instances are inlined
// and every launch of a WARPGROUP leaf becomes a leaf event. Where a child's mapping puts a tensor
// in another memory than its parent holds it, a copy event is inserted before the launch (when the
// child reads it) and after (when it writes it): the copies that copy elimination later trims.
#include <algorithm>
#include <map>

#include "lowering/passes.h"

namespace grove::lower {
namespace {

using namespace kir;

struct SymPart {
  View base;
  std::vector<int> cut;       // view dims cut
  std::vector<int64_t> sizes; // piece size per cut dim
};

struct Value {
  enum Kind { Int, Float, Tensor, Part } kind = Int;
  IExprP i;
  Scalar f;
  View view;
  std::shared_ptr<SymPart> part;
};

struct Env {
  std::vector<std::map<std::string, Value>> scopes{1};
  void define(const std::string& n, Value v) { scopes.back()[n] = std::move(v); }
  const Value* find(const std::string& n) const {
    for (auto it = scopes.rbegin(); it != scopes.rend(); ++it)
      if (auto f = it->find(n); f != it->end()) return &f->second;
    return nullptr;
  }
};

[[noreturn]] void fail(SourceLoc loc, const std::string& msg, const std::string& hint = {}) {
  throw GroveError(loc, msg, hint);
}

class Instantiator {
public:
  Instantiator(const Program& p, const MappingDecl& m, const std::map<std::string, int64_t>& sizes,
               Lowered& out)
      : prog_(p), map_(m), sizes_(sizes), out_(out) {}

  void run() {
    const Instance* entry = find_instance(map_.entry ? map_.entry->value : "", map_.loc);
    const TaskDecl* task = prog_.find_task(entry->task);
    Env env;
    for (const Param& p : task->params) {
      if (p.type.is_tensor) {
        GlobalTensor g{p.name, p.type.elem, {}, can_read(p.priv), can_write(p.priv)};
        for (const ExprPtr& d : p.type.dims) {
          if (d->kind == Expr::Int) {
            g.shape.push_back(cst(d->ival));
          } else {
            g.shape.push_back(size(d->name));
            if (!env.find(d->name)) {
              Value v;
              v.i = size(d->name);
              env.define(d->name, v);
            }
          }
        }
        out_.globals.push_back(g);
      }
    }
    for (const Param& p : task->params) {
      Value v;
      if (p.type.is_tensor) {
        v.kind = Value::Tensor;
        v.view.tensor = -1 - static_cast<int>(global_index(p.name)); // resolved per block
      } else if (p.type.is_int) {
        v.i = size(p.name);
      } else {
        v.kind = Value::Float;
        v.f.param = p.name;
        float_params_.push_back(p.name);
      }
      env.define(p.name, v);
    }
    host_body(prog_.find_variant(entry->task, entry->variant)->body, entry, env, {}, {});
  }

private:
  const Program& prog_;
  const MappingDecl& map_;
  const std::map<std::string, int64_t>& sizes_;
  Lowered& out_;

  // A size is a constant when the caller fixed it, a kernel parameter otherwise.
  IExprP size(const std::string& n) {
    if (auto it = sizes_.find(n); it != sizes_.end()) return cst(it->second);
    if (std::find(out_.size_vars.begin(), out_.size_vars.end(), n) == out_.size_vars.end())
      out_.size_vars.push_back(n);
    return var(n);
  }
  std::vector<std::string> float_params_;
  BlockProgram* bp_ = nullptr;
  std::map<std::string, int> reg_homes_; // register copies of views, by view text

  size_t global_index(const std::string& name) const {
    for (size_t i = 0; i < out_.globals.size(); ++i)
      if (out_.globals[i].name == name) return i;
    return 0;
  }

  const Instance* find_instance(const std::string& name, SourceLoc loc) {
    for (const Instance& in : map_.instances)
      if (in.name == name) return &in;
    fail(loc, "mapping '" + map_.name + "' has no instance '" + name + "'");
  }

  const Instance* resolve(const Instance* parent, const std::string& task, SourceLoc loc) {
    for (const auto& [t, target] : parent->calls)
      if (t.value == task) return find_instance(target.value, loc);
    for (const Instance& in : map_.instances)
      if (in.task == task) return &in;
    fail(loc, "mapping '" + map_.name + "' has no instance for task '" + task + "'");
  }

  // ---- symbolic evaluation ----
  Value eval(const Expr& e, Env& env) {
    Value out;
    switch (e.kind) {
    case Expr::Int:
      out.i = cst(e.ival);
      return out;
    case Expr::Float:
      out.kind = Value::Float;
      out.f.value = e.fval;
      return out;
    case Expr::Name: {
      const Value* v = env.find(e.name);
      if (!v) fail(e.loc, "'" + e.name + "' has no value here");
      Value r = *v;
      if (r.kind == Value::Tensor && r.view.tensor < 0) r.view = global_view(-1 - r.view.tensor);
      return r;
    }
    case Expr::Unary: {
      Value a = eval(*e.args[0], env);
      if (a.kind != Value::Int) fail(e.loc, "the lowering handles integer arithmetic here only");
      out.i = sub(cst(0), a.i);
      return out;
    }
    case Expr::Binary: {
      Value a = eval(*e.args[0], env), b = eval(*e.args[1], env);
      if (a.kind != Value::Int || b.kind != Value::Int)
        fail(e.loc, "the lowering handles integer arithmetic here only");
      static const std::map<std::string, IExpr::Op> ops = {{"+", IExpr::Add},
                                                           {"-", IExpr::Sub},
                                                           {"*", IExpr::Mul},
                                                           {"/", IExpr::Div},
                                                           {"%", IExpr::Mod}};
      auto it = ops.find(e.op);
      if (it == ops.end()) fail(e.loc, "operator '" + e.op + "' cannot be lowered here");
      out.i = bin(it->second, a.i, b.i);
      return out;
    }
    case Expr::Call:
      return call(e, env);
    case Expr::Index:
      return index(e, env);
    default:
      fail(e.loc, "this expression cannot be lowered here");
    }
  }

  View global_view(int g) {
    if (!bp_) fail(SourceLoc{}, "a global tensor is used outside a block");
    View v;
    v.tensor = g; // globals occupy the first tensor slots of every block program
    const GlobalTensor& gt = out_.globals[static_cast<size_t>(g)];
    for (size_t a = 0; a < gt.shape.size(); ++a) {
      v.origin.push_back(cst(0));
      v.axes.push_back(static_cast<int>(a));
      v.extent.push_back(gt.shape[a]);
    }
    return v;
  }

  Value call(const Expr& e, Env& env) {
    Value out;
    if (e.name == "cdiv" || e.name == "min" || e.name == "max") {
      Value a = eval(*e.args[0], env), b = eval(*e.args[1], env);
      if (a.kind != Value::Int || b.kind != Value::Int)
        fail(e.loc, "the lowering handles integer '" + e.name + "' only");
      out.i = bin(e.name == "cdiv"  ? IExpr::CeilDiv
                  : e.name == "min" ? IExpr::Min
                                    : IExpr::Max,
                  a.i, b.i);
      return out;
    }
    Value t = eval(*e.args[0], env);
    auto part = std::make_shared<SymPart>();
    part->base = t.view;
    if (e.name == "tile" || e.name == "rows" || e.name == "cols") {
      for (size_t i = 1; i < e.args.size(); ++i) {
        Value s = eval(*e.args[i], env);
        int64_t c = 0;
        if (!is_const(s.i, &c))
          fail(e.args[i]->loc, "tile sizes must be known when lowering (set them as tunables)");
        int d = e.name == "tile" ? static_cast<int>(i - 1) : e.name == "rows" ? 0 : 1;
        part->cut.push_back(d);
        part->sizes.push_back(c);
      }
    } else if (e.name == "mma_frag") {
      const std::string& level = e.args[3]->name;
      if (level != "WARPGROUP")
        fail(e.loc, "mma_frag at " + level + " cannot be lowered yet",
             "partition for WARPGROUP and use warpgroup leaves");
      if (e.args[1]->name != "B") {
        part->cut.push_back(0);
        part->sizes.push_back(64);
      }
    } else {
      fail(e.loc, "'" + e.name + "' cannot be lowered");
    }
    // Below the whole tensor, pieces must tile their parent exactly: a ragged piece of a piece
    // would reach into its neighbour, which no TMA box or register fragment can express (TMA
    // clips at the tensor's edges only). A dimension a view of a global tensor spans whole (a
    // block's K) may be ragged; one it cuts (a split-K chunk of KS columns) may not.
    for (size_t i = 0; i < part->cut.size(); ++i) {
      const size_t d = static_cast<size_t>(part->cut[i]);
      int64_t ext = 0;
      bool whole = false;
      if (t.view.tensor >= 0 && t.view.tensor < static_cast<int>(out_.globals.size())) {
        const GlobalTensor& gt = out_.globals[static_cast<size_t>(t.view.tensor)];
        whole = to_string(*t.view.extent[d]) ==
                to_string(*gt.shape[static_cast<size_t>(t.view.axes[d])]);
      }
      if (!whole && is_const(t.view.extent[d], &ext) && ext % part->sizes[i] != 0)
        fail(e.loc,
             "partition of a " + std::to_string(ext) + "-long dimension into pieces of " +
                 std::to_string(part->sizes[i]) + " does not divide",
             "its last piece would reach past the " + std::to_string(ext) +
                 " into the neighbouring view (TMA clips at the tensor's edges only): choose a "
                 "tile size that divides " +
                 std::to_string(ext));
    }
    out.kind = Value::Part;
    out.part = part;
    return out;
  }

  Value index(const Expr& e, Env& env) {
    Value base = eval(*e.args[0], env);
    std::vector<IExprP> idx;
    for (size_t i = 1; i < e.args.size(); ++i) {
      Value v = eval(*e.args[i], env);
      if (v.kind != Value::Int) fail(e.args[i]->loc, "an index must be an integer");
      idx.push_back(v.i);
    }
    Value out;
    out.kind = Value::Tensor;
    if (base.kind == Value::Part) {
      View v = base.part->base;
      for (size_t i = 0; i < base.part->cut.size(); ++i) {
        size_t d = static_cast<size_t>(base.part->cut[i]);
        int64_t size = base.part->sizes[i];
        size_t a = static_cast<size_t>(v.axes[d]);
        v.origin[a] = add(v.origin[a], mul(idx[i], cst(size)));
        v.extent[d] = cst(size);
      }
      out.view = v;
    } else {
      View v = base.view;
      for (size_t i = 0; i < idx.size(); ++i) {
        size_t a = static_cast<size_t>(v.axes[i]);
        v.origin[a] = add(v.origin[a], idx[i]);
      }
      v.axes.erase(v.axes.begin(), v.axes.begin() + static_cast<long>(idx.size()));
      v.extent.erase(v.extent.begin(), v.extent.begin() + static_cast<long>(idx.size()));
      out.view = v;
    }
    return out;
  }

  // ---- HOST ----
  void host_body(const std::vector<StmtPtr>& body, const Instance* inst, Env& env,
                 std::vector<std::string> gvars, std::vector<IExprP> grid) {
    for (const StmtPtr& s : body) {
      switch (s->kind) {
      case Stmt::Tunable:
        tunables(*s, inst, env);
        break;
      case Stmt::Let:
        env.define(s->names[0], eval_outside_block(*s->value, env));
        break;
      case Stmt::Local:
        host_local(*s, env);
        break;
      case Stmt::For: {
        if (!s->parallel || !gvars.empty())
          fail(s->loc, "the lowering supports one parallel loop of blocks at HOST",
               "write the grid as a single prange, e.g. for i, j in prange(MT, NT)");
        std::vector<IExprP> ext;
        for (const ExprPtr& a : s->args) ext.push_back(eval_outside_block(*a, env).i);
        env.scopes.emplace_back();
        for (const std::string& n : s->names) {
          Value v;
          v.i = var(n);
          env.define(n, v);
        }
        host_body(s->body, inst, env, s->names, ext);
        env.scopes.pop_back();
        break;
      }
      case Stmt::Launch: {
        const Instance* child = resolve(inst, s->callee, s->callee_loc);
        if (child->level == Level::Host) {
          Env inner;
          bind(*s, child, env, inner, nullptr);
          host_body(prog_.find_variant(child->task, child->variant)->body, child, inner, gvars,
                    grid);
        } else if (child->level == Level::Block) {
          block_kernel(*s, child, env, gvars, grid);
        } else {
          fail(s->callee_loc,
               "HOST launches '" + child->name + "' at " + level_name(child->level) +
                   "; the lowering needs blocks between the host and warpgroups",
               "map the task the host launches @ BLOCK");
        }
        break;
      }
      default:
        fail(s->loc, "this statement cannot run at HOST");
      }
    }
  }

  // A HOST local is a temporary in global memory that the runtime allocates for the program's
  // kernels (flash-decoding's partial results, a split-K GEMM's partial sums): one kernel writes it
  // and a later one reads it, ordered as the launches are on one stream.
  // (check_mapping has refused any other memory for it.)
  void host_local(const Stmt& s, Env& env) {
    GlobalTensor g{s.names[0], s.type.elem, {}, true, true};
    g.temporary = true;
    // Unique among the kernels' tensors (a HOST task launched twice declares its local twice).
    for (int n = 2; global_named(g.name); ++n) g.name = s.names[0] + "_" + std::to_string(n);
    for (const ExprPtr& d : s.type.dims) g.shape.push_back(eval_outside_block(*d, env).i);
    out_.globals.push_back(g);
    Value v;
    v.kind = Value::Tensor;
    v.view.tensor = -1 - static_cast<int>(out_.globals.size() - 1); // resolved per block
    env.define(s.names[0], v);
  }

  bool global_named(const std::string& name) const {
    for (const GlobalTensor& t : out_.globals)
      if (t.name == name) return true;
    return false;
  }

  // HOST-level values hold no block yet: tensors stay as global references.
  Value eval_outside_block(const Expr& e, Env& env) {
    BlockProgram scratch;
    BlockProgram* saved = bp_;
    if (!bp_) bp_ = &scratch;
    Value v = eval(e, env);
    bp_ = saved;
    return v;
  }

  void tunables(const Stmt& s, const Instance* inst, Env& env) {
    for (const std::string& n : s.names) {
      Value v;
      for (const auto& [k, val] : inst->tunables)
        if (k.value == n) v.i = cst(val.value);
      if (!v.i) fail(s.loc, "tunable '" + n + "' has no value in instance '" + inst->name + "'");
      env.define(n, v);
    }
  }

  // ---- BLOCK ----
  void block_kernel(const Stmt& launch, const Instance* block, Env& env,
                    const std::vector<std::string>& gvars, const std::vector<IExprP>& grid) {
    out_.blocks.emplace_back();
    BlockProgram& bp = out_.blocks.back();
    bp_ = &bp;
    reg_homes_.clear();
    bp.name = block->task + "_" + std::to_string(out_.blocks.size() - 1);
    bp.block = block;
    bp.grid_vars = gvars;
    bp.grid = grid;
    bp.float_params = float_params_;
    if (block->pipeline)
      bp.pipeline_depth = block->pipeline->value; // 0: auto, decided by the scheduler
    if (block->warp_specialize) bp.warp_specialize = block->warp_specialize->value;
    if (block->pingpong) bp.pingpong = block->pingpong->value;
    if (block->smem_bytes) bp.smem_limit = block->smem_bytes->value;
    for (const GlobalTensor& g : out_.globals) {
      Tensor t;
      t.kind = Tensor::Global;
      t.name = g.name;
      t.elem = g.elem;
      t.memory = Memory::Global;
      t.shape = g.shape;
      t.param = static_cast<int>(&g - out_.globals.data());
      bp.tensors.push_back(t);
    }
    Env inner;
    Events after;
    bind(launch, block, env, inner, &bp.events, &after);
    block_body(prog_.find_variant(block->task, block->variant)->body, block, inner, bp.events);
    for (Event& e : after) bp.events.push_back(std::move(e));
    bp_ = nullptr;
  }

  // Binds a child's parameters from a launch's arguments. Tensors whose memory changes get a copy
  // event in `before` (child reads) and `after` (child writes).
  void bind(const Stmt& launch, const Instance* child, Env& env, Env& inner, Events* before,
            Events* after = nullptr, const std::string& wg_var = {}, int wg_count = 0,
            std::vector<std::pair<std::string, Privilege>>* privs = nullptr) {
    const TaskDecl* task = prog_.find_task(child->task);
    for (size_t i = 0; i < task->params.size(); ++i) {
      const Param& p = task->params[i];
      Value a = eval_outside_block(*launch.args[i], env); // a HOST child binds outside any block
      if (!p.type.is_tensor) {
        inner.define(p.name, a);
        continue;
      }
      if (privs) privs->push_back({p.name, p.priv});
      // Bind the child's size names from the argument's extents.
      for (size_t d = 0; d < p.type.dims.size(); ++d) {
        const Expr& dim = *p.type.dims[d];
        if (dim.kind == Expr::Name && !inner.find(dim.name)) {
          Value v;
          v.i = a.view.extent[d];
          inner.define(dim.name, v);
        }
      }
      if (before) a.view = place(a.view, p, child, launch.loc, *before, after, wg_var, wg_count);
      inner.define(p.name, a);
    }
  }

  Memory memory_of(const View& v) const {
    return bp_->tensors[static_cast<size_t>(v.tensor)].memory;
  }

  // Where the child wants the tensor; returns the view it gets (a copy's, when memory changes).
  View place(const View& v, const Param& p, const Instance* child, SourceLoc loc, Events& before,
             Events* after, const std::string& wg_var, int wg_count) {
    Memory have = memory_of(v);
    std::optional<Memory> want;
    for (const auto& [n, m] : child->memories)
      if (n.value == p.name) want = m.value;
    bool leaf = prog_.find_variant(child->task, child->variant)->leaf;
    if (!want) {
      if (have == Memory::None && leaf)
        want = Memory::Register;
      else
        return v;
    }
    if (*want == have) return v;
    Tensor& src = bp_->tensors[static_cast<size_t>(v.tensor)];
    if (have == Memory::None && *want == Memory::Register) {
      src.per_warpgroup = true; // the local lives in registers, in pieces (vectorization checks)
      return v;
    }
    if (*want == Memory::None) {
      if (have == Memory::Global) return v; // pieces of it move further down
      fail(loc, "'" + p.name + "' is in " + memory_name(have) + " and instance '" + child->name +
                    "' asks for NONE: NONE cannot be honoured for data that is already whole");
    }
    if (have == Memory::None)
      fail(loc,
           "'" + src.name + "' is NONE (never whole at block level) but instance '" + child->name +
               "' needs it in " + memory_name(*want) + ": NONE cannot be honoured",
           "map the local to SHARED, or pass it to warpgroup leaves in pieces");
    std::vector<int64_t> shape;
    try {
      shape = v.const_extent();
    } catch (const std::logic_error&) {
      fail(loc,
           "'" + p.name + "' of instance '" + child->name +
               "' has a shape that depends on the problem size; " + memory_name(*want) +
               " buffers need a fixed tile",
           "partition the tensor into tiles of tunable size before placing it in " +
               std::string(memory_name(*want)));
    }
    int buf = -1;
    std::string key;
    if (*want == Memory::Register) { // one register home per view, so copies in and out pair up
      key = view_str(*bp_, v) + "@" + wg_var;
      if (auto it = reg_homes_.find(key); it != reg_homes_.end()) buf = it->second;
    }
    if (buf < 0) {
      Tensor t;
      t.kind = Tensor::Buffer;
      t.name = src.name + "_" + (*want == Memory::Shared ? "s" : "r") +
               std::to_string(bp_->tensors.size());
      t.elem = p.type.elem;
      t.memory = *want;
      for (int64_t s : shape) t.shape.push_back(cst(s));
      t.per_warpgroup = wg_count > 0;
      t.loc = loc;
      buf = static_cast<int>(bp_->tensors.size());
      bp_->tensors.push_back(t);
      if (!key.empty()) reg_homes_[key] = buf;
    }
    View whole;
    whole.tensor = buf;
    for (size_t d = 0; d < shape.size(); ++d) {
      whole.origin.push_back(cst(0));
      whole.axes.push_back(static_cast<int>(d));
      whole.extent.push_back(cst(shape[d]));
    }
    auto copy = [&](const View& from, const View& to) {
      Event e;
      e.kind = Event::Copy;
      e.id = out_.next_id++;
      e.loc = loc;
      e.note = "copy for '" + p.name + "' of instance " + child->name + " (" + child->task + ")";
      e.src = from;
      e.dst = to;
      e.wg_var = wg_var;
      e.wg_count = wg_count;
      return e;
    };
    if (can_read(p.priv)) before.push_back(copy(v, whole));
    if (can_write(p.priv)) {
      if (!after) fail(loc, "the lowering cannot copy '" + p.name + "' back here");
      after->push_back(copy(whole, v));
    }
    return whole;
  }

  // An srange's Loop event, its body's events made by `fill` with the loop variable in scope.
  template <class Fill>
  void seq_loop(const Stmt& s, const Instance* inst, Env& env, Events& out, const char* where,
                Fill fill) {
    if (s.names.size() != 1)
      fail(s.loc, std::string("a sequential loop in a ") + where + " has one variable");
    Event loop;
    loop.kind = Event::Loop;
    loop.id = out_.next_id++;
    loop.loc = s.loc;
    loop.var = s.names[0];
    loop.extent = eval(*s.args[0], env).i;
    loop.note = "srange in " + inst->name;
    env.scopes.emplace_back();
    Value v;
    v.i = var(s.names[0]);
    env.define(s.names[0], v);
    fill(loop.body);
    env.scopes.pop_back();
    out.push_back(std::move(loop));
  }

  void block_body(const std::vector<StmtPtr>& body, const Instance* inst, Env& env, Events& out) {
    for (const StmtPtr& s : body) {
      switch (s->kind) {
      case Stmt::Tunable:
        tunables(*s, inst, env);
        break;
      case Stmt::Let:
        env.define(s->names[0], eval(*s->value, env));
        break;
      case Stmt::Local: {
        Tensor t;
        t.kind = Tensor::Buffer;
        t.name = s->names[0];
        t.elem = s->type.elem;
        t.memory = Memory::Shared;
        for (const auto& [n, m] : inst->memories)
          if (n.value == s->names[0]) t.memory = m.value;
        for (const ExprPtr& d : s->type.dims) {
          Value v = eval(*d, env);
          if (!is_const(v.i))
            fail(d->loc,
                 "block local '" + s->names[0] + "' needs a fixed shape, but " +
                     kir::to_string(*v.i) + " depends on the problem size",
                 "fix that size when compiling, e.g. --size D=128");
          t.shape.push_back(v.i);
        }
        t.loc = s->loc;
        Value v;
        v.kind = Value::Tensor;
        v.view.tensor = static_cast<int>(bp_->tensors.size());
        for (size_t d = 0; d < t.shape.size(); ++d) {
          v.view.origin.push_back(cst(0));
          v.view.axes.push_back(static_cast<int>(d));
          v.view.extent.push_back(t.shape[d]);
        }
        bp_->tensors.push_back(t);
        env.define(s->names[0], v);
        break;
      }
      case Stmt::For: {
        if (s->parallel) {
          if (s->names.size() != 1) fail(s->loc, "a prange over warpgroups has one variable");
          Value ext = eval(*s->args[0], env);
          int64_t n = 0;
          if (!is_const(ext.i, &n))
            fail(s->args[0]->loc, "the number of warpgroups must be fixed by tunables");
          env.scopes.emplace_back();
          Value v;
          v.i = var(s->names[0]);
          env.define(s->names[0], v);
          for (const StmtPtr& b : s->body) {
            if (b->kind == Stmt::Let) {
              env.define(b->names[0], eval(*b->value, env));
            } else if (b->kind == Stmt::Launch) {
              wg_launch(*b, inst, env, out, s->names[0], static_cast<int>(n));
            } else {
              fail(b->loc,
                   "a prange over warpgroups may only bind names and launch warpgroup tasks");
            }
          }
          env.scopes.pop_back();
          break;
        }
        seq_loop(*s, inst, env, out, "block",
                 [&](Events& loop_body) { block_body(s->body, inst, env, loop_body); });
        break;
      }
      case Stmt::Launch: {
        const Instance* child = resolve(inst, s->callee, s->callee_loc);
        if (child->level == Level::Block) {
          const VariantDecl* v = prog_.find_variant(child->task, child->variant);
          if (v->leaf)
            fail(s->callee_loc,
                 "leaf '" + child->name + "' runs at BLOCK; the lowering runs leaves on warpgroups",
                 "map it @ WARPGROUP, launched from a prange over warpgroups");
          Env inner;
          Events after;
          bind(*s, child, env, inner, &out, &after);
          block_body(v->body, child, inner, out);
          for (Event& e : after) out.push_back(std::move(e));
        } else if (child->level == Level::Warpgroup) {
          wg_launch(*s, inst, env, out, "", 1);
        } else {
          fail(s->callee_loc,
               "instance '" + child->name + "' at " + level_name(child->level) +
                   " cannot be lowered yet",
               "map leaves @ WARPGROUP");
        }
        break;
      }
      default:
        fail(s->loc, "this statement cannot run at BLOCK");
      }
    }
  }

  // A leaf's locals live in the warpgroup's registers, except those its instance gives SHARED
  // memory (an 8-bit operand a wgmma must read from shared memory, such as FP8 attention's P):
  // those become buffers of the block, one region per warpgroup, passed to the leaf as arguments
  // it reads and writes (so dependence analysis orders the iterations that reuse them).
  void shared_locals(const VariantDecl& v, const Instance* child, Env& inner, int wg_count,
                     Event& e) {
    for (const StmtPtr& st : v.body) {
      if (st->kind != Stmt::Local) continue;
      std::optional<Memory> want;
      for (const auto& [n, m] : child->memories)
        if (n.value == st->names[0]) want = m.value;
      if (!want || *want == Memory::Register) continue;
      if (*want != Memory::Shared)
        fail(st->loc,
             "leaf local '" + st->names[0] + "' of instance '" + child->name + "' is given " +
                 memory_name(*want) + "; the lowering keeps leaf locals in REGISTER or SHARED",
             "give it REGISTER or SHARED memory");
      Tensor t;
      t.kind = Tensor::Buffer;
      t.name = child->name + "." + st->names[0];
      t.elem = st->type.elem;
      t.memory = Memory::Shared;
      t.per_warpgroup = wg_count > 0;
      t.loc = st->loc;
      View whole;
      whole.tensor = static_cast<int>(bp_->tensors.size());
      for (const ExprPtr& d : st->type.dims) {
        Value dv = eval(*d, inner);
        if (!is_const(dv.i))
          fail(d->loc, "shared leaf local '" + st->names[0] + "' needs a fixed shape, but " +
                           kir::to_string(*dv.i) + " depends on the problem size");
        t.shape.push_back(dv.i);
        whole.origin.push_back(cst(0));
        whole.axes.push_back(static_cast<int>(whole.axes.size()));
        whole.extent.push_back(dv.i);
      }
      bp_->tensors.push_back(t);
      e.args.push_back({st->names[0], whole});
      e.privs.push_back({st->names[0], Privilege::ReadWrite});
    }
  }

  // A launch on the warpgroup(s) `wg_var` names (one, when empty): a leaf, or a warpgroup task
  // that launches others, whose body is inlined here. Its loops become block loops around the
  // leaves they launch: the warpgroups' iterations of a prange are independent, so a prange over
  // a sequence is the sequence of pranges, and a prange over a loop the loop over pranges
  // (gemm.grove's store_wg.pieces: the epilogue in column pieces).
  void wg_launch(const Stmt& s, const Instance* parent, Env& env, Events& out,
                 const std::string& wg_var, int wg_count) {
    const Instance* child = resolve(parent, s.callee, s.callee_loc);
    if (child->level != Level::Warpgroup)
      fail(s.callee_loc,
           "instance '" + parent->name + "' launches '" + child->name + "' at " +
               level_name(child->level) +
               " on a warpgroup; the lowering runs warpgroup leaves here",
           "map it @ WARPGROUP");
    const VariantDecl* v = prog_.find_variant(child->task, child->variant);
    if (v->leaf) return leaf_launch(s, child, v, env, out, wg_var, wg_count);
    Env inner;
    Events after;
    bind(s, child, env, inner, &out, &after, wg_var, wg_count);
    wg_body(v->body, child, inner, out, wg_var, wg_count);
    for (Event& e : after) out.push_back(std::move(e));
  }

  void wg_body(const std::vector<StmtPtr>& body, const Instance* inst, Env& env, Events& out,
               const std::string& wg_var, int wg_count) {
    for (const StmtPtr& s : body) {
      switch (s->kind) {
      case Stmt::Tunable:
        tunables(*s, inst, env);
        break;
      case Stmt::Let:
        env.define(s->names[0], eval(*s->value, env));
        break;
      case Stmt::Launch:
        wg_launch(*s, inst, env, out, wg_var, wg_count);
        break;
      case Stmt::For: {
        if (s->parallel)
          fail(s->loc,
               "a prange in warpgroup task '" + inst->name +
                   "': the lowering gives a warpgroup's work to its 128 threads only in a leaf",
               "loop with srange, or write the work as one leaf");
        seq_loop(*s, inst, env, out, "warpgroup task", [&](Events& loop_body) {
          wg_body(s->body, inst, env, loop_body, wg_var, wg_count);
        });
        break;
      }
      case Stmt::Local:
        fail(s->loc,
             "warpgroup task '" + inst->name + "' declares local '" + s->names[0] +
                 "': the lowering places locals of blocks (SHARED, NONE) and of leaves "
                 "(REGISTER, SHARED)",
             "declare it in the block's variant (NONE keeps it in the warpgroups' registers) and "
             "pass each warpgroup its part");
      default:
        fail(s->loc, "this statement cannot run in a warpgroup task");
      }
    }
  }

  void leaf_launch(const Stmt& s, const Instance* child, const VariantDecl* v, Env& env,
                   Events& out, const std::string& wg_var, int wg_count) {
    Env inner;
    Events after;
    Event e;
    e.kind = Event::Leaf;
    bind(s, child, env, inner, &out, &after, wg_var, wg_count, &e.privs);
    e.id = out_.next_id++;
    e.loc = s.callee_loc;
    e.note = child->name + " (" + child->task + "." + child->variant + ")";
    e.instance = child;
    e.variant = v;
    e.wg_var = wg_var;
    e.wg_count = wg_count;
    const TaskDecl* task = prog_.find_task(child->task);
    for (const Param& p : task->params) {
      const Value* val = inner.find(p.name);
      if (p.type.is_tensor) e.args.push_back({p.name, val->view});
    }
    // Every scalar name the leaf can see: parameters, sizes bound from its arguments, tunables.
    for (const StmtPtr& st : v->body)
      if (st->kind == Stmt::Tunable) tunables(*st, child, inner);
    shared_locals(*v, child, inner, wg_count, e);
    for (const auto& [n, val] : inner.scopes.back()) {
      if (val.kind == Value::Int)
        e.scalars.push_back({n, Scalar{val.i, "", 0}});
      else if (val.kind == Value::Float)
        e.scalars.push_back({n, val.f});
    }
    out.push_back(std::move(e));
    for (Event& a : after) out.push_back(std::move(a));
  }
};

} // namespace

void instantiate(const Program& prog, const MappingDecl& mapping,
                 const std::map<std::string, int64_t>& sizes, Lowered& out) {
  Instantiator(prog, mapping, sizes, out).run();
}

} // namespace grove::lower
