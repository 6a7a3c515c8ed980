#include "cuda/print_leaf.h"

#include <functional>
#include <optional>
#include <set>

namespace grove::cuda {

using namespace kir;

namespace {

// How one element of the iteration space is named in the generated code.
struct Elem {
  std::string row; // the leaf's row index name ("" when the space has none)
  std::string col; // the leaf's column index name ("" when none)
  std::string rb = "rb", rh = "rh", cb = "cb", e = "e"; // fragment loop variables
  std::set<std::string>* used = nullptr;                // leaf_* names the text refers to
  const std::map<const Expr*, std::string>* reductions = nullptr;
};

int64_t frag_origin(const Ref& r, size_t d, int64_t unit, const std::string& what) {
  int64_t o = 0;
  if (d < r.origin.size() && r.origin[d] && !is_const(r.origin[d], &o))
    unsupported({}, "register tensor box of " + what + " starts at a non-constant origin");
  if (o % unit != 0)
    unsupported({}, "register tensor box of " + what + " starts at " + std::to_string(o) +
                        ", not a multiple of " + std::to_string(unit));
  return o / unit;
}

std::string plus(const std::string& v, int64_t c) {
  return c == 0 ? v : "(" + v + " + " + std::to_string(c) + ")";
}

// Fragment index of the current element in a rank-2 register tensor box (pairs: 16-bit packed).
std::string frag_index(const Kernel& k, const Ref& r, const Elem& el, bool packed) {
  const RegTensor& t = k.regs.at(static_cast<size_t>(r.index));
  int64_t C = t.shape.at(1);
  int64_t oi = frag_origin(r, 0, 64, t.name), oj = frag_origin(r, 1, 8, t.name);
  if (packed)
    return plus(el.rb, oi) + " * " + std::to_string(C / 4) + " + " + plus(el.cb, oj) + " * 2 + " +
           el.rh;
  return plus(el.rb, oi) + " * " + std::to_string(C / 2) + " + " + plus(el.cb, oj) + " * 4 + " +
         el.rh + " * 2";
}

std::string row_index(const Kernel& k, const Ref& r, const Elem& el) {
  const RegTensor& t = k.regs.at(static_cast<size_t>(r.index));
  return plus(el.rb, frag_origin(r, 0, 64, t.name)) + " * 2 + " + el.rh;
}

// Byte address (as unsigned char*) of slot `r.slot` of a shared-memory buffer.
std::string smem_slot_base(const Kernel& k, const Ref& r) {
  const SmemBuffer& b = k.smem.at(static_cast<size_t>(r.index));
  int64_t s = 0;
  if (!r.slot || (is_const(r.slot, &s) && s == 0)) return smem_ptr_name(b);
  return smem_ptr_name(b) + " + (" + c_expr(r.slot) + ") * " + std::to_string(b.slot_bytes());
}

// Element offset and in-bounds test of a global box element given box-local index texts.
struct GlobalElem {
  std::string ptr, offset, in_bounds;
};

GlobalElem global_elem(const Kernel& k, const Ref& r, const std::vector<IExprP>& local) {
  const GlobalTensor& t = k.tensors.at(static_cast<size_t>(r.index));
  std::vector<IExprP> idx = full_index(r, t.shape.size(), local);
  GlobalElem g;
  g.ptr = sanitize(t.name);
  // Horner form in 64-bit: ((long long)(i0) * S1 + i1) * S2 + ..., the last S the row pitch.
  std::string off = "(long long)(" + c_expr(idx[0]) + ")";
  for (size_t d = 1; d < idx.size(); ++d)
    off = "(" + off + " * (" + c_expr(d + 1 == idx.size() ? row_pitch(t) : t.shape[d]) + ") + " +
          c_expr(idx[d]) + ")";
  g.offset = off;
  size_t lead = idx.size() - local.size();
  for (size_t d = lead; d < idx.size(); ++d)
    g.in_bounds += (g.in_bounds.empty() ? "" : " && ") + std::string("(") + c_expr(idx[d]) + " < " +
                   c_expr(t.shape[d]) + ")";
  if (g.in_bounds.empty()) g.in_bounds = "true";
  return g;
}

// Box-local index expressions from a leaf's subscripts: index variables (the element's row or
// column), literal positions and blocks of an index (`k / 128`).
std::vector<IExprP> local_index(const std::vector<const Expr*>& subs, Elem& el,
                                const std::string& tensor, SourceLoc loc) {
  std::vector<IExprP> out;
  for (const Expr* x : subs) {
    if (x->kind == Expr::Int) {
      out.push_back(cst(x->ival));
      continue;
    }
    bool block = x->kind == Expr::Binary && x->op == "/" && x->args[1]->kind == Expr::Int;
    const Expr& v = block ? *x->args[0] : *x;
    const std::string& n = v.name;
    if (v.kind != Expr::Name || (n != el.row && n != el.col))
      unsupported(loc, "'" + tensor + "' is indexed by '" + expr_str(*x) +
                           "', which is neither the element's row nor its column here");
    if (el.used) el.used->insert(leaf_name(n));
    out.push_back(block ? bin(IExpr::Div, var(leaf_name(n)), cst(x->args[1]->ival))
                        : var(leaf_name(n)));
  }
  return out;
}

// The subscripts of an index expression `t[s0, s1, ...]` (its arguments after the tensor).
std::vector<const Expr*> subscripts(const Expr& index) {
  std::vector<const Expr*> subs;
  for (size_t i = 1; i < index.args.size(); ++i) subs.push_back(index.args[i].get());
  return subs;
}

// The subscripts as index variable names, for register tensors (a thread holds only its own
// fragment, so nothing else reaches them); "" for any other subscript.
std::vector<std::string> subscript_names(const std::vector<const Expr*>& subs) {
  std::vector<std::string> names;
  for (const Expr* x : subs) names.push_back(x->kind == Expr::Name ? x->name : "");
  return names;
}

// A float read of one element of `r` (bound to leaf tensor `name`) at leaf subscripts `subs`.
std::string read_elem(const Kernel& k, const Ref& r, const std::string& name,
                      const std::vector<const Expr*>& subs, Elem& el, SourceLoc loc) {
  switch (r.kind) {
  case Ref::Reg: {
    std::vector<std::string> names = subscript_names(subs);
    const RegTensor& t = k.regs.at(static_cast<size_t>(r.index));
    if (t.shape.size() == 2) {
      if (names.size() != 2 || names[0] != el.row || names[1] != el.col || el.col.empty())
        unsupported(loc, "register tensor '" + name +
                             "' must be read at [row, column] of the element (a thread holds "
                             "only its own fragment)");
      if (is_16bit(t.elem))
        return unpack_pair(t.elem, sanitize(t.name) + "[" + frag_index(k, r, el, true) + "]", el.e);
      return sanitize(t.name) + "[" + frag_index(k, r, el, false) + " + " + el.e + "]";
    }
    if (t.shape.size() == 1) {
      if (names.size() != 1 || names[0] != el.row || el.row.empty())
        unsupported(loc, "row vector '" + name + "' must be read at the element's row");
      if (t.elem != ElemType::F32)
        unsupported(loc, "row vector '" + name + "' must be f32 in registers");
      return sanitize(t.name) + "[" + row_index(k, r, el) + "]";
    }
    unsupported(loc, "register tensor '" + name + "' has rank " + std::to_string(t.shape.size()));
  }
  case Ref::Smem: {
    const SmemBuffer& b = k.smem.at(static_cast<size_t>(r.index));
    std::vector<IExprP> idx = full_index(r, b.shape.size(), local_index(subs, el, name, loc));
    return to_float(b.elem, "*reinterpret_cast<const " + std::string(storage_type(b.elem)) + "*>(" +
                                smem_slot_base(k, r) + " + " + smem_elem_offset(b, idx) + ")");
  }
  case Ref::Global: {
    const GlobalTensor& t = k.tensors.at(static_cast<size_t>(r.index));
    GlobalElem g = global_elem(k, r, local_index(subs, el, name, loc));
    return "(" + g.in_bounds + " ? " + to_float(t.elem, g.ptr + "[" + g.offset + "]") + " : 0.0f)";
  }
  }
  return "0.0f";
}

// ---------------------------------------------------------------------------------------------
// Leaf expressions to C.

struct CVal {
  std::string code;
  bool is_int = false;
};

std::string as_float(const CVal& v) {
  return v.is_int ? "float(" + v.code + ")" : v.code;
}

// The key of a read at literal subscripts ("sw[0]"), or "" for any other read.
std::string fixed_read_key(const Expr& index) {
  std::string key = index.args[0]->name + "[";
  for (size_t i = 1; i < index.args.size(); ++i) {
    if (index.args[i]->kind != Expr::Int) return "";
    key += (i > 1 ? ", " : "") + std::to_string(index.args[i]->ival);
  }
  return key + "]";
}

struct LeafPrinter {
  const Kernel& k;
  const Op& op;
  const std::map<std::string, std::string>* preloaded = nullptr;
  const std::map<std::string, int64_t>* fixed = nullptr; // index names printed as these values

  CVal print(const Expr& e, Elem& el) {
    switch (e.kind) {
    case Expr::Int:
      return {std::to_string(e.ival), true};
    case Expr::Float:
      return {float_literal(e.fval), false};
    case Expr::Inf:
      return {"grove::inf()", false};
    case Expr::Name: {
      if (fixed)
        if (auto f = fixed->find(e.name); f != fixed->end())
          return {std::to_string(f->second), true};
      if (e.name == el.row || e.name == el.col) {
        if (el.used) el.used->insert(leaf_name(e.name));
        return {leaf_name(e.name), true};
      }
      auto it = op.scalars.find(e.name);
      if (it == op.scalars.end())
        unsupported(e.loc, "'" + e.name + "' has no value in this compute op",
                    "bind it in the op's scalars, or use the element's own row and column");
      if (el.used) el.used->insert(leaf_name(e.name));
      return {leaf_name(e.name), it->second.int_value != nullptr};
    }
    case Expr::Index: {
      const std::string& n = e.args[0]->name;
      auto it = op.tensors.find(n);
      if (it == op.tensors.end()) unsupported(e.loc, "'" + n + "' is not bound in this compute op");
      if (preloaded) {
        auto pre = preloaded->find(fixed_read_key(e));
        if (pre != preloaded->end()) return {pre->second, false};
      }
      return {read_elem(k, it->second, n, subscripts(e), el, e.loc), false};
    }
    case Expr::Reduce: {
      if (!el.reductions || !el.reductions->count(&e))
        unsupported(e.loc, "a reduction inside a reduction is not supported");
      return {el.reductions->at(&e), false};
    }
    case Expr::Unary: {
      CVal a = print(*e.args[0], el);
      if (e.op == "!") return {"(!" + a.code + ")", true};
      return {"(-" + a.code + ")", a.is_int};
    }
    case Expr::Binary: {
      CVal a = print(*e.args[0], el), b = print(*e.args[1], el);
      const std::string& o = e.op;
      bool ints = a.is_int && b.is_int;
      if (o == "/") return {"(" + as_float(a) + " / " + as_float(b) + ")", false};
      if (o == "%")
        return ints ? CVal{"(" + a.code + " % " + b.code + ")", true}
                    : CVal{"fmodf(" + as_float(a) + ", " + as_float(b) + ")", false};
      bool logical = o == "<" || o == "<=" || o == ">" || o == ">=" || o == "==" || o == "!=" ||
                     o == "&&" || o == "||";
      return {"(" + a.code + " " + o + " " + b.code + ")", logical || ints};
    }
    case Expr::Call: {
      std::vector<CVal> a;
      for (const ExprPtr& x : e.args) a.push_back(print(*x, el));
      const std::string& f = e.name;
      auto one = [&](const char* fn) { return CVal{std::string(fn) + "(" + as_float(a[0]) + ")"}; };
      if (f == "exp2") return one("grove::exp2_approx");
      if (f == "exp") return {"grove::exp2_approx(" + as_float(a[0]) + " * 1.44269504f)", false};
      if (f == "log2") return one("log2f");
      if (f == "tanh") return one("tanhf");
      if (f == "sqrt") return one("sqrtf");
      if (f == "abs") return one("fabsf");
      // round_T (the overlap pass's): through the device header's T conversions and back.
      if (f.rfind("round_", 0) == 0)
        if (std::optional<ElemType> t = elem_from_name(f.substr(6)); t && *t != ElemType::F32)
          return {to_float(*t, from_float(*t, as_float(a[0])))};
      if ((f == "max" || f == "min") && a.size() == 2) {
        if (a[0].is_int && a[1].is_int)
          return {std::string(f == "max" ? "grove::imax(" : "grove::imin(") + a[0].code + ", " +
                      a[1].code + ")",
                  true};
        return {std::string(f == "max" ? "fmaxf(" : "fminf(") + as_float(a[0]) + ", " +
                    as_float(a[1]) + ")",
                false};
      }
      if (f == "select" && a.size() == 3) {
        bool ints = a[1].is_int && a[2].is_int;
        return {"(" + a[0].code + " ? " + (ints ? a[1].code : as_float(a[1])) + " : " +
                    (ints ? a[2].code : as_float(a[2])) + ")",
                ints};
      }
      unsupported(e.loc, "unknown element-wise function '" + f + "'");
    }
    }
    unsupported(e.loc, "unsupported expression in a compute op");
  }
};

// ---------------------------------------------------------------------------------------------
// Whole-box tests. A statement `T[...] = select(test, a, b)` whose test is a conjunction of
// comparisons affine in the statement's indices runs as `if (test holds on the whole box) T = a;
// else T = select(...)`: the box-wide test is each comparison at the corner of the box where it
// is tightest, one warp-uniform branch instead of a test per element. Attention's masks: every
// key tile but the diagonal one and the ragged last one takes the unmasked path, as
// FlashAttention splits its masked iterations off.

// Adds sign times e's coefficient of each index name (in `extent`) to `coef`; false unless e is
// an integer expression affine in them (literals, int scalars, +, -, and * by a literal).
bool affine(const Expr& e, const Op& op, const std::map<std::string, int64_t>& extent, int64_t sign,
            std::map<std::string, int64_t>& coef) {
  switch (e.kind) {
  case Expr::Int:
    return true;
  case Expr::Name: {
    if (extent.count(e.name)) {
      coef[e.name] += sign;
      return true;
    }
    auto it = op.scalars.find(e.name);
    return it != op.scalars.end() && it->second.int_value != nullptr;
  }
  case Expr::Unary:
    return e.op == "-" && affine(*e.args[0], op, extent, -sign, coef);
  case Expr::Binary:
    if (e.op == "+" || e.op == "-")
      return affine(*e.args[0], op, extent, sign, coef) &&
             affine(*e.args[1], op, extent, e.op == "+" ? sign : -sign, coef);
    if (e.op == "*")
      for (int lit = 0; lit < 2; ++lit)
        if (e.args[static_cast<size_t>(lit)]->kind == Expr::Int)
          return affine(*e.args[static_cast<size_t>(1 - lit)], op, extent,
                        sign * e.args[static_cast<size_t>(lit)]->ival, coef);
    return false;
  default:
    return false;
  }
}

// C text that is true where `test` holds on every element of the box (index names -> extents),
// or "" where the test is not a conjunction of affine comparisons or names no index.
std::string whole_box_test(const Expr& test, LeafPrinter& lp,
                           const std::map<std::string, int64_t>& extent) {
  if (test.kind != Expr::Binary) return "";
  if (test.op == "&&") {
    std::string a = whole_box_test(*test.args[0], lp, extent);
    std::string b = whole_box_test(*test.args[1], lp, extent);
    return a.empty() || b.empty() ? "" : "(" + a + " && " + b + ")";
  }
  const bool below = test.op == "<" || test.op == "<="; // holds where lhs - rhs is small
  if (!below && test.op != ">" && test.op != ">=") return "";
  std::map<std::string, int64_t> coef; // of lhs - rhs
  if (!affine(*test.args[0], lp.op, extent, 1, coef) ||
      !affine(*test.args[1], lp.op, extent, -1, coef))
    return "";
  // The corner where lhs - rhs is largest (for < and <=) or smallest (for > and >=).
  std::map<std::string, int64_t> corner;
  bool indexed = false;
  for (const auto& [v, n] : extent) {
    const int64_t c = coef.count(v) ? coef.at(v) : 0;
    indexed = indexed || c != 0;
    corner[v] = (c > 0) == below && c != 0 ? n - 1 : 0;
  }
  if (!indexed) return "";
  Elem el;
  lp.fixed = &corner;
  std::string text = lp.print(test, el).code;
  lp.fixed = nullptr;
  return text;
}

void collect_reductions(const Expr& e, std::vector<const Expr*>& out) {
  if (e.kind == Expr::Reduce) {
    out.push_back(&e);
    return;
  }
  for (const ExprPtr& a : e.args) collect_reductions(*a, out);
}

// Columns a reduction walks: dimension 1 of the first rank-2 box its variable indexes.
int64_t reduction_extent(const Expr& e, const std::string& v, const Op& op, const Kernel& k) {
  if (e.kind == Expr::Index && e.args.size() == 3 && e.args[2]->name == v) {
    auto it = op.tensors.find(e.args[0]->name);
    if (it != op.tensors.end() && it->second.shape.size() == 2) return it->second.shape[1];
  }
  for (const ExprPtr& a : e.args)
    if (int64_t n = reduction_extent(*a, v, op, k)) return n;
  return 0;
}

void open_loop(CodeWriter& w, const std::string& v, int64_t n) {
  w.line("#pragma unroll");
  w.open("for (int " + v + " = 0; " + v + " < " + std::to_string(n) + "; ++" + v + ")");
}

// Declarations of the index variables a piece of text used (all others are left out, so nvcc
// warns about nothing).
void declare_indices(CodeWriter& w, const std::set<std::string>& used, const std::string& name,
                     const std::string& value) {
  if (!name.empty() && used.count(leaf_name(name)))
    w.line("const int " + leaf_name(name) + " = " + value + ";");
}

// The element-wise statement shape shared by Compute and Copy with a register side.
struct Statement {
  const Ref* target = nullptr;
  std::string target_name; // for messages
  std::vector<std::string> indices;
  std::vector<const Expr*> reductions; // Compute only
  std::function<std::string(Elem&)> value;
  SourceLoc loc;
};

void store_pair(CodeWriter& w, const Kernel& k, const Statement& s, Elem& el) {
  const Ref& t = *s.target;
  switch (t.kind) {
  case Ref::Reg: {
    const RegTensor& r = k.regs.at(static_cast<size_t>(t.index));
    if (r.shape.size() != 2 || s.indices.size() != 2)
      unsupported(s.loc, "target '" + s.target_name + "' is not a rank-2 register tensor");
    if (is_16bit(r.elem)) {
      w.line(sanitize(r.name) + "[" + frag_index(k, t, el, true) +
             "] = " + pack_pair(r.elem, "v[0]", "v[1]") + ";");
    } else {
      // An 8-bit tensor keeps its values as floats, rounded to its type.
      auto value = [&](const std::string& v) {
        return is_fp8(r.elem) ? to_float(r.elem, from_float(r.elem, v)) : v;
      };
      std::string f = frag_index(k, t, el, false);
      w.line(sanitize(r.name) + "[" + f + "] = " + value("v[0]") + ";");
      w.line(sanitize(r.name) + "[" + f + " + 1] = " + value("v[1]") + ";");
    }
    return;
  }
  case Ref::Smem: {
    const SmemBuffer& b = k.smem.at(static_cast<size_t>(t.index));
    std::vector<IExprP> local = {var(leaf_name(s.indices[0])), var("col0")};
    std::string p =
        smem_slot_base(k, t) + " + " + smem_elem_offset(b, full_index(t, b.shape.size(), local));
    if (is_16bit(b.elem)) {
      w.line("*reinterpret_cast<grove::u32*>(" + p + ") = " + pack_pair(b.elem, "v[0]", "v[1]") +
             ";");
    } else if (is_fp8(b.elem)) { // two bytes, never split by the swizzle (col0 even)
      w.line("*reinterpret_cast<grove::u16*>(" + p + ") = grove::pack_" + elem_name(b.elem) +
             "x2(v[0], v[1]);");
    } else if (b.elem == ElemType::F32) {
      w.line("float* dst = reinterpret_cast<float*>(" + p + ");");
      w.line("dst[0] = v[0];");
      w.line("dst[1] = v[1];");
    } else {
      unsupported(s.loc, "stores to " + std::string(elem_name(b.elem)) + " shared memory");
    }
    return;
  }
  case Ref::Global: {
    const GlobalTensor& g = k.tensors.at(static_cast<size_t>(t.index));
    std::vector<IExprP> local = {var(leaf_name(s.indices[0])), var("col0")};
    GlobalElem ge = global_elem(k, t, local);
    std::vector<IExprP> local1 = {var(leaf_name(s.indices[0])), add(var("col0"), cst(1))};
    GlobalElem ge1 = global_elem(k, t, local1);
    w.line("const long long off = " + ge.offset + ";");
    w.line("const bool in0 = " + ge.in_bounds + ", in1 = " + ge1.in_bounds + ";");
    if (is_16bit(g.elem)) {
      w.line("if (in0 && in1 && (off & 1) == 0)");
      w.line("  *reinterpret_cast<grove::u32*>(" + ge.ptr +
             " + off) = " + pack_pair(g.elem, "v[0]", "v[1]") + ";");
      w.open("else");
      w.line("if (in0) " + ge.ptr + "[off] = " + from_float(g.elem, "v[0]") + ";");
      w.line("if (in1) " + ge.ptr + "[off + 1] = " + from_float(g.elem, "v[1]") + ";");
      w.close();
    } else {
      w.line("if (in0) " + ge.ptr + "[off] = " + from_float(g.elem, "v[0]") + ";");
      w.line("if (in1) " + ge.ptr + "[off + 1] = " + from_float(g.elem, "v[1]") + ";");
    }
    return;
  }
  }
}

void store_row(CodeWriter& w, const Kernel& k, const Statement& s, Elem& el) {
  const Ref& t = *s.target;
  switch (t.kind) {
  case Ref::Reg: {
    const RegTensor& r = k.regs.at(static_cast<size_t>(t.index));
    if (r.elem != ElemType::F32)
      unsupported(s.loc, "row vector '" + s.target_name + "' must be f32 in registers");
    w.line(sanitize(r.name) + "[" + row_index(k, t, el) + "] = v;");
    return;
  }
  case Ref::Smem: {
    const SmemBuffer& b = k.smem.at(static_cast<size_t>(t.index));
    std::vector<IExprP> local = {var(leaf_name(s.indices[0]))};
    w.line("if ((" + std::string(kTid) + " & 3) == 0)  // one store per quad (it shares the row)");
    w.line("  *reinterpret_cast<" + std::string(storage_type(b.elem)) + "*>(" +
           smem_slot_base(k, t) + " + " +
           smem_elem_offset(b, full_index(t, b.shape.size(), local)) +
           ") = " + from_float(b.elem, "v") + ";");
    return;
  }
  case Ref::Global: {
    const GlobalTensor& g = k.tensors.at(static_cast<size_t>(t.index));
    GlobalElem ge = global_elem(k, t, {var(leaf_name(s.indices[0]))});
    w.line("if ((" + std::string(kTid) + " & 3) == 0 && " + ge.in_bounds + ")");
    w.line("  " + ge.ptr + "[" + ge.offset + "] = " + from_float(g.elem, "v") + ";");
    return;
  }
  }
}

void emit_reduction(CodeWriter& w, const Kernel& k, const Op& op, const Expr& red,
                    const std::string& name, Elem& outer, LeafPrinter& lp) {
  int64_t C = reduction_extent(*red.args[0], red.var, op, k);
  if (C <= 0 || C % 8 != 0)
    unsupported(red.loc, "reduction over '" + red.var +
                             "' must walk the columns of a rank-2 box with a multiple of 8");
  bool is_max = red.name == "max";
  w.line("float " + name + " = " + (is_max ? "-grove::inf()" : "0.0f") + ";  // " + expr_str(red));
  open_loop(w, "rcb", C / 8);
  open_loop(w, "re", 2);
  std::set<std::string> used;
  Elem el = outer;
  el.col = red.var;
  el.cb = "rcb";
  el.e = "re";
  el.used = &used;
  el.reductions = nullptr;
  std::string body = as_float(lp.print(*red.args[0], el));
  declare_indices(w, used, el.row == red.var ? "" : red.var,
                  "8 * rcb + " + std::string(kFragCol) + " + re");
  if (outer.used)
    for (const std::string& u : used)
      if (u != leaf_name(red.var)) outer.used->insert(u);
  w.line(name + " = " + (is_max ? "fmaxf(" + name + ", " + body + ")" : name + " + " + body) + ";");
  w.close();
  w.close();
  w.line(name + " = grove::" + (is_max ? "quad_max(" : "quad_sum(") + name + ");");
}

// Whether a rank-2 statement's stores into a 16-bit shared-memory box can go through stmatrix:
// 8x8 blocks of 16 contiguous, 16-byte-aligned bytes (row length a multiple of 8 elements, the
// box's first column a constant multiple of 8) and pairs of column blocks (a multiple of 16).
bool stores_by_stmatrix(const Kernel& k, const Statement& s) {
  const Ref& t = *s.target;
  if (t.kind != Ref::Smem || t.shape.size() != 2 || t.shape[1] % 16 != 0) return false;
  const SmemBuffer& b = k.smem.at(static_cast<size_t>(t.index));
  if (!is_16bit(b.elem) || b.shape.empty() || b.shape.back() % 8 != 0) return false;
  int64_t col = 0;
  const size_t last = b.shape.size() - 1;
  if (last < t.origin.size() && t.origin[last] && !is_const(t.origin[last], &col)) return false;
  return col % 8 == 0;
}

// After the fragment loops have packed a row block `rb` into pk[rh][cb]: one stmatrix per pair of
// column blocks, its four 8x8 matrices being (rh, cb) = (0, 2 cb2), (1, 2 cb2), (0, 2 cb2 + 1),
// (1, 2 cb2 + 1); lane l names row l % 8 of matrix l / 8.
void emit_stmatrix(CodeWriter& w, const Kernel& k, const Statement& s) {
  const Ref& t = *s.target;
  const SmemBuffer& b = k.smem.at(static_cast<size_t>(t.index));
  const std::string tid = kTid;
  w.line("const int st_row = 64 * rb + 16 * (" + tid + " / 32) + 8 * ((" + tid + " / 8) % 2) + " +
         tid + " % 8;");
  open_loop(w, "cb2", t.shape[1] / 16);
  w.line("const int st_col = 8 * (2 * cb2 + (" + tid + " % 32) / 16);");
  std::vector<IExprP> local = {var("st_row"), var("st_col")};
  w.line("grove::stmatrix_x4(grove::smem_u32(" + smem_slot_base(k, t) + " + " +
         smem_elem_offset(b, full_index(t, b.shape.size(), local)) +
         "), pk[0][2 * cb2], pk[1][2 * cb2], pk[0][2 * cb2 + 1], pk[1][2 * cb2 + 1]);");
  w.close();
}

void emit_statement(CodeWriter& w, const Kernel& k, const Op& op, const Statement& s,
                    LeafPrinter* lp) {
  const std::vector<int64_t>& shape = s.target->shape;
  if (shape.size() != s.indices.size())
    unsupported(s.loc, "'" + s.target_name + "' has rank " + std::to_string(shape.size()) +
                           " but is written with " + std::to_string(s.indices.size()) + " indices");
  if (shape.empty() || shape.size() > 2 || shape[0] % 64 != 0 ||
      (shape.size() == 2 && shape[1] % 8 != 0))
    unsupported(s.loc, "'" + s.target_name +
                           "' is not a [64*i] or [64*i, 8*j] box; the warpgroup's fragment "
                           "layout cannot cover it");
  const bool stm = shape.size() == 2 && stores_by_stmatrix(k, s);
  w.open("");
  open_loop(w, "rb", shape[0] / 64);
  if (stm)
    w.line("grove::u32 pk[2][" + std::to_string(shape[1] / 8) +
           "];  // packed pairs of this row block, for stmatrix");
  open_loop(w, "rh", 2);
  // Print the value first to learn which names it uses; declare those, then compute.
  std::set<std::string> used;
  Elem el;
  el.row = s.indices[0];
  el.col = shape.size() == 2 ? s.indices[1] : "";
  el.used = &used;
  std::map<const Expr*, std::string> reds;
  for (size_t i = 0; i < s.reductions.size(); ++i)
    reds[s.reductions[i]] = "red" + std::to_string(i);
  el.reductions = &reds;
  std::string value = s.value(el);
  // Smem/global targets use the row too.
  bool target_mem = s.target->kind != Ref::Reg && !stm;
  if (target_mem) used.insert(leaf_name(el.row));
  const std::string row_expr = "64 * rb + 8 * rh + " + std::string(kFragRow);
  CodeWriter sub; // reductions first need their own row uses
  std::set<std::string> red_used;
  for (size_t i = 0; i < s.reductions.size(); ++i) {
    Elem rel = el;
    rel.used = &red_used;
    emit_reduction(sub, k, op, *s.reductions[i], reds[s.reductions[i]], rel, *lp);
  }
  for (const std::string& u : red_used) used.insert(u);
  declare_indices(w, used, el.row, row_expr);
  std::string sub_text = sub.str();
  size_t start = 0;
  while (start < sub_text.size()) {
    size_t end = sub_text.find('\n', start);
    w.line(sub_text.substr(start, end - start));
    start = end + 1;
  }
  if (shape.size() == 2) {
    open_loop(w, "cb", shape[1] / 8);
    if (target_mem) w.line("const int col0 = 8 * cb + " + std::string(kFragCol) + ";");
    w.line("float v[2];");
    open_loop(w, "e", 2);
    declare_indices(w, used, el.col, "8 * cb + " + std::string(kFragCol) + " + e");
    w.line("v[e] = " + value + ";");
    w.close();
    if (stm)
      w.line("pk[rh][cb] = " +
             pack_pair(k.smem.at(static_cast<size_t>(s.target->index)).elem, "v[0]", "v[1]") + ";");
    else
      store_pair(w, k, s, el);
    w.close();
  } else {
    w.line("const float v = " + value + ";");
    store_row(w, k, s, el);
  }
  w.close();
  if (stm) emit_stmatrix(w, k, s);
  w.close();
  w.close();
}

void declare_scalars(CodeWriter& w, const Op& op, const std::set<std::string>& wanted) {
  for (const auto& [n, sc] : op.scalars) {
    if (!wanted.count(n)) continue;
    if (sc.int_value)
      w.line("const int " + leaf_name(n) + " = " + c_expr(sc.int_value) + ";");
    else if (!sc.param.empty())
      w.line("const float " + leaf_name(n) + " = " + sanitize(sc.param) + ";");
    else
      w.line("const float " + leaf_name(n) + " = " + float_literal(sc.value) + ";");
  }
}

void scalar_names(const Expr& e, const Op& op, std::set<std::string>& out) {
  if (e.kind == Expr::Name && op.scalars.count(e.name)) out.insert(e.name);
  for (const ExprPtr& a : e.args) scalar_names(*a, op, out);
}

std::string ref_text(const Kernel& k, const Ref& r) {
  switch (r.kind) {
  case Ref::Reg:
    return "reg " + k.regs.at(static_cast<size_t>(r.index)).name;
  case Ref::Smem:
    return "smem " + k.smem.at(static_cast<size_t>(r.index)).name +
           (r.slot ? "[" + c_expr(r.slot) + "]" : "");
  case Ref::Global:
    return "global " + k.tensors.at(static_cast<size_t>(r.index)).name;
  }
  return "?";
}

std::string box_text(const Ref& r) {
  std::string s;
  if (!r.origin.empty()) {
    s += " @(";
    for (size_t i = 0; i < r.origin.size(); ++i) s += (i ? ", " : "") + c_expr(r.origin[i]);
    s += ")";
  }
  s += " [";
  for (size_t i = 0; i < r.shape.size(); ++i) s += (i ? ", " : "") + std::to_string(r.shape[i]);
  return s + "]";
}

} // namespace

void emit_compute(CodeWriter& w, const Kernel& k, const Op& op, const RoleCtx& ctx,
                  const std::map<std::string, std::string>* preloaded) {
  if (!ctx.consumer) unsupported(op.loc, "compute ops run in consumer warpgroups only");
  std::string bindings;
  for (const auto& [n, r] : op.tensors)
    bindings += " " + n + " = " + ref_text(k, r) + box_text(r) + ";";
  w.comment("compute (" + op.note + "):" + bindings);
  std::set<std::string> scalars;
  for (const Stmt* s : op.stmts)
    if (s->kind == Stmt::Assign) scalar_names(*s->value, op, scalars);
  w.open("");
  declare_scalars(w, op, scalars);
  LeafPrinter lp{k, op, preloaded};
  for (const Stmt* s : op.stmts) {
    if (s->kind != Stmt::Assign)
      unsupported(s->loc, "an mma statement inside a compute op",
                  "lower it to a Wgmma op; compute ops hold element-wise statements");
    auto it = op.tensors.find(s->target);
    if (it == op.tensors.end())
      unsupported(s->loc, "the target '" + s->target + "' is not bound in this compute op");
    std::string text = s->target + "[";
    for (size_t i = 0; i < s->indices.size(); ++i) text += (i ? ", " : "") + s->indices[i];
    w.comment(text + "] = " + expr_str(*s->value));
    Statement st;
    st.target = &it->second;
    st.target_name = s->target;
    st.indices = s->indices;
    st.loc = s->loc;
    collect_reductions(*s->value, st.reductions);
    const Expr* value = s->value.get();
    st.value = [&lp, value](Elem& el) { return as_float(lp.print(*value, el)); };
    std::string whole;
    if (value->kind == Expr::Call && value->name == "select" && value->args.size() == 3 &&
        st.reductions.empty()) {
      std::map<std::string, int64_t> extent;
      for (size_t i = 0; i < s->indices.size() && i < it->second.shape.size(); ++i)
        extent[s->indices[i]] = it->second.shape[i];
      whole = whole_box_test(*value->args[0], lp, extent);
    }
    if (whole.empty()) {
      emit_statement(w, k, op, st, &lp);
      continue;
    }
    w.open("if (" + whole + ")"); // the test holds on the whole box: no test per element
    const Expr* taken = value->args[1].get();
    Statement unmasked = st;
    unmasked.value = [&lp, taken](Elem& el) { return as_float(lp.print(*taken, el)); };
    emit_statement(w, k, op, unmasked, &lp);
    w.close();
    w.open("else");
    emit_statement(w, k, op, st, &lp);
    w.close();
  }
  w.close();
}

std::vector<std::pair<std::string, std::string>> fixed_global_reads(const Kernel& k, const Op& op) {
  std::vector<std::pair<std::string, std::string>> out;
  std::set<std::string> seen;
  std::function<void(const Expr&)> visit = [&](const Expr& e) {
    for (const ExprPtr& a : e.args) visit(*a);
    if (e.kind != Expr::Index) return;
    auto it = op.tensors.find(e.args[0]->name);
    const std::string key = fixed_read_key(e);
    if (it == op.tensors.end() || it->second.kind != Ref::Global || key.empty() ||
        k.tensors.at(static_cast<size_t>(it->second.index)).written || !seen.insert(key).second)
      return;
    Elem none; // literal subscripts name no row or column
    std::string load = read_elem(k, it->second, key, subscripts(e), none, e.loc);
    if (op.guard) load = "((" + c_expr(op.guard) + ") ? " + load + " : 0.0f)";
    out.emplace_back(key, load);
  };
  for (const Stmt* s : op.stmts)
    if (s->kind == Stmt::Assign) visit(*s->value);
  return out;
}

void emit_copy(CodeWriter& w, const Kernel& k, const Op& op, const RoleCtx& ctx) {
  w.comment("copy " + ref_text(k, op.dst) + box_text(op.dst) + " <- " + ref_text(k, op.src) +
            box_text(op.src) + (op.note.empty() ? "" : "  (" + op.note + ")"));
  if (op.dst.shape != op.src.shape) unsupported(op.loc, "a copy between boxes of different shapes");
  bool reg = op.dst.kind == Ref::Reg || op.src.kind == Ref::Reg;
  if (op.dst.kind == Ref::Reg && op.src.kind == Ref::Reg)
    unsupported(op.loc, "a copy between two register tensors");
  std::vector<std::string> names =
      op.dst.shape.size() == 2 ? std::vector<std::string>{"r", "c"} : std::vector<std::string>{"r"};
  // The same as subscripts, for read_elem.
  std::vector<Expr> name_exprs(names.size());
  std::vector<const Expr*> subs;
  for (size_t i = 0; i < names.size(); ++i) {
    name_exprs[i].kind = Expr::Name;
    name_exprs[i].name = names[i];
    subs.push_back(&name_exprs[i]);
  }
  Op fake; // leaf printer context with no scalars
  LeafPrinter lp{k, fake};
  if (reg) {
    if (!ctx.consumer) unsupported(op.loc, "register copies run in consumer warpgroups only");
    Statement st;
    st.target = &op.dst;
    st.target_name = "copy destination";
    st.indices = names;
    st.loc = op.loc;
    const Ref* src = &op.src;
    st.value = [&k, src, &subs, &op](Elem& el) {
      return read_elem(k, *src, "copy source", subs, el, op.loc);
    };
    emit_statement(w, k, fake, st, &lp);
    return;
  }
  // Shared/global on both sides: the role's threads stride over the box.
  if (op.dst.shape.empty() || op.dst.shape.size() > 2)
    unsupported(op.loc, "a memory-to-memory copy of rank other than 1 or 2");
  int64_t R = op.dst.shape[0], C = op.dst.shape.size() == 2 ? op.dst.shape[1] : 1;
  w.open("for (int idx = " + std::string(kTid) + "; idx < " + std::to_string(R * C) +
         "; idx += " + std::to_string(ctx.threads) + ")");
  w.line("const int " + leaf_name("r") + " = idx / " + std::to_string(C) + ";");
  if (names.size() == 2)
    w.line("const int " + leaf_name("c") + " = idx % " + std::to_string(C) + ";");
  Elem el;
  el.row = "r";
  el.col = names.size() == 2 ? "c" : "";
  std::string v = read_elem(k, op.src, "copy source", subs, el, op.loc);
  std::vector<IExprP> local;
  for (const std::string& n : names) local.push_back(var(leaf_name(n)));
  if (op.dst.kind == Ref::Smem) {
    const SmemBuffer& b = k.smem.at(static_cast<size_t>(op.dst.index));
    w.line("*reinterpret_cast<" + std::string(storage_type(b.elem)) + "*>(" +
           smem_slot_base(k, op.dst) + " + " +
           smem_elem_offset(b, full_index(op.dst, b.shape.size(), local)) +
           ") = " + from_float(b.elem, v) + ";");
  } else {
    const GlobalTensor& g = k.tensors.at(static_cast<size_t>(op.dst.index));
    GlobalElem ge = global_elem(k, op.dst, local);
    w.line("if (" + ge.in_bounds + ") " + ge.ptr + "[" + ge.offset +
           "] = " + from_float(g.elem, v) + ";");
  }
  w.close();
}

} // namespace grove::cuda
