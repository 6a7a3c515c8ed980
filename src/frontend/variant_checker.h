// The checker of one variant: a scope of what every name is (size, scalar, tensor view, partition,
// loop or index variable), walked over the variant's statements. Its member functions live in
// check_program.cpp (scopes and names), check_inner.cpp (inner statements, partitions, launches)
// and check_leaf.cpp (element-wise statements, reductions, mma).
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "frontend/check.h"

namespace grove::check_detail {

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
inline SourceLoc start_loc(const Expr& e) {
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

  void run();

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

  const Sym* lookup(const std::string& n) const;
  bool declare(const std::string& n, Sym s);
  std::vector<std::string> visible_names() const;
  void unknown(const std::string& n, SourceLoc loc, const char* what = "name");
  std::string where() const { return task_.name + "." + var_.name; }

  // ---- statements ----
  void stmt(const Stmt& s);

  void leaf_op_in_inner(SourceLoc loc, const char* what);

  void expect_int(const Expr& e, const char* what);

  // ---- inner expressions ----
  Type expr(const Expr& e);

  std::set<std::string> loop_vars_in(const Expr& e);

  Type index(const Expr& e);

  Type call(const Expr& e);

  // ---- launches ----
  void launch(const Stmt& s);

  // ---- leaf statements ----
  struct LeafCtx {
    std::map<std::string, std::pair<const Expr*, std::string>>
        extents; // index var -> (dim, tensor)
  };

  const Sym* tensor_sym(const std::string& name, SourceLoc loc);

  static bool same_dim(const Expr* a, const Expr* b);
  static bool known_different(const Expr* a, const Expr* b);

  void bind_index(LeafCtx& cx, const std::string& var, const Expr* dim, const std::string& tensor,
                  SourceLoc loc);
  void fixed_or_block_subscript(const Expr& ix, const Expr* dim, const std::string& tensor,
                                LeafCtx& cx);

  void assign(const Stmt& s);

  Type leaf_expr(const Expr& e, LeafCtx& cx);

  void mma(const Stmt& s);
};

} // namespace grove::check_detail
