#include "taskir/leaf_eval.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

namespace grove {
namespace {

struct Space {
  std::vector<std::string> vars;
  std::vector<int64_t> ext;
  // Statements are evaluated a block of the index space at a time: variable d runs over
  // [lo[d], lo[d] + ext[d]) of its whole extent full[d].
  std::vector<int64_t> lo, full;
  int64_t whole(size_t d) const { return full[d]; }
  void add_dim(const std::string& v, int64_t e, int64_t from, int64_t whole_ext) {
    vars.push_back(v);
    ext.push_back(e);
    lo.push_back(from);
    full.push_back(whole_ext);
  }
  int64_t start(const std::vector<int64_t>& coef) const {
    int64_t s = 0;
    for (size_t d = 0; d < lo.size(); ++d) s += lo[d] * coef[d];
    return s;
  }
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

// Calls f(i, offset) for every point i of `sp` in row-major order, where offset is `base` plus the
// sum of each variable's value times its coefficient. The last variable runs in a tight inner loop:
// this walk is the interpreter's hottest code.
template <class F>
void for_each_offset(const Space& sp, const std::vector<int64_t>& coef, int64_t base, F f) {
  size_t rank = sp.ext.size();
  if (rank == 0) {
    f(size_t{0}, base);
    return;
  }
  int64_t n = sp.size(), inner = sp.ext[rank - 1], step = coef[rank - 1];
  if (n == 0) return;
  std::vector<int64_t> idx(rank, 0);
  int64_t off = base + sp.start(coef);
  for (int64_t e = 0; e < n; e += inner) {
    for (int64_t j = 0; j < inner; ++j) f(static_cast<size_t>(e + j), off + j * step);
    for (size_t d = rank - 1; d-- > 0;) {
      if (++idx[d] < sp.ext[d]) {
        off += coef[d];
        break;
      }
      off -= coef[d] * (sp.ext[d] - 1);
      idx[d] = 0;
    }
  }
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

// Element-wise operators and functions. The operator is picked once per block of points, not once
// per element: string compares in the inner loop were a tenth of the interpreter's time.
template <class F> Vec zip(Vec a, const Vec& b, F f) {
  for (size_t i = 0; i < a.size(); ++i) a[i] = f(a[i], b[i]);
  return a;
}

template <class F> Vec each(Vec a, F f) {
  for (double& x : a) x = f(x);
  return a;
}

Vec binary(const Expr& e, Vec a, const Vec& b) {
  const std::string& op = e.op;
  if (op == "+") return zip(std::move(a), b, [](double x, double y) { return x + y; });
  if (op == "-") return zip(std::move(a), b, [](double x, double y) { return x - y; });
  if (op == "*") return zip(std::move(a), b, [](double x, double y) { return x * y; });
  if (op == "/") return zip(std::move(a), b, [](double x, double y) { return x / y; });
  if (op == "%") return zip(std::move(a), b, [](double x, double y) { return std::fmod(x, y); });
  if (op == "<") return zip(std::move(a), b, [](double x, double y) { return double(x < y); });
  if (op == "<=") return zip(std::move(a), b, [](double x, double y) { return double(x <= y); });
  if (op == ">") return zip(std::move(a), b, [](double x, double y) { return double(x > y); });
  if (op == ">=") return zip(std::move(a), b, [](double x, double y) { return double(x >= y); });
  if (op == "==") return zip(std::move(a), b, [](double x, double y) { return double(x == y); });
  if (op == "!=") return zip(std::move(a), b, [](double x, double y) { return double(x != y); });
  if (op == "&&")
    return zip(std::move(a), b, [](double x, double y) { return double(x != 0 && y != 0); });
  if (op == "||")
    return zip(std::move(a), b, [](double x, double y) { return double(x != 0 || y != 0); });
  throw GroveError(e.loc, "unknown operator '" + op + "'");
}

Vec call(const Expr& e, std::vector<Vec> a) {
  const std::string& f = e.name;
  auto arity = [&](size_t n) { // the checker tells users; this guards what passes write
    if (a.size() != n)
      throw GroveError(e.loc, "'" + f + "' takes " + std::to_string(n) + " arguments, not " +
                                  std::to_string(a.size()));
  };
  if (f == "max" || f == "min") {
    arity(2);
    if (f == "max")
      return zip(std::move(a[0]), a[1], [](double x, double y) { return std::max(x, y); });
    return zip(std::move(a[0]), a[1], [](double x, double y) { return std::min(x, y); });
  }
  if (f == "select") {
    arity(3);
    for (size_t i = 0; i < a[0].size(); ++i) a[0][i] = a[0][i] != 0 ? a[1][i] : a[2][i];
    return std::move(a[0]);
  }
  arity(1);
  if (f == "exp2") return each(std::move(a[0]), [](double x) { return std::exp2(x); });
  if (f == "exp") return each(std::move(a[0]), [](double x) { return std::exp(x); });
  if (f == "log2") return each(std::move(a[0]), [](double x) { return std::log2(x); });
  if (f == "tanh") return each(std::move(a[0]), [](double x) { return std::tanh(x); });
  if (f == "sqrt") return each(std::move(a[0]), [](double x) { return std::sqrt(x); });
  if (f == "abs") return each(std::move(a[0]), [](double x) { return std::fabs(x); });
  // (round_f16, round_bf16, round_e4m3 and round_e5m2 are not in the language: the overlap pass
  // writes them.)
  if (f.rfind("round_", 0) == 0)
    if (std::optional<ElemType> t = elem_from_name(f.substr(6)); t && *t != ElemType::F32)
      return each(std::move(a[0]), [t](double x) { return round_to(*t, x); });
  throw GroveError(e.loc, "unknown element-wise function '" + f + "'");
}

Vec eval(const Expr& e, const Space& sp, LeafEnv& env);

// The dimensions of `sp` whose variables `e` reads, a bit each (a reduction index held at one value
// is a constant, not a dimension).
uint64_t dims_used(const Expr& e, const Space& sp) {
  if (e.kind == Expr::Name) {
    int d = sp.fixed_value(e.name) ? -1 : sp.find(e.name);
    return d >= 0 ? uint64_t{1} << d : 0;
  }
  uint64_t used = 0;
  for (size_t i = e.kind == Expr::Index ? 1 : 0; i < e.args.size(); ++i)
    used |= dims_used(*e.args[i], sp);
  return used;
}

// Evaluates `e` over only the dimensions it reads, then copies each value to every point of `sp`
// that shares them: in exp(S[q, k] - m[q]) * V[k, d] the exponentials run once per (q, k), not once
// per (q, k, d). Values are the same bit for bit; a reference softmax runs many times faster.
Vec eval_broadcast(const Expr& e, const Space& sp, LeafEnv& env, uint64_t used) {
  size_t rank = sp.vars.size();
  Space sub;
  sub.fixed = sp.fixed;
  for (size_t d = 0; d < rank; ++d)
    if (used >> d & 1) sub.add_dim(sp.vars[d], sp.ext[d], sp.lo[d], sp.full[d]);
  Vec part = eval(e, sub, env);
  // Where each point of `sp` finds its value in `part`: row-major strides over the dimensions kept.
  std::vector<int64_t> coef(rank, 0);
  int64_t stride = 1;
  for (size_t d = rank; d-- > 0;)
    if (used >> d & 1) {
      coef[d] = stride;
      stride *= sp.ext[d];
    }
  Vec out(static_cast<size_t>(sp.size()));
  const double* p = part.data();
  for_each_offset(sp, coef, -sp.start(coef), [&](size_t i, int64_t o) { out[i] = p[o]; });
  return out;
}

// Whether every access in `e` that `var` indexes is to a dimension of exactly `ext`.
bool extent_is(const Expr& e, const std::string& var, int64_t ext, LeafEnv& env) {
  if (e.kind == Expr::Reduce && e.var == var) return false; // shadowed: the checker rejects this
  if (e.kind == Expr::Index)
    for (size_t i = 1; i < e.args.size(); ++i)
      if (e.args[i]->kind == Expr::Name && e.args[i]->name == var) {
        auto it = env.tensors.find(e.args[0]->name);
        if (it == env.tensors.end() || i - 1 >= it->second->shape.size() ||
            it->second->shape[i - 1] != ext)
          return false;
      }
  for (const ExprPtr& a : e.args)
    if (!extent_is(*a, var, ext, env)) return false;
  return true;
}

// sum[k](P * Q) as a matrix product, where P reads dimensions R of the space and Q dimensions C,
// the two sharing only single-index ones and R's all before C's: P evaluated as an (R, k) matrix,
// Q as (k, C), then matmul_add, which sums each element from 0 in k order as the walk in eval does,
// so the values are the same bit for bit. A GEMM's reference runs at matrix-product speed instead
// of several passes over the output per k. False (nothing evaluated) when the form does not fit.
bool contract(const Expr& e, const Space& sp, LeafEnv& env, Vec& out) {
  const Expr& body = *e.args[0];
  if (e.name != "sum" || body.kind != Expr::Binary || body.op != "*") return false;
  if (sp.vars.empty() || sp.vars.size() >= 64 || sp.find(e.var) >= 0 || sp.fixed_value(e.var))
    return false;
  int64_t K = 0;
  if (!find_extent(body, e.var, env, K)) return false; // eval's walk raises the error
  const Expr &P = *body.args[0], &Q = *body.args[1];
  if (!extent_is(P, e.var, K, env) || !extent_is(Q, e.var, K, env)) return false;
  uint64_t R = dims_used(P, sp), C = dims_used(Q, sp);
  Space a, b; // (R..., k) and (k, C...)
  a.fixed = b.fixed = sp.fixed;
  b.add_dim(e.var, K, 0, K);
  int64_t M = 1, N = 1;
  bool in_c = false; // past the first C dimension
  for (size_t d = 0; d < sp.vars.size(); ++d) {
    bool r = R >> d & 1, c = C >> d & 1;
    if (sp.ext[d] != 1 && (r == c || (r && in_c))) return false;
    if (r) a.add_dim(sp.vars[d], sp.ext[d], sp.lo[d], sp.full[d]);
    if (c) b.add_dim(sp.vars[d], sp.ext[d], sp.lo[d], sp.full[d]);
    if (r && !c) M *= sp.ext[d];
    if (c && !r) N *= sp.ext[d];
    in_c = in_c || (c && !r && sp.ext[d] != 1);
  }
  a.add_dim(e.var, K, 0, K);
  Vec pa = eval(P, a, env), qb = eval(Q, b, env);
  out.assign(static_cast<size_t>(M * N), 0.0);
  matmul_add(pa.data(), qb.data(), out.data(), M, N, K);
  return true;
}

// A subscript `k / by` over dimension `dim` of the space: `stride` elements a block.
struct BlockSubscript {
  size_t dim;
  int64_t by, stride;
};

// A subscript other than an index variable (the checker allows these two): a literal position,
// added to `base`, or an index variable divided by a literal (the block it falls in), added to
// `base` when the variable is held at one value by a reduction, else to `blocks`. `stride`:
// elements from one position of dimension `dim` to the next.
void fixed_or_block(const Expr& x, const Space& sp, const Dense& t, size_t dim, int64_t stride,
                    int64_t& base, std::vector<BlockSubscript>& blocks) {
  const int64_t extent = t.shape[dim];
  auto outside = [&](const std::string& what, int64_t at) {
    return GroveError(x.loc,
                      "shape mismatch: " + what + " reaches position " + std::to_string(at) +
                          " of dimension " + std::to_string(dim) + " of '" + t.name +
                          "', which has " + std::to_string(extent),
                      "size the tensor for every block its index reaches");
  };
  if (x.kind == Expr::Int) {
    if (x.ival < 0 || x.ival >= extent) throw outside("the literal subscript", x.ival);
    base += x.ival * stride;
    return;
  }
  if (x.kind != Expr::Binary || x.op != "/" || x.args[0]->kind != Expr::Name ||
      x.args[1]->kind != Expr::Int || x.args[1]->ival <= 0)
    throw GroveError(x.loc, "a subscript is an index variable, a literal or an index divided by a "
                            "positive literal");
  const std::string& v = x.args[0]->name;
  int64_t by = x.args[1]->ival;
  std::string what = "'" + v + " / " + std::to_string(by) + "'";
  if (const int64_t* f = sp.fixed_value(v)) {
    if (*f / by >= extent) throw outside(what, *f / by);
    base += *f / by * stride;
    return;
  }
  int d = sp.find(v);
  if (d < 0) throw GroveError(x.args[0]->loc, "'" + v + "' is not an index variable here");
  int64_t last = (sp.whole(static_cast<size_t>(d)) - 1) / by;
  if (last >= extent) throw outside(what, last);
  blocks.push_back({static_cast<size_t>(d), by, stride});
}

Vec eval(const Expr& e, const Space& sp, LeafEnv& env) {
  size_t n = static_cast<size_t>(sp.size());
  bool computes = e.kind == Expr::Unary || e.kind == Expr::Binary || e.kind == Expr::Call ||
                  e.kind == Expr::Reduce;
  if (computes && !sp.vars.empty() && sp.vars.size() < 64) {
    uint64_t used = dims_used(e, sp), all = (uint64_t{1} << sp.vars.size()) - 1;
    if (used != all) return eval_broadcast(e, sp, env, used);
  }
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
      Vec out(n);
      for_each_offset(sp, coef, 0, [&](size_t i, int64_t v) { out[i] = static_cast<double>(v); });
      return out;
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
    std::vector<BlockSubscript> blocks;
    for (size_t i = 1; i < e.args.size(); ++i) {
      const Expr& x = *e.args[i];
      if (x.kind != Expr::Name) {
        fixed_or_block(x, sp, *t, i - 1, st[i - 1], base, blocks);
        continue;
      }
      const std::string& v = x.name;
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
    Vec out(n);
    const double* data = t->data.data();
    if (blocks.empty()) {
      for_each_offset(sp, coef, base, [&](size_t i, int64_t o) { out[i] = data[o]; });
      return out;
    }
    // Block subscripts are not linear in the point: the offset is summed point by point.
    std::vector<int64_t> at(sp.lo);
    for (size_t i = 0; i < n; ++i) {
      int64_t o = base;
      for (size_t d = 0; d < at.size(); ++d) o += coef[d] * at[d];
      for (const BlockSubscript& b : blocks) o += b.stride * (at[b.dim] / b.by);
      out[i] = data[o];
      for (size_t d = at.size(); d-- > 0;) {
        if (++at[d] < sp.lo[d] + sp.ext[d]) break;
        at[d] = sp.lo[d];
      }
    }
    return out;
  }
  case Expr::Reduce: {
    if (Vec out; contract(e, sp, env, out)) return out;
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
      if (is_max)
        for (size_t i = 0; i < n; ++i) out[i] = std::max(out[i], body[i]);
      else
        for (size_t i = 0; i < n; ++i) out[i] += body[i];
    }
    return out;
  }
  case Expr::Unary: {
    Vec a = eval(*e.args[0], sp, env);
    if (e.op == "-") return each(std::move(a), [](double x) { return -x; });
    return each(std::move(a), [](double x) { return x == 0.0 ? 1.0 : 0.0; });
  }
  case Expr::Binary: {
    Vec a = eval(*e.args[0], sp, env); // left before right, so the first error is the leftmost
    return binary(e, std::move(a), eval(*e.args[1], sp, env));
  }
  case Expr::Call: {
    std::vector<Vec> a;
    for (const ExprPtr& x : e.args) a.push_back(eval(*x, sp, env));
    return call(e, std::move(a));
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
  // Evaluate a block of about 8192 points at a time so every intermediate vector stays cache-sized
  // (and below the allocator's mmap threshold: larger ones cost a page fault per 4 KiB): the
  // dimensions before `split` one index at a time, `split` in chunks, the ones after it whole. The
  // whole right side is computed before anything is stored, so a statement may read the tensor it
  // writes.
  const int64_t target = int64_t(1) << 13;
  size_t rank = sp.ext.size(), split = rank - 1;
  int64_t inner = 1; // points per index of `split`
  while (split > 0 && inner * sp.ext[split] <= target) inner *= sp.ext[split--];
  int64_t chunk = std::max<int64_t>(1, target / std::max<int64_t>(inner, 1)), outer = 1;
  for (size_t d = 0; d < split; ++d) outer *= sp.ext[d];
  sp.lo.assign(rank, 0);
  sp.full = sp.ext;
  // A statement that is one matrix product is evaluated whole: in blocks, each would gather one
  // operand again.
  std::vector<double> result;
  bool one_product = s.value->kind == Expr::Reduce && contract(*s.value, sp, env, result);
  if (!one_product) result.resize(t->data.size());
  Space part = sp;
  for (int64_t o = 0; o < outer && !one_product; ++o) {
    for (size_t d = split, rest = static_cast<size_t>(o); d-- > 0; rest /= sp.ext[d]) {
      part.lo[d] = static_cast<int64_t>(rest % static_cast<size_t>(sp.ext[d]));
      part.ext[d] = 1;
    }
    for (int64_t r0 = 0; r0 < sp.ext[split]; r0 += chunk) {
      part.lo[split] = r0;
      part.ext[split] = std::min(chunk, sp.ext[split] - r0);
      Vec v = eval(*s.value, part, env);
      std::copy(v.begin(), v.end(), result.begin() + (o * sp.ext[split] + r0) * inner);
    }
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
  // Dense row-major A (M x K) and B (K x N) for matmul_add.
  std::vector<double> a = ta ? transposed(A->data, K, M) : A->data;
  std::vector<double> b = tb ? transposed(B->data, N, K) : B->data;
  std::vector<double> acc(C->data.begin(), C->data.end());
  matmul_add(a.data(), b.data(), acc.data(), M, N, K);
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
