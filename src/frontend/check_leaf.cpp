// Checks of leaf variants: element-wise statements in index notation, reductions, and mma.
#include "frontend/variant_checker.h"
#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace grove::check_detail {

const Sym* VariantChecker::tensor_sym(const std::string& name, SourceLoc loc) {
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

bool VariantChecker::same_dim(const Expr* a, const Expr* b) {
  if (!a || !b) return true;
  if (a->kind == Expr::Int && b->kind == Expr::Int) return a->ival == b->ival;
  if (a->kind == Expr::Name && b->kind == Expr::Name && a->name == b->name) return true;
  return true; // not comparable statically; the interpreter checks extents when it runs
}

bool VariantChecker::known_different(const Expr* a, const Expr* b) {
  return a && b && a->kind == Expr::Int && b->kind == Expr::Int && a->ival != b->ival;
}

void VariantChecker::bind_index(LeafCtx& cx, const std::string& var, const Expr* dim,
                                const std::string& tensor, SourceLoc loc) {
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

void VariantChecker::assign(const Stmt& s) {
  const Sym* t = tensor_sym(s.target, s.loc);
  LeafCtx cx;
  if (t) {
    if (!can_write(t->priv))
      diags_.error(
          s.loc, "privilege violation: writes '" + s.target + "', which is read-only in " + where(),
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

// The two subscripts besides an index variable: a literal position (`sw[0]`: one element, read
// by every point) and an index variable divided by a positive literal (`s[k / 128, i]`: the block
// of 128 that k falls in, a scale per block). Neither gives the variable its extent.
void VariantChecker::fixed_or_block_subscript(const Expr& ix, const Expr* dim,
                                              const std::string& tensor, LeafCtx& cx) {
  if (ix.kind == Expr::Int) {
    if (dim && dim->kind == Expr::Int && ix.ival >= dim->ival)
      diags_.error(ix.loc,
                   "position " + std::to_string(ix.ival) + " is outside '" + tensor +
                       "', whose dimension has " + std::to_string(dim->ival) + " element(s)",
                   "a literal subscript picks one element: 0 to " + std::to_string(dim->ival - 1) +
                       " here");
    return;
  }
  const Expr& v = *ix.args[0];
  const Expr& c = *ix.args[1];
  if (v.kind != Expr::Name || !cx.extents.count(v.name) || c.kind != Expr::Int || c.ival <= 0) {
    if (v.kind == Expr::Name && !cx.extents.count(v.name) && !lookup(v.name))
      unknown(v.name, v.loc, "index variable");
    else
      diags_.error(start_loc(ix),
                   "a subscript divides an index variable by a positive integer literal only",
                   "write the block of an index as k / 128; other arithmetic in subscripts is not "
                   "allowed (shift positions with select conditions)");
  }
}

Type VariantChecker::leaf_expr(const Expr& e, LeafCtx& cx) {
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
      const Expr* dim = (t->dims && i - 1 < t->dims->size()) ? (*t->dims)[i - 1].get() : nullptr;
      if (ix.kind == Expr::Int || (ix.kind == Expr::Binary && ix.op == "/")) {
        fixed_or_block_subscript(ix, dim, base.name, cx);
        continue;
      }
      if (ix.kind != Expr::Name || !cx.extents.count(ix.name)) {
        if (ix.kind == Expr::Name && !lookup(ix.name)) {
          unknown(ix.name, ix.loc, "index variable");
        } else {
          diags_.error(
              start_loc(ix),
              "a subscript must be an index variable of the statement or of a reduction, a "
              "literal position or an index's block",
              "index with the left side's variables, e.g. S[r, c] = A[r, c], a literal "
              "position (w[0]) or a block (s[k / 128]); shift positions with select conditions "
              "instead");
        }
        continue;
      }
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
    bool cmp =
        e.op == "<" || e.op == "<=" || e.op == ">" || e.op == ">=" || e.op == "==" || e.op == "!=";
    if (logical) {
      if (a.k != Type::Bool || b.k != Type::Bool)
        diags_.error(e.loc, "'" + e.op + "' needs conditions on both sides");
      out.k = Type::Bool;
    } else if (a.k == Type::Bool || b.k == Type::Bool) {
      diags_.error(e.loc, "'" + e.op + "' needs numbers, not conditions", "use select(cond, a, b)");
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

void VariantChecker::mma(const Stmt& s) {
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
    if (o.elem == ElemType::F32)
      diags_.error(s.args[i]->loc,
                   std::string("mma operands are f16, bf16, e4m3 or e5m2, but '") + names[i] +
                       "' is " + elem_name(o.elem),
                   "convert it to f16 or bf16 first");
    if (!can_read(o.priv) && !assigned_.count(names[i]))
      diags_.error(s.args[i]->loc, "privilege violation: mma reads '" + names[i] +
                                       "', which is write-only in " + where());
  }
  // (The two 8-bit types mix: e4m3 x e5m2 is a WGMMA of its own.)
  if (A.elem != B.elem && A.elem != ElemType::F32 && B.elem != ElemType::F32 &&
      !(is_fp8(A.elem) && is_fp8(B.elem)))
    diags_.error(s.loc, std::string("mma operands differ in type: ") + elem_name(A.elem) + " and " +
                            elem_name(B.elem));
  // The tensor cores read 8-bit operands K-major only (wgmma has no transpose for them).
  if (is_fp8(A.elem) && is_fp8(B.elem) && (trans[1] || !trans[2]))
    diags_.error(s.loc,
                 "mma on 8-bit operands reads both K-major: A as [M, K] and B as trans(W) of a "
                 "[N, K] tensor",
                 "store the 8-bit operands K-major (as nn.Linear keeps W) and write mma(" +
                     names[0] + ", " + names[1] + ", trans(" + names[2] + "))");
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
                 std::string("shape mismatch in mma: ") + what + " is " + std::to_string(x->ival) +
                     " in '" + xn + "' but " + std::to_string(y->ival) + " in '" + yn + "'",
                 "mma(C, A, B) computes C[M, N] += A[M, K] * B[K, N]; write trans(X) for an "
                 "operand stored the other way round");
    return true;
  };
  mismatch("K", ak, names[1], bk, names[2]) || mismatch("M", dim(C, 0), names[0], am, names[1]) ||
      mismatch("N", dim(C, 1), names[0], bn, names[2]);
}

} // namespace grove::check_detail
