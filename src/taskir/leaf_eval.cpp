#include "taskir/leaf_eval.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace grove {
namespace {

struct Space {
  std::vector<std::string> vars;
  std::vector<int64_t> ext;
  int64_t base0 = 0;  // the first variable starts here (statements are evaluated in row chunks)
  int64_t full0 = -1; // the first variable's whole extent when evaluating a chunk
  int64_t whole(size_t d) const { return d == 0 && full0 >= 0 ? full0 : ext[d]; }
  // Reduction indices held at one value while the reduction walks them.
  std::vector<std::pair<std::string, int64_t>> fixed;
  const int64_t* fixed_value(const std::string& v) const {
    for (auto it = fixed.rbegin(); it != fixed.rend(); ++it)
      if (it->first == v) return &it->second;
    return nullptr;
  }
  int64_t size() const {
    int64_t n = 1;
    for (int64_t e : ext) n *= e;
    return n;
  }
  int find(const std::string& v) const {
    for (size_t i = 0; i < vars.size(); ++i)
      if (vars[i] == v) return static_cast<int>(i);
    return -1;
  }
};

using Vec = std::vector<double>;

// Linear offsets of every point of `sp` for per-variable coefficients.
std::vector<int64_t> offsets(const Space& sp, const std::vector<int64_t>& coef) {
  std::vector<int64_t> out(static_cast<size_t>(sp.size()));
  std::vector<int64_t> idx(sp.ext.size(), 0);
  int64_t off = coef.empty() ? 0 : sp.base0 * coef[0];
  for (size_t e = 0; e < out.size(); ++e) {
    out[e] = off;
    for (size_t d = sp.ext.size(); d-- > 0;) {
      if (++idx[d] < sp.ext[d]) {
        off += coef[d];
        break;
      }
      off -= coef[d] * (sp.ext[d] - 1);
      idx[d] = 0;
    }
  }
  return out;
}

std::vector<int64_t> strides_of(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

Dense* tensor(LeafEnv& env, const std::string& n, SourceLoc loc) {
  auto it = env.tensors.find(n);
  if (it == env.tensors.end()) throw GroveError(loc, "'" + n + "' is not a tensor of this leaf");
  return it->second;
}

// The extent of index `var` as the first tensor access in `e` that uses it says.
bool find_extent(const Expr& e, const std::string& var, LeafEnv& env, int64_t& ext) {
  if (e.kind == Expr::Index && e.args[0]->kind == Expr::Name) {
    for (size_t i = 1; i < e.args.size(); ++i)
      if (e.args[i]->kind == Expr::Name && e.args[i]->name == var) {
        Dense* t = tensor(env, e.args[0]->name, e.loc);
        if (i - 1 < t->shape.size()) {
          ext = t->shape[i - 1];
          return true;
        }
      }
  }
  if (e.kind == Expr::Reduce && e.var == var) return false; // shadowed: the checker rejects this
  for (const ExprPtr& a : e.args)
    if (find_extent(*a, var, env, ext)) return true;
  return false;
}

Vec eval(const Expr& e, const Space& sp, LeafEnv& env) {
  size_t n = static_cast<size_t>(sp.size());
  switch (e.kind) {
  case Expr::Int:
    return Vec(n, static_cast<double>(e.ival));
  case Expr::Float:
    return Vec(n, e.fval);
  case Expr::Inf:
    return Vec(n, std::numeric_limits<double>::infinity());
  case Expr::Name: {
    if (const int64_t* f = sp.fixed_value(e.name)) return Vec(n, static_cast<double>(*f));
    int d = sp.find(e.name);
    if (d >= 0) {
      std::vector<int64_t> coef(sp.ext.size(), 0);
      coef[static_cast<size_t>(d)] = 1;
      std::vector<int64_t> off = offsets(sp, coef);
      return Vec(off.begin(), off.end());
    }
    auto it = env.scalars.find(e.name);
    if (it == env.scalars.end())
      throw GroveError(e.loc, "'" + e.name + "' has no value in this leaf");
    return Vec(n, it->second);
  }
  case Expr::Index: {
    Dense* t = tensor(env, e.args[0]->name, e.args[0]->loc);
    std::vector<int64_t> st = strides_of(t->shape);
    std::vector<int64_t> coef(sp.ext.size(), 0);
    int64_t base = 0;
    for (size_t i = 1; i < e.args.size(); ++i) {
      const std::string& v = e.args[i]->name;
      if (const int64_t* f = sp.fixed_value(v)) {
        // A reduction index takes its extent from the first tensor it indexes; the others must
        // agree.
        if (*f >= t->shape[i - 1])
          throw GroveError(e.args[i]->loc,
                           "shape mismatch: reduction index '" + v + "' ranges over more than " +
                               std::to_string(t->shape[i - 1]) + ", dimension " +
                               std::to_string(i - 1) + " of '" + t->name + "'",
                           "the tensors of one statement must agree on each index's extent");
        base += *f * st[i - 1];
        continue;
      }
      int d = sp.find(v);
      if (d < 0) throw GroveError(e.args[i]->loc, "'" + v + "' is not an index variable here");
      if (sp.whole(static_cast<size_t>(d)) != t->shape[i - 1])
        throw GroveError(e.args[i]->loc,
                         "shape mismatch: index '" + v + "' ranges over " +
                             std::to_string(sp.whole(static_cast<size_t>(d))) + " but dimension " +
                             std::to_string(i - 1) + " of '" + t->name + "' has " +
                             std::to_string(t->shape[i - 1]),
                         "the tensors of one statement must agree on each index's extent");
      coef[static_cast<size_t>(d)] += st[i - 1];
    }
    std::vector<int64_t> off = offsets(sp, coef);
    Vec out(n);
    for (size_t i = 0; i < n; ++i) out[i] = t->data[static_cast<size_t>(base + off[i])];
    return out;
  }
  case Expr::Reduce: {
    int64_t ext = 0;
    if (!find_extent(*e.args[0], e.var, env, ext))
      throw GroveError(
          e.loc, "reduction index '" + e.var + "' indexes no tensor, so its extent is unknown",
          "use it to index the tensor being reduced, e.g. sum[c](P[r, c])");
    // Walk the reduced index one value at a time: the working set stays the size of the outer
    // space.
    bool is_max = e.name == "max";
    Vec out(n, is_max ? -std::numeric_limits<double>::infinity() : 0.0);
    Space inner = sp;
    inner.fixed.push_back({e.var, 0});
    for (int64_t j = 0; j < ext; ++j) {
      inner.fixed.back().second = j;
      Vec body = eval(*e.args[0], inner, env);
      for (size_t i = 0; i < n; ++i) out[i] = is_max ? std::max(out[i], body[i]) : out[i] + body[i];
    }
    return out;
  }
  case Expr::Unary: {
    Vec a = eval(*e.args[0], sp, env);
    for (double& x : a) x = e.op == "-" ? -x : (x == 0.0 ? 1.0 : 0.0);
    return a;
  }
  case Expr::Binary: {
    Vec a = eval(*e.args[0], sp, env), b = eval(*e.args[1], sp, env);
    const std::string& op = e.op;
    for (size_t i = 0; i < n; ++i) {
      double x = a[i], y = b[i];
      double r = 0;
      if (op == "+")
        r = x + y;
      else if (op == "-")
        r = x - y;
      else if (op == "*")
        r = x * y;
      else if (op == "/")
        r = x / y;
      else if (op == "%")
        r = std::fmod(x, y);
      else if (op == "<")
        r = x < y;
      else if (op == "<=")
        r = x <= y;
      else if (op == ">")
        r = x > y;
      else if (op == ">=")
        r = x >= y;
      else if (op == "==")
        r = x == y;
      else if (op == "!=")
        r = x != y;
      else if (op == "&&")
        r = (x != 0) && (y != 0);
      else if (op == "||")
        r = (x != 0) || (y != 0);
      a[i] = r;
    }
    return a;
  }
  case Expr::Call: {
    std::vector<Vec> a;
    for (const ExprPtr& x : e.args) a.push_back(eval(*x, sp, env));
    const std::string& f = e.name;
    Vec out(n);
    for (size_t i = 0; i < n; ++i) {
      double x = a[0][i];
      if (f == "exp2")
        out[i] = std::exp2(x);
      else if (f == "exp")
        out[i] = std::exp(x);
      else if (f == "log2")
        out[i] = std::log2(x);
      else if (f == "tanh")
        out[i] = std::tanh(x);
      else if (f == "sqrt")
        out[i] = std::sqrt(x);
      else if (f == "abs")
        out[i] = std::fabs(x);
      else if (f == "max")
        out[i] = std::max(x, a[1][i]);
      else if (f == "min")
        out[i] = std::min(x, a[1][i]);
      else if (f == "select")
        out[i] = x != 0 ? a[1][i] : a[2][i];
      else if (f == "round_f16") // (not in the language: the overlap pass writes these)
        out[i] = round_to(ElemType::F16, x);
      else if (f == "round_bf16")
        out[i] = round_to(ElemType::BF16, x);
      else
        throw GroveError(e.loc, "unknown element-wise function '" + f + "'");
    }
    return out;
  }
  }
  throw GroveError(e.loc, "unsupported expression in a leaf");
}

void run_assign(const Stmt& s, LeafEnv& env) {
  Dense* t = tensor(env, s.target, s.loc);
  Space sp;
  sp.vars = s.indices;
  sp.ext = t->shape;
  if (sp.vars.size() != sp.ext.size() || sp.ext.empty())
    throw GroveError(s.loc, "rank mismatch on the left side");
  // Evaluate in chunks of leading rows so every intermediate vector stays small (cache-sized, and
  // below the allocator's mmap threshold). The whole right side is computed before anything is
  // stored, so a statement may read the tensor it writes.
  int64_t rows = sp.ext[0], row_size = sp.size() / std::max<int64_t>(rows, 1);
  int64_t chunk = std::max<int64_t>(1, (int64_t(1) << 13) / std::max<int64_t>(1, row_size));
  std::vector<double> result(t->data.size());
  for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
    Space part = sp;
    part.base0 = r0;
    part.full0 = rows;
    part.ext[0] = std::min(chunk, rows - r0);
    Vec v = eval(*s.value, part, env);
    std::copy(v.begin(), v.end(), result.begin() + r0 * row_size);
  }
  for (size_t i = 0; i < result.size(); ++i)
    t->data[i] = env.exact ? result[i] : round_to(t->elem, result[i]);
}

void run_mma(const Stmt& s, LeafEnv& env) {
  auto operand = [&](const Expr& e, bool& tr) -> Dense* {
    tr = e.kind == Expr::Call;
    const Expr& n = tr ? *e.args[0] : e;
    return tensor(env, n.name, n.loc);
  };
  bool ta = false, tb = false, tc = false;
  Dense* C = operand(*s.args[0], tc);
  Dense* A = operand(*s.args[1], ta);
  Dense* B = operand(*s.args[2], tb);
  int64_t M = C->shape[0], N = C->shape[1];
  int64_t am = A->shape[ta ? 1 : 0], K = A->shape[ta ? 0 : 1];
  int64_t bk = B->shape[tb ? 1 : 0], bn = B->shape[tb ? 0 : 1];
  if (am != M || bn != N || bk != K)
    throw GroveError(s.loc, "shape mismatch in mma: C " + std::to_string(M) + "x" +
                                std::to_string(N) + " += A " + std::to_string(am) + "x" +
                                std::to_string(K) + " · B " + std::to_string(bk) + "x" +
                                std::to_string(bn));
  // Dense row-major copies of A (M x K) and B (K x N) so the inner loop runs along contiguous rows.
  std::vector<double> a(static_cast<size_t>(M * K)), b(static_cast<size_t>(K * N));
  for (int64_t i = 0; i < M; ++i)
    for (int64_t k = 0; k < K; ++k)
      a[static_cast<size_t>(i * K + k)] = A->data[static_cast<size_t>(ta ? k * M + i : i * K + k)];
  for (int64_t k = 0; k < K; ++k)
    for (int64_t j = 0; j < N; ++j)
      b[static_cast<size_t>(k * N + j)] = B->data[static_cast<size_t>(tb ? j * K + k : k * N + j)];
  std::vector<double> acc(C->data.begin(), C->data.end());
  for (int64_t i = 0; i < M; ++i) {
    double* crow = &acc[static_cast<size_t>(i * N)];
    for (int64_t k = 0; k < K; ++k) {
      double aik = a[static_cast<size_t>(i * K + k)];
      const double* brow = &b[static_cast<size_t>(k * N)];
      for (int64_t j = 0; j < N; ++j) crow[j] += aik * brow[j];
    }
  }
  for (size_t i = 0; i < acc.size(); ++i)
    C->data[i] = env.exact ? acc[i] : round_to(C->elem, acc[i]);
}

} // namespace

void run_leaf_statement(const Stmt& s, LeafEnv& env) {
  if (s.kind == Stmt::Assign)
    run_assign(s, env);
  else if (s.kind == Stmt::Mma)
    run_mma(s, env);
}

} // namespace grove
