// Checks of inner variants: statements, scalar arithmetic, partitions and launches (privileges,
// ranks, element types, and disjoint writes in a prange).
#include "frontend/variant_checker.h"
#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace grove::check_detail {

void VariantChecker::stmt(const Stmt& s) {
  switch (s.kind) {
  case Stmt::Tunable:
    for (size_t i = 0; i < s.names.size(); ++i)
      declare(s.names[i], Sym{Sym::Tunable, s.name_locs[i]});
    break;
  case Stmt::Local: {
    for (const ExprPtr& d : s.type.dims) expect_int(*d, "a tensor dimension");
    Sym t{Sym::Tensor, s.name_locs[0]};
    t.elem = s.type.elem;
    t.rank = static_cast<int>(s.type.dims.size());
    t.priv = Privilege::ReadWrite;
    t.root = s.names[0];
    t.dims = &s.type.dims;
    declare(s.names[0], t);
    break;
  }
  case Stmt::Let: {
    Type ty = expr(*s.value);
    if (ty.k == Type::Error) {
      poisoned_.insert(s.names[0]); // the error is reported; do not report each use as unknown
      break;
    }
    if (ty.k == Type::Bool) {
      diags_.error(s.value->loc,
                   "a let binds a size, a scalar, a tensor view or a partition, not a condition");
      break;
    }
    if (var_.leaf && (ty.k == Type::Tensor || ty.k == Type::Partition)) {
      // Leaf statements name their tensors directly: parameters and locals only.
      diags_.error(start_loc(*s.value),
                   "a let in leaf '" + where() + "' binds a " +
                       (ty.k == Type::Tensor ? "tensor view" : "partition") +
                       "; leaves use whole tensors by name",
                   "use the parameter itself, or partition it in the inner variant that launches "
                   "this leaf");
      poisoned_.insert(s.names[0]);
      break;
    }
    Sym v = ty.view;
    v.loc = s.name_locs[0];
    if (ty.k == Type::Int || ty.k == Type::Float) {
      v.kind = Sym::Scalar;
      v.is_int = ty.k == Type::Int;
    }
    int depth = v.decl_depth;
    declare(s.names[0], v);
    if (ty.k == Type::Tensor || ty.k == Type::Partition)
      scopes_.back()[s.names[0]].decl_depth = depth;
    break;
  }
  case Stmt::Launch:
    if (var_.leaf) {
      diags_.error(
          s.loc, "a leaf variant cannot launch tasks ('" + where() + "' is a leaf)",
          "make the variant 'inner' and move its computation into a leaf task it launches");
      break;
    }
    launch(s);
    break;
  case Stmt::For: {
    if (var_.leaf) {
      diags_.error(s.loc, "a leaf variant cannot contain loops ('" + where() + "' is a leaf)",
                   "element-wise statements range over whole tensors: write T[i, j] = ...; loops "
                   "belong in inner variants");
      break;
    }
    if (s.args.size() != s.names.size()) {
      diags_.error(s.loc,
                   std::to_string(s.names.size()) + " loop variable(s) but " +
                       std::to_string(s.args.size()) + " extent(s)",
                   "give one extent per variable, e.g. for i, j in prange(MT, NT)");
    }
    if (s.names.size() > 3) diags_.error(s.loc, "a loop has at most 3 variables");
    for (const ExprPtr& a : s.args) expect_int(*a, "a loop extent");
    scopes_.emplace_back();
    loops_.push_back({{}, s.parallel});
    for (size_t i = 0; i < s.names.size(); ++i) {
      Sym lv{Sym::LoopVar, s.name_locs[i]};
      lv.parallel = s.parallel;
      // A variable that could not be declared (a name clash, reported) selects nothing.
      if (declare(s.names[i], lv)) loops_.back().first.push_back(s.names[i]);
    }
    for (const StmtPtr& b : s.body) stmt(*b);
    loops_.pop_back();
    scopes_.pop_back();
    break;
  }
  case Stmt::Mma:
    if (!var_.leaf) {
      leaf_op_in_inner(s.loc, "mma");
      break;
    }
    mma(s);
    break;
  case Stmt::Assign:
    if (!var_.leaf) {
      leaf_op_in_inner(s.loc, "an element-wise statement");
      break;
    }
    assign(s);
    break;
  }
}

void VariantChecker::leaf_op_in_inner(SourceLoc loc, const char* what) {
  diags_.error(loc, std::string(what) + " in inner variant '" + where() + "'",
               "inner variants only partition and launch; put the computation in a leaf variant "
               "and launch it");
}

void VariantChecker::expect_int(const Expr& e, const char* what) {
  Type t = expr(e);
  if (t.k != Type::Int && t.k != Type::Error)
    diags_.error(e.loc, std::string(what) + " must be an integer expression");
}

Type VariantChecker::expr(const Expr& e) {
  Type out;
  switch (e.kind) {
  case Expr::Int:
    out.k = Type::Int;
    return out;
  case Expr::Float:
  case Expr::Inf:
    out.k = Type::Float;
    return out;
  case Expr::Name: {
    const Sym* s = lookup(e.name);
    if (!s) {
      unknown(e.name, e.loc);
      return out;
    }
    switch (s->kind) {
    case Sym::Size:
    case Sym::Tunable:
    case Sym::LoopVar:
      out.k = Type::Int;
      break;
    case Sym::Scalar:
      out.k = s->is_int ? Type::Int : Type::Float;
      break;
    case Sym::Tensor:
      out.k = Type::Tensor;
      out.view = *s;
      break;
    case Sym::Partition:
      out.k = Type::Partition;
      out.view = *s;
      break;
    case Sym::IndexVar:
      diags_.error(e.loc, "index variable '" + e.name + "' used outside an element-wise statement");
      break;
    }
    return out;
  }
  case Expr::Unary: {
    Type a = expr(*e.args[0]);
    if (a.k == Type::Error) return out;
    if (e.op == "!") {
      if (a.k != Type::Bool) diags_.error(e.loc, "'!' needs a condition");
      out.k = Type::Bool;
    } else {
      if (a.k != Type::Int && a.k != Type::Float) diags_.error(e.loc, "'-' needs a number");
      out.k = a.k == Type::Float ? Type::Float : Type::Int;
    }
    return out;
  }
  case Expr::Binary: {
    Type a = expr(*e.args[0]), b = expr(*e.args[1]);
    if (a.k == Type::Error || b.k == Type::Error) return out;
    bool logical = e.op == "&&" || e.op == "||";
    bool cmp =
        e.op == "<" || e.op == "<=" || e.op == ">" || e.op == ">=" || e.op == "==" || e.op == "!=";
    if (logical) {
      if (a.k != Type::Bool || b.k != Type::Bool)
        diags_.error(e.loc, "'" + e.op + "' needs conditions on both sides");
      out.k = Type::Bool;
      return out;
    }
    bool num_a = a.k == Type::Int || a.k == Type::Float,
         num_b = b.k == Type::Int || b.k == Type::Float;
    if (!num_a || !num_b) {
      diags_.error(e.loc, "'" + e.op + "' needs numbers on both sides",
                   "tensors are combined element by element in leaf statements, e.g. C[i, j] = "
                   "A[i, j] + B[i, j]");
      return out;
    }
    if (e.op == "%" && (a.k != Type::Int || b.k != Type::Int))
      diags_.error(e.loc, "'%' needs integers");
    out.k = cmp ? Type::Bool : (a.k == Type::Float || b.k == Type::Float) ? Type::Float : Type::Int;
    return out;
  }
  case Expr::Reduce:
    diags_.error(e.loc,
                 "reduction '" + e.name + "[" + e.var + "]' outside an element-wise statement",
                 "reductions belong in leaf variants");
    return out;
  case Expr::Index:
    return index(e);
  case Expr::Call:
    return call(e);
  }
  return out;
}

std::set<std::string> VariantChecker::loop_vars_in(const Expr& e) {
  std::set<std::string> out;
  if (e.kind == Expr::Name) {
    const Sym* s = lookup(e.name);
    if (s && s->kind == Sym::LoopVar) out.insert(e.name);
  }
  for (const ExprPtr& a : e.args) {
    auto sub = loop_vars_in(*a);
    out.insert(sub.begin(), sub.end());
  }
  return out;
}

Type VariantChecker::index(const Expr& e) {
  Type out;
  Type base = expr(*e.args[0]);
  if (base.k == Type::Error) return out;
  size_t n = e.args.size() - 1;
  for (size_t i = 1; i < e.args.size(); ++i) expect_int(*e.args[i], "an index");
  if (base.k == Type::Partition) {
    if (static_cast<int>(n) != base.view.color_rank) {
      static const char* example[] = {"P[i]", "P[i]", "P[i, j]", "P[i, j, k]"};
      int r = base.view.color_rank;
      diags_.error(e.loc,
                   "partition is indexed with " + std::to_string(n) + " index(es) but has " +
                       std::to_string(r) + " dimension(s) of pieces",
                   std::string("pick a piece with one index per tiled dimension, e.g. ") +
                       example[std::clamp(r, 0, 3)]);
      return out;
    }
    out.k = Type::Tensor;
    out.view = base.view;
    out.view.kind = Sym::Tensor;
  } else if (base.k == Type::Tensor) {
    if (static_cast<int>(n) >= base.view.rank) {
      diags_.error(e.loc,
                   "a tensor of rank " + std::to_string(base.view.rank) + " indexed with " +
                       std::to_string(n) + " index(es) in an inner variant",
                   "indexing selects leading dimensions and must leave at least one; element "
                   "access belongs in leaf variants");
      return out;
    }
    out.k = Type::Tensor;
    out.view = base.view;
    out.view.rank -= static_cast<int>(n);
    out.view.dims = nullptr;
  } else {
    diags_.error(e.loc, "only tensors and partitions can be indexed");
    return out;
  }
  for (size_t i = 1; i < e.args.size(); ++i) {
    auto vars = loop_vars_in(*e.args[i]);
    out.view.piece_vars.insert(vars.begin(), vars.end());
  }
  return out;
}

Type VariantChecker::call(const Expr& e) {
  Type out;
  const std::string& f = e.name;
  auto arity = [&](size_t n) {
    if (e.args.size() == n) return true;
    diags_.error(e.loc, "'" + f + "' takes " + std::to_string(n) + " argument(s), given " +
                            std::to_string(e.args.size()));
    return false;
  };
  if (f == "cdiv" || f == "min" || f == "max") {
    if (!arity(2)) return out;
    Type a = expr(*e.args[0]), b = expr(*e.args[1]);
    if (a.k == Type::Error || b.k == Type::Error) return out;
    bool ints = a.k == Type::Int && b.k == Type::Int;
    if (f == "cdiv" && !ints) {
      diags_.error(e.loc, "cdiv needs integers");
      return out;
    }
    if ((a.k != Type::Int && a.k != Type::Float) || (b.k != Type::Int && b.k != Type::Float)) {
      diags_.error(e.loc, "'" + f + "' needs numbers");
      return out;
    }
    out.k = ints ? Type::Int : Type::Float;
    return out;
  }
  if (f == "tile" || f == "rows" || f == "cols") {
    if (e.args.empty()) {
      diags_.error(e.loc, "'" + f + "' needs a tensor and tile sizes");
      return out;
    }
    Type t = expr(*e.args[0]);
    if (t.k == Type::Error) return out;
    if (t.k != Type::Tensor) {
      diags_.error(e.args[0]->loc, "'" + f + "' partitions a tensor; this is not one");
      return out;
    }
    size_t want = f == "tile" ? static_cast<size_t>(t.view.rank) : 1;
    if (e.args.size() - 1 != want) {
      diags_.error(
          e.loc,
          "'" + f + "' of a rank-" + std::to_string(t.view.rank) + " tensor takes " +
              std::to_string(want) + " tile size(s), given " + std::to_string(e.args.size() - 1),
          f == "tile" ? "give one tile size per dimension (" + std::to_string(want) +
                            "); rows(T, BM) and cols(T, BN) cut one dimension only"
                      : "'" + f + "' takes the tensor and one size, e.g. " + f + "(A, BM)");
      return out;
    }
    if (f == "cols" && t.view.rank < 2) {
      diags_.error(e.loc, "'cols' needs a tensor of rank 2 or more");
      return out;
    }
    for (size_t i = 1; i < e.args.size(); ++i) expect_int(*e.args[i], "a tile size");
    out.k = Type::Partition;
    out.view = t.view;
    out.view.kind = Sym::Partition;
    out.view.color_rank = static_cast<int>(want);
    out.view.dims = nullptr;
    return out;
  }
  if (f == "mma_frag") {
    if (!arity(4)) return out;
    Type t = expr(*e.args[0]);
    if (t.k == Type::Error) return out;
    if (t.k != Type::Tensor || t.view.rank != 2) {
      diags_.error(e.args[0]->loc, "mma_frag partitions a rank-2 tensor");
      return out;
    }
    const Expr& role = *e.args[1];
    const Expr& shape = *e.args[2];
    const Expr& level = *e.args[3];
    if (role.kind != Expr::Name || (role.name != "A" && role.name != "B" && role.name != "C")) {
      diags_.error(role.loc, "mma_frag's second argument is the operand role: A, B or C");
      return out;
    }
    int m = 0, n = 0, k = 0;
    if (shape.kind != Expr::Name || !parse_mma_shape(shape.name, m, n, k)) {
      diags_.error(shape.loc, "expected an MMA shape such as m64n256k16");
      return out;
    }
    std::string problem = wgmma_shape_problem(m, n, k);
    if (!problem.empty()) {
      diags_.error(shape.loc, "MMA shape " + shape.name + " does not exist: " + problem,
                   "WGMMA shapes for f16/bf16 are m64nNk16 with N in 8, 16, ..., 256");
      return out;
    }
    int pieces_rank = 2;
    if (level.kind != Expr::Name ||
        (level.name != "WARPGROUP" && level.name != "WARP" && level.name != "THREAD")) {
      diags_.error(level.loc, "mma_frag's last argument is the level: WARPGROUP, WARP or THREAD");
      return out;
    }
    if (level.name == "THREAD") pieces_rank = 3;
    if (role.name == "B" && level.name != "WARPGROUP") {
      diags_.error(level.loc,
                   "operand B of WGMMA is read from shared memory by the whole warpgroup",
                   "partition B for WARPGROUP only");
      return out;
    }
    out.k = Type::Partition;
    out.view = t.view;
    out.view.kind = Sym::Partition;
    out.view.color_rank = 1;
    out.view.rank = pieces_rank;
    out.view.dims = nullptr;
    return out;
  }
  if (f == "trans") {
    diags_.error(e.loc, "trans() is only allowed on an operand of mma");
    return out;
  }
  if (is_elementwise_function(f)) {
    diags_.error(e.loc, "element-wise function '" + f + "' outside a leaf statement");
    return out;
  }
  static const std::vector<std::string> known = {"cdiv", "min",  "max",     "tile",
                                                 "rows", "cols", "mma_frag"};
  std::string near = closest_name(f, known);
  diags_.error(e.loc, "unknown function '" + f + "'",
               near.empty()
                   ? "inner variants may call cdiv, min, max, tile, rows, cols and mma_frag"
                   : "did you mean '" + near + "'?");
  return out;
}

void VariantChecker::launch(const Stmt& s) {
  const TaskDecl* callee = prog_.find_task(s.callee);
  std::vector<Type> args;
  for (const ExprPtr& a : s.args) args.push_back(expr(*a));
  if (!callee) {
    std::vector<std::string> names;
    for (const TaskDecl& t : prog_.tasks) names.push_back(t.name);
    std::string near = closest_name(s.callee, names);
    diags_.error(s.callee_loc, "launch of unknown task '" + s.callee + "'",
                 near.empty() ? "declare it with: task " + s.callee + "(...);"
                              : "did you mean '" + near + "'?");
    return;
  }
  if (args.size() != callee->params.size()) {
    std::string params;
    for (const Param& p : callee->params) params += (params.empty() ? "" : ", ") + p.name;
    diags_.error(s.callee_loc,
                 "task '" + s.callee + "' takes " + std::to_string(callee->params.size()) +
                     " argument(s), given " + std::to_string(args.size()),
                 "pass one argument per parameter, in order: " + s.callee + "(" + params +
                     "), declared at line " + std::to_string(callee->loc.line));
    return;
  }
  std::set<std::string> parallel_vars;
  for (const auto& [vars, par] : loops_)
    if (par) parallel_vars.insert(vars.begin(), vars.end());
  for (size_t i = 0; i < args.size(); ++i) {
    const Param& p = callee->params[i];
    const Type& a = args[i];
    const Expr& ae = *s.args[i];
    if (a.k == Type::Error) continue;
    if (!p.type.is_tensor) {
      bool ok = p.type.is_int ? a.k == Type::Int : (a.k == Type::Int || a.k == Type::Float);
      if (!ok)
        diags_.error(ae.loc, "argument " + std::to_string(i + 1) + " of '" + s.callee +
                                 "' must be " + (p.type.is_int ? "an integer" : "a number") +
                                 " for parameter '" + p.name + "'");
      continue;
    }
    if (a.k != Type::Tensor) {
      diags_.error(ae.loc,
                   "argument " + std::to_string(i + 1) + " of '" + s.callee +
                       "' must be a tensor for parameter '" + p.name + "'",
                   a.k == Type::Partition ? "index the partition to pick one piece, e.g. P[i, j]"
                                          : "");
      continue;
    }
    if (a.view.elem != p.type.elem) {
      diags_.error(ae.loc,
                   std::string("type mismatch: parameter '") + p.name + "' of '" + s.callee +
                       "' is " + elem_name(p.type.elem) + ", but this argument is " +
                       elem_name(a.view.elem),
                   "convert with an element-wise copy in a leaf, e.g. T16[i, j] = T32[i, j], "
                   "or change the parameter's type");
      continue;
    }
    int want_rank = static_cast<int>(p.type.dims.size());
    if (a.view.rank != want_rank) {
      diags_.error(ae.loc,
                   "rank mismatch: passes a rank-" + std::to_string(a.view.rank) +
                       " tensor to parameter '" + p.name + "' of '" + s.callee +
                       "', which has rank " + std::to_string(want_rank),
                   "each index of a tensor removes its leading dimension: T[b] of a rank-3 "
                   "tensor has rank 2");
      continue;
    }
    // A child may read whatever its parent can reach (a write-only parent may read back what it
    // wrote itself), but may write only what its parent may write.
    if (can_write(p.priv) && !can_write(a.view.priv)) {
      diags_.error(ae.loc,
                   std::string("privilege violation: '") + s.callee + "' asks for " +
                       privilege_name(p.priv) + " access to '" + p.name + "', but '" + a.view.root +
                       "' is read-only in " + where(),
                   "declare '" + a.view.root + "' write or readwrite in task '" + task_.name + "'");
      continue;
    }
    if (can_write(p.priv)) {
      // Parallel iterations must write disjoint pieces: each parallel loop around the launch that
      // does not also enclose the tensor's declaration must select the piece.
      std::vector<std::string> missing;
      int depth = 0;
      for (const auto& [vars, par] : loops_) {
        ++depth;
        if (!par || depth <= a.view.decl_depth) continue;
        for (const std::string& v : vars)
          if (!a.view.piece_vars.count(v)) missing.push_back(v);
      }
      if (!missing.empty()) {
        std::string list;
        for (const std::string& v : missing) list += (list.empty() ? "" : ", ") + v;
        diags_.error(ae.loc,
                     "aliasing writes: iterations of the prange over " + list + " all write '" +
                         a.view.root + "' through parameter '" + p.name + "' of '" + s.callee + "'",
                     "pass a piece of a partition indexed by every prange variable, e.g. tile(" +
                         a.view.root + ", BM, BN)[i, j], or make the loop an srange");
      }
    }
  }
  (void)parallel_vars;
}

} // namespace grove::check_detail
