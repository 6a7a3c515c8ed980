// Static checks of tasks and variants. The checker walks each variant body with a scope of the
// names it can see and what each one is (size, scalar, tensor view, partition, loop or index
// variable), so every later stage may assume a well-formed program.
#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "frontend/check.h"

namespace grove {

bool is_elementwise_function(const std::string& n) {
  static const std::set<std::string> fns = {"exp2", "exp", "log2", "tanh",  "sqrt",
                                            "abs",  "max", "min",  "select"};
  return fns.count(n) > 0;
}

bool parse_mma_shape(const std::string& s, int& m, int& n, int& k) {
  // m<digits>n<digits>k<digits>, each number at most 6 digits (sscanf's %d would overflow).
  size_t pos = 0;
  for (auto [letter, out] : {std::pair{'m', &m}, std::pair{'n', &n}, std::pair{'k', &k}}) {
    if (pos >= s.size() || s[pos] != letter) return false;
    size_t start = ++pos;
    int v = 0;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos])) && pos - start < 6)
      v = v * 10 + (s[pos++] - '0');
    if (pos == start) return false;
    *out = v;
  }
  return pos == s.size();
}

std::string wgmma_shape_problem(int m, int n, int k) {
  if (m != 64) return "WGMMA has M = 64 only";
  if (n < 8 || n > 256 || n % 8 != 0) return "WGMMA needs N a multiple of 8 from 8 to 256";
  if (k != 16) return "WGMMA with 16-bit operands has K = 16 only";
  return {};
}

std::vector<std::string> closest_names(const std::string& name,
                                       const std::vector<std::string>& candidates) {
  // Edit distance counting a swap of two adjacent letters as one edit (hots -> host).
  auto dist = [](const std::string& a, const std::string& b) {
    std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
    for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (size_t i = 1; i <= a.size(); ++i)
      for (size_t j = 1; j <= b.size(); ++j) {
        d[i][j] =
            std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
          d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    return d[a.size()][b.size()];
  };
  std::vector<std::string> best;
  size_t best_d = std::max<size_t>(1, name.size() / 3) + 1;
  if (name.size() > 64) return best; // no useful suggestion, and the distance is quadratic
  for (const std::string& c : candidates) {
    size_t gap = c.size() > name.size() ? c.size() - name.size() : name.size() - c.size();
    if (gap > best_d || c == name) continue; // the distance is at least the difference in length
    size_t d = dist(name, c);
    if (d < best_d) {
      best_d = d;
      best.clear();
    }
    if (d == best_d && std::find(best.begin(), best.end(), c) == best.end()) best.push_back(c);
  }
  // First a candidate the name starts with (CUDA's expf is Grove's exp), then in given order.
  std::stable_sort(best.begin(), best.end(), [&](const std::string& a, const std::string& b) {
    return name.rfind(a, 0) == 0 && name.rfind(b, 0) != 0;
  });
  return best;
}

std::string closest_name(const std::string& name, const std::vector<std::string>& candidates) {
  std::vector<std::string> best = closest_names(name, candidates);
  return best.empty() ? std::string() : best[0];
}

std::string did_you_mean(const std::string& name, const std::vector<std::string>& candidates) {
  std::vector<std::string> best = closest_names(name, candidates);
  if (best.empty()) return {};
  std::string out = "did you mean '" + best[0] + "'";
  if (best.size() >= 2) out += " or '" + best[1] + "'";
  return out + "?";
}

namespace {

struct Sym {
  enum Kind { Size, Scalar, Tunable, LoopVar, Tensor, Partition, IndexVar } kind = Size;
  SourceLoc loc;
  bool is_int = true; // Scalar
  ElemType elem = ElemType::F32;
  int rank = 0;       // Tensor, or the pieces of a Partition
  int color_rank = 0; // Partition
  Privilege priv = Privilege::ReadWrite;
  std::string root;                           // the parameter or local a view comes from
  std::set<std::string> piece_vars;           // loop variables that select this piece
  int decl_depth = 0;                         // loop depth of the root's declaration
  bool parallel = false;                      // LoopVar of a prange
  const std::vector<ExprPtr>* dims = nullptr; // static shape of a parameter or local
};

// Where an expression starts in the source: an operator or '[' is located at itself, but a
// caret under the expression's first token reads better.
SourceLoc start_loc(const Expr& e) {
  if ((e.kind == Expr::Binary || e.kind == Expr::Index) && !e.args.empty())
    return start_loc(*e.args[0]);
  return e.loc;
}

struct Type {
  enum K { Int, Float, Bool, Tensor, Partition, Error } k = Error;
  Sym view; // for Tensor / Partition
};

class VariantChecker {
public:
  VariantChecker(const Program& p, const TaskDecl& t, const VariantDecl& v, Diagnostics& d)
      : prog_(p), task_(t), var_(v), diags_(d) {}

  void run() {
    scopes_.emplace_back();
    for (const Param& p : task_.params) {
      if (p.type.is_tensor) {
        Sym s{Sym::Tensor, p.loc};
        s.elem = p.type.elem;
        s.rank = static_cast<int>(p.type.dims.size());
        s.priv = p.priv;
        s.root = p.name;
        s.dims = &p.type.dims;
        declare(p.name, s);
        for (const ExprPtr& d : p.type.dims)
          if (d->kind == Expr::Name && !lookup(d->name)) declare(d->name, Sym{Sym::Size, d->loc});
      } else {
        Sym s{Sym::Scalar, p.loc};
        s.is_int = p.type.is_int;
        declare(p.name, s);
      }
    }
    for (const StmtPtr& s : var_.body) stmt(*s);
  }

private:
  const Program& prog_;
  const TaskDecl& task_;
  const VariantDecl& var_;
  Diagnostics& diags_;
  std::vector<std::map<std::string, Sym>> scopes_;
  std::vector<std::pair<std::vector<std::string>, bool>> loops_; // loop vars, parallel
  // Names already reported unknown, and lets whose value had an error: later uses stay quiet.
  std::set<std::string> poisoned_;
  std::set<std::string> assigned_; // leaf tensors written by an earlier statement

  const Sym* lookup(const std::string& n) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      auto f = it->find(n);
      if (f != it->end()) return &f->second;
    }
    return nullptr;
  }
  bool declare(const std::string& n, Sym s) {
    if (const Sym* old = lookup(n)) {
      diags_.error(s.loc, "'" + n + "' is already defined in " + task_.name + "." + var_.name,
                   "pick another name; the first definition is at line " +
                       std::to_string(old->loc.line));
      return false;
    }
    s.decl_depth = static_cast<int>(loops_.size());
    scopes_.back()[n] = std::move(s);
    return true;
  }
  std::vector<std::string> visible_names() const {
    std::vector<std::string> out;
    for (auto& sc : scopes_)
      for (auto& [n, s] : sc) out.push_back(n);
    return out;
  }
  void unknown(const std::string& n, SourceLoc loc, const char* what = "name") {
    if (!poisoned_.insert(n).second) return; // reported once per variant
    std::string w = what;
    std::string declare_it =
        w == "tensor" ? "declare it as a tensor parameter of '" + task_.name + "' or with: local " +
                            n + ": f32[...];"
        : w == "index variable"
            ? "index variables are those of the left side, or of a reduction such as sum[" + n +
                  "](...)"
            : "declare it first: as a size in a parameter's shape, or with tunable " + n +
                  "; or let " + n + " = ...;";
    std::string near = did_you_mean(n, visible_names());
    diags_.error(loc, "unknown " + w + " '" + n + "' in " + task_.name + "." + var_.name,
                 near.empty() ? declare_it : near + " Otherwise " + declare_it);
  }
  std::string where() const { return task_.name + "." + var_.name; }

  // ---- statements ----
  void stmt(const Stmt& s) {
    switch (s.kind) {
    case Stmt::Tunable:
      for (size_t i = 0; i < s.names.size(); ++i)
        declare(s.names[i], Sym{Sym::Tunable, s.name_locs[i]});
      break;
    case Stmt::Local: {
      if (s.type.elem == ElemType::E4M3) reserved_fp8(s.type.loc);
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

  void leaf_op_in_inner(SourceLoc loc, const char* what) {
    diags_.error(loc, std::string(what) + " in inner variant '" + where() + "'",
                 "inner variants only partition and launch; put the computation in a leaf variant "
                 "and launch it");
  }
  void reserved_fp8(SourceLoc loc) {
    diags_.error(loc, "element type e4m3 is reserved and not supported yet", "use f16 or bf16");
  }

  void expect_int(const Expr& e, const char* what) {
    Type t = expr(e);
    if (t.k != Type::Int && t.k != Type::Error)
      diags_.error(e.loc, std::string(what) + " must be an integer expression");
  }

  // ---- inner expressions ----
  Type expr(const Expr& e) {
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
        diags_.error(e.loc,
                     "index variable '" + e.name + "' used outside an element-wise statement");
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
      bool cmp = e.op == "<" || e.op == "<=" || e.op == ">" || e.op == ">=" || e.op == "==" ||
                 e.op == "!=";
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
      out.k = cmp                                          ? Type::Bool
              : (a.k == Type::Float || b.k == Type::Float) ? Type::Float
                                                           : Type::Int;
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

  std::set<std::string> loop_vars_in(const Expr& e) {
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

  Type index(const Expr& e) {
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

  Type call(const Expr& e) {
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

  // ---- launches ----
  void launch(const Stmt& s) {
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
                         privilege_name(p.priv) + " access to '" + p.name + "', but '" +
                         a.view.root + "' is read-only in " + where(),
                     "declare '" + a.view.root + "' write or readwrite in task '" + task_.name +
                         "'");
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
                           a.view.root + "' through parameter '" + p.name + "' of '" + s.callee +
                           "'",
                       "pass a piece of a partition indexed by every prange variable, e.g. tile(" +
                           a.view.root + ", BM, BN)[i, j], or make the loop an srange");
        }
      }
    }
    (void)parallel_vars;
  }

  // ---- leaf statements ----
  struct LeafCtx {
    std::map<std::string, std::pair<const Expr*, std::string>>
        extents; // index var -> (dim, tensor)
  };

  const Sym* tensor_sym(const std::string& name, SourceLoc loc) {
    const Sym* s = lookup(name);
    if (!s) {
      unknown(name, loc, "tensor");
      return nullptr;
    }
    if (s->kind != Sym::Tensor) {
      diags_.error(loc, "'" + name + "' is not a tensor");
      return nullptr;
    }
    return s;
  }

  static bool same_dim(const Expr* a, const Expr* b) {
    if (!a || !b) return true;
    if (a->kind == Expr::Int && b->kind == Expr::Int) return a->ival == b->ival;
    if (a->kind == Expr::Name && b->kind == Expr::Name && a->name == b->name) return true;
    return true; // not comparable statically; the interpreter checks extents when it runs
  }
  static bool known_different(const Expr* a, const Expr* b) {
    return a && b && a->kind == Expr::Int && b->kind == Expr::Int && a->ival != b->ival;
  }

  void bind_index(LeafCtx& cx, const std::string& var, const Expr* dim, const std::string& tensor,
                  SourceLoc loc) {
    auto it = cx.extents.find(var);
    if (it == cx.extents.end() || !it->second.first) { // unbound, or a reduction's first use
      cx.extents[var] = {dim, tensor};
      return;
    }
    if (known_different(it->second.first, dim))
      diags_.error(loc,
                   "shape mismatch: index '" + var + "' ranges over " +
                       std::to_string(it->second.first->ival) + " in '" + it->second.second +
                       "' but " + std::to_string(dim->ival) + " in '" + tensor + "'",
                   "an index variable has one extent in a statement: check the declared shapes, "
                   "or use another index for the other dimension");
  }

  void assign(const Stmt& s) {
    const Sym* t = tensor_sym(s.target, s.loc);
    LeafCtx cx;
    if (t) {
      if (!can_write(t->priv))
        diags_.error(s.loc,
                     "privilege violation: writes '" + s.target + "', which is read-only in " +
                         where(),
                     "declare it write or readwrite in task '" + task_.name + "'");
      if (static_cast<int>(s.indices.size()) != t->rank)
        diags_.error(s.loc,
                     "rank mismatch: '" + s.target + "' has rank " + std::to_string(t->rank) +
                         " but is indexed with " + std::to_string(s.indices.size()) + " index(es)",
                     "give one index variable per dimension of '" + s.target + "'");
      std::set<std::string> seen;
      for (size_t i = 0; i < s.indices.size(); ++i) {
        const std::string& v = s.indices[i];
        if (!seen.insert(v).second)
          diags_.error(s.index_locs[i], "index '" + v + "' appears twice on the left side");
        if (const Sym* clash = lookup(v))
          diags_.error(s.index_locs[i],
                       "index variable '" + v + "' hides a name defined at line " +
                           std::to_string(clash->loc.line),
                       "pick another index name");
        const Expr* dim = (t->dims && i < t->dims->size()) ? (*t->dims)[i].get() : nullptr;
        bind_index(cx, v, dim, s.target, s.index_locs[i]);
      }
    }
    Type ty = leaf_expr(*s.value, cx);
    if (ty.k == Type::Bool)
      diags_.error(s.value->loc, "a tensor element cannot hold a condition",
                   "store a number chosen by the condition, e.g. select(cond, 1.0, 0.0)");
    assigned_.insert(s.target);
  }

  Type leaf_expr(const Expr& e, LeafCtx& cx) {
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
      if (cx.extents.count(e.name)) {
        out.k = Type::Int;
        return out;
      }
      const Sym* s = lookup(e.name);
      if (!s) {
        unknown(e.name, e.loc);
        return out;
      }
      if (s->kind == Sym::Tensor) {
        diags_.error(e.loc,
                     "tensor '" + e.name + "' used without indices in an element-wise statement",
                     "write " + e.name + "[i, j] with the statement's index variables");
        return out;
      }
      out.k = (s->kind == Sym::Scalar && !s->is_int) ? Type::Float : Type::Int;
      return out;
    }
    case Expr::Index: {
      const Expr& base = *e.args[0];
      if (base.kind != Expr::Name) {
        diags_.error(e.loc, "element access needs a tensor name, e.g. A[i, k]");
        return out;
      }
      const Sym* t = tensor_sym(base.name, base.loc);
      if (!t) return out;
      // A write-only tensor has undefined incoming values, but a leaf may read back what an
      // earlier statement of the same leaf wrote.
      if (!can_read(t->priv) && !assigned_.count(base.name))
        diags_.error(base.loc,
                     "privilege violation: reads '" + base.name +
                         "' before writing it, and it is "
                         "write-only in " +
                         where() + ": its incoming values are undefined",
                     "write it first in this leaf, or declare it readwrite in task '" + task_.name +
                         "'");
      size_t n = e.args.size() - 1;
      if (static_cast<int>(n) != t->rank) {
        diags_.error(e.loc,
                     "rank mismatch: '" + base.name + "' has rank " + std::to_string(t->rank) +
                         " but is indexed with " + std::to_string(n) + " index(es)",
                     "give one index variable per dimension of '" + base.name +
                         "'; a row vector v[r] broadcasts along the other dimensions");
        return out;
      }
      for (size_t i = 1; i < e.args.size(); ++i) {
        const Expr& ix = *e.args[i];
        if (ix.kind != Expr::Name || !cx.extents.count(ix.name)) {
          if (ix.kind == Expr::Name && !lookup(ix.name)) {
            unknown(ix.name, ix.loc, "index variable");
          } else {
            diags_.error(
                start_loc(ix),
                "element access must use index variables of the statement or of a reduction",
                "index with the left side's variables, e.g. S[r, c] = A[r, c]; shift positions "
                "with select conditions instead");
          }
          continue;
        }
        const Expr* dim = (t->dims && i - 1 < t->dims->size()) ? (*t->dims)[i - 1].get() : nullptr;
        bind_index(cx, ix.name, dim, base.name, ix.loc);
      }
      out.k = Type::Float;
      return out;
    }
    case Expr::Reduce: {
      if (cx.extents.count(e.var) || lookup(e.var)) {
        diags_.error(e.loc, "reduction index '" + e.var + "' is already in use",
                     "pick a fresh index name");
        return out;
      }
      cx.extents[e.var] = {nullptr, ""};
      Type body = leaf_expr(*e.args[0], cx);
      cx.extents.erase(e.var);
      if (body.k == Type::Bool) diags_.error(e.loc, "cannot reduce conditions");
      out.k = Type::Float;
      return out;
    }
    case Expr::Unary: {
      Type a = leaf_expr(*e.args[0], cx);
      out.k = e.op == "!" ? Type::Bool : (a.k == Type::Int ? Type::Int : Type::Float);
      if (a.k == Type::Error) out.k = Type::Error;
      return out;
    }
    case Expr::Binary: {
      Type a = leaf_expr(*e.args[0], cx), b = leaf_expr(*e.args[1], cx);
      if (a.k == Type::Error || b.k == Type::Error) return out;
      bool logical = e.op == "&&" || e.op == "||";
      bool cmp = e.op == "<" || e.op == "<=" || e.op == ">" || e.op == ">=" || e.op == "==" ||
                 e.op == "!=";
      if (logical) {
        if (a.k != Type::Bool || b.k != Type::Bool)
          diags_.error(e.loc, "'" + e.op + "' needs conditions on both sides");
        out.k = Type::Bool;
      } else if (a.k == Type::Bool || b.k == Type::Bool) {
        diags_.error(e.loc, "'" + e.op + "' needs numbers, not conditions",
                     "use select(cond, a, b)");
      } else {
        out.k = cmp                                                     ? Type::Bool
                : (a.k == Type::Int && b.k == Type::Int && e.op != "/") ? Type::Int
                                                                        : Type::Float;
      }
      return out;
    }
    case Expr::Call: {
      const std::string& f = e.name;
      if (!is_elementwise_function(f)) {
        std::vector<std::string> fns = {"exp2", "exp", "log2", "tanh",  "sqrt",
                                        "abs",  "max", "min",  "select"};
        std::string near = did_you_mean(f, fns);
        diags_.error(
            e.loc, "unknown element-wise function '" + f + "'",
            near.empty()
                ? "leaf statements may use exp2, exp, log2, tanh, sqrt, abs, max, min, select"
                : near);
        return out;
      }
      size_t want = f == "select" ? 3 : (f == "max" || f == "min") ? 2 : 1;
      if (e.args.size() != want) {
        diags_.error(e.loc, "'" + f + "' takes " + std::to_string(want) + " argument(s), given " +
                                std::to_string(e.args.size()));
        return out;
      }
      std::vector<Type> a;
      for (const ExprPtr& x : e.args) a.push_back(leaf_expr(*x, cx));
      for (const Type& t : a)
        if (t.k == Type::Error) return out;
      if (f == "select") {
        if (a[0].k != Type::Bool)
          diags_.error(e.args[0]->loc, "select's first argument must be a condition");
        if (a[1].k == Type::Bool || a[2].k == Type::Bool)
          diags_.error(e.loc, "select chooses between numbers");
      } else {
        for (size_t i = 0; i < a.size(); ++i)
          if (a[i].k == Type::Bool)
            diags_.error(e.args[i]->loc, "'" + f + "' needs a number, not a condition");
      }
      out.k = Type::Float;
      return out;
    }
    }
    return out;
  }

  void mma(const Stmt& s) {
    if (s.args.size() != 3) {
      diags_.error(s.loc, "mma takes 3 operands (C, A, B), given " + std::to_string(s.args.size()),
                   "write mma(C, A, B) for C += A·B, or mma(S, Q, trans(K)) for S += Q·K^T");
      return;
    }
    const Sym* ops[3] = {};
    bool trans[3] = {};
    std::string names[3];
    for (int i = 0; i < 3; ++i) {
      const Expr* e = s.args[i].get();
      if (e->kind == Expr::Call && e->name == "trans" && e->args.size() == 1) {
        if (i == 0) {
          diags_.error(e->loc, "the accumulator of mma cannot be transposed");
          return;
        }
        trans[i] = true;
        e = e->args[0].get();
      }
      if (e->kind != Expr::Name) {
        diags_.error(e->loc, "an mma operand must be a tensor name, optionally trans(name)");
        return;
      }
      names[i] = e->name;
      ops[i] = tensor_sym(e->name, e->loc);
      if (!ops[i]) return;
      if (ops[i]->rank != 2) {
        diags_.error(e->loc,
                     "mma operands have rank 2; '" + e->name + "' has rank " +
                         std::to_string(ops[i]->rank),
                     "pass matrices: select a batch in the inner variant that launches this leaf, "
                     "e.g. " +
                         e->name + "[b]");
        return;
      }
    }
    const Sym &C = *ops[0], &A = *ops[1], &B = *ops[2];
    if (C.elem != ElemType::F32)
      diags_.error(s.args[0]->loc,
                   std::string("mma accumulates in f32, but '") + names[0] + "' is " +
                       elem_name(C.elem),
                   "declare the accumulator f32 and convert afterwards");
    if (!can_write(C.priv) || (!can_read(C.priv) && !assigned_.count(names[0])))
      diags_.error(s.args[0]->loc,
                   "privilege violation: mma reads and writes its accumulator '" + names[0] +
                       "', which is " + (can_read(C.priv) ? "read-only" : "write-only") + " in " +
                       where(),
                   "declare '" + names[0] + "' readwrite in task '" + task_.name + "'");
    assigned_.insert(names[0]);
    for (int i = 1; i < 3; ++i) {
      const Sym& o = *ops[i];
      if (o.elem != ElemType::F16 && o.elem != ElemType::BF16)
        diags_.error(s.args[i]->loc,
                     std::string("mma operands are f16 or bf16, but '") + names[i] + "' is " +
                         elem_name(o.elem),
                     "convert it to f16 or bf16 first");
      if (!can_read(o.priv) && !assigned_.count(names[i]))
        diags_.error(s.args[i]->loc, "privilege violation: mma reads '" + names[i] +
                                         "', which is write-only in " + where());
    }
    if (A.elem != B.elem && A.elem != ElemType::F32 && B.elem != ElemType::F32)
      diags_.error(s.loc, std::string("mma operands differ in type: ") + elem_name(A.elem) +
                              " and " + elem_name(B.elem));
    auto dim = [](const Sym& t, int i) -> const Expr* {
      return t.dims ? (*t.dims)[i].get() : nullptr;
    };
    const Expr* am = dim(A, trans[1] ? 1 : 0);
    const Expr* ak = dim(A, trans[1] ? 0 : 1);
    const Expr* bk = dim(B, trans[2] ? 1 : 0);
    const Expr* bn = dim(B, trans[2] ? 0 : 1);
    auto mismatch = [&](const char* what, const Expr* x, const std::string& xn, const Expr* y,
                        const std::string& yn) {
      if (!known_different(x, y)) return false;
      diags_.error(s.loc,
                   std::string("shape mismatch in mma: ") + what + " is " +
                       std::to_string(x->ival) + " in '" + xn + "' but " + std::to_string(y->ival) +
                       " in '" + yn + "'",
                   "mma(C, A, B) computes C[M, N] += A[M, K] * B[K, N]; write trans(X) for an "
                   "operand stored the other way round");
      return true;
    };
    mismatch("K", ak, names[1], bk, names[2]) || mismatch("M", dim(C, 0), names[0], am, names[1]) ||
        mismatch("N", dim(C, 1), names[0], bn, names[2]);
  }
};

} // namespace

void check_program(const Program& prog, Diagnostics& diags) {
  std::set<std::string> tasks;
  for (const TaskDecl& t : prog.tasks) {
    if (!tasks.insert(t.name).second) {
      diags.error(t.loc, "task '" + t.name + "' is declared twice", "rename one of them");
      continue;
    }
    std::set<std::string> params;
    for (const Param& p : t.params) {
      if (!params.insert(p.name).second)
        diags.error(p.loc, "parameter '" + p.name + "' appears twice in task '" + t.name + "'");
      if (p.type.is_tensor && p.type.elem == ElemType::E4M3)
        diags.error(p.type.loc, "element type e4m3 is reserved and not supported yet",
                    "use f16 or bf16");
      for (const ExprPtr& d : p.type.dims) {
        if (d->kind == Expr::Int && d->ival <= 0)
          diags.error(d->loc, "tensor dimensions must be positive");
        else if (d->kind != Expr::Int && d->kind != Expr::Name)
          diags.error(d->loc, "a parameter's dimensions are size names or integers",
                      "compute derived sizes inside the variant, e.g. let MT = cdiv(M, BM);");
      }
      if (p.default_value && !constant_value(*p.default_value))
        diags.error(p.default_value->loc,
                    "the default value of '" + p.name + "' must be a constant number",
                    "write a number such as 0.125 or -1 (arithmetic on numbers is allowed)");
    }
    // A size name must not collide with a parameter name.
    for (const Param& p : t.params)
      for (const ExprPtr& d : p.type.dims)
        if (d->kind == Expr::Name && params.count(d->name)) {
          bool scalar_param = false;
          for (const Param& q : t.params)
            if (q.name == d->name && !q.type.is_tensor) scalar_param = true;
          if (!scalar_param)
            diags.error(d->loc, "size '" + d->name + "' has the name of a tensor parameter of '" +
                                    t.name + "'");
        }
  }
  std::set<std::pair<std::string, std::string>> variants;
  for (const VariantDecl& v : prog.variants) {
    const TaskDecl* t = prog.find_task(v.task);
    if (!t) {
      std::vector<std::string> names;
      for (const TaskDecl& x : prog.tasks) names.push_back(x.name);
      std::string near = closest_name(v.task, names);
      diags.error(v.loc, "variant of unknown task '" + v.task + "'",
                  near.empty() ? "declare the task first: task " + v.task + "(...);"
                               : "did you mean '" + near + "'?");
      continue;
    }
    if (!variants.insert({v.task, v.name}).second) {
      diags.error(v.name_loc, "variant '" + v.task + "." + v.name + "' is defined twice",
                  "rename one of them");
      continue;
    }
    if (v.reference)
      for (const VariantDecl& w : prog.variants)
        if (&w != &v && w.reference && w.task == v.task && &w < &v) {
          diags.error(v.name_loc,
                      "task '" + v.task + "' has two reference variants, '" + w.name + "' and '" +
                          v.name + "'",
                      "keep one: --check compares against the task's reference");
          break;
        }
    if (v.reference && !v.leaf)
      diags.error(
          v.name_loc, "reference variant '" + v.task + "." + v.name + "' must be a leaf",
          "a reference computes the whole task directly, so --check can compare against it");
    VariantChecker(prog, *t, v, diags).run();
  }
}

} // namespace grove
