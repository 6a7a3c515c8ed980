// Integer expressions of kernel IR: over problem sizes (known at launch), block coordinates, loop
// variables and the consumer warpgroup index. Small trees, folded as they are built.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace grove::kir {

struct IExpr;
using IExprP = std::shared_ptr<const IExpr>;

struct IExpr {
  enum Op { Const, Var, Add, Sub, Mul, Div, Mod, Min, Max, CeilDiv } op = Const;
  int64_t value = 0; // Const
  std::string name;  // Var
  IExprP a, b;
};

IExprP cst(int64_t v);
IExprP var(const std::string& name);
IExprP bin(IExpr::Op op, IExprP a, IExprP b); // folds constants and identities (x + 0, x * 1, ...)
inline IExprP add(IExprP a, IExprP b) {
  return bin(IExpr::Add, std::move(a), std::move(b));
}
inline IExprP sub(IExprP a, IExprP b) {
  return bin(IExpr::Sub, std::move(a), std::move(b));
}
inline IExprP mul(IExprP a, IExprP b) {
  return bin(IExpr::Mul, std::move(a), std::move(b));
}

bool is_const(const IExprP& e, int64_t* v = nullptr);
// Whether `e` is a multiple of `m` for every value of its variables (by its form: constants,
// sums and products of such; false where it cannot tell).
bool multiple_of(const IExprP& e, int64_t m);
// Whether variable `name` occurs in `e`.
bool mentions(const IExprP& e, const std::string& name);
// `e` with variable `name` replaced by `value` (folded again).
IExprP substitute(const IExprP& e, const std::string& name, const IExprP& value);
// Evaluates with every variable bound in `env`; throws std::out_of_range naming an unbound one.
int64_t eval(const IExpr& e, const std::map<std::string, int64_t>& env);
// C syntax, also used by `grove explain`.
std::string to_string(const IExpr& e);
// A shape's extents, each as to_string writes it, separated by ", ".
std::string to_string(const std::vector<IExprP>& shape);

} // namespace grove::kir
