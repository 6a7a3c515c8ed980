#include "kernel/iexpr.h"

#include <algorithm>
#include <stdexcept>

namespace grove::kir {

IExprP cst(int64_t v) {
  auto e = std::make_shared<IExpr>();
  e->op = IExpr::Const;
  e->value = v;
  return e;
}

IExprP var(const std::string& name) {
  auto e = std::make_shared<IExpr>();
  e->op = IExpr::Var;
  e->name = name;
  return e;
}

bool multiple_of(const IExprP& e, int64_t m) {
  if (!e || m == 0) return false;
  switch (e->op) {
  case IExpr::Const:
    return e->value % m == 0;
  case IExpr::Add:
  case IExpr::Sub:
  case IExpr::Min:
  case IExpr::Max:
    return multiple_of(e->a, m) && multiple_of(e->b, m);
  case IExpr::Mul:
    return multiple_of(e->a, m) || multiple_of(e->b, m);
  default:
    return false;
  }
}

bool is_const(const IExprP& e, int64_t* v) {
  if (!e || e->op != IExpr::Const) return false;
  if (v) *v = e->value;
  return true;
}

bool mentions(const IExprP& e, const std::string& name) {
  if (!e) return false;
  if (e->op == IExpr::Var) return e->name == name;
  return mentions(e->a, name) || mentions(e->b, name);
}

IExprP substitute(const IExprP& e, const std::string& name, const IExprP& value) {
  if (!e || !mentions(e, name)) return e;
  if (e->op == IExpr::Var) return value;
  return bin(e->op, substitute(e->a, name, value), substitute(e->b, name, value));
}

namespace {
int64_t apply(IExpr::Op op, int64_t x, int64_t y) {
  switch (op) {
  case IExpr::Add:
    return x + y;
  case IExpr::Sub:
    return x - y;
  case IExpr::Mul:
    return x * y;
  case IExpr::Div:
    if (y == 0) throw std::domain_error("division by zero in a kernel index");
    return x / y;
  case IExpr::Mod:
    if (y == 0) throw std::domain_error("division by zero in a kernel index");
    return x % y;
  case IExpr::Min:
    return std::min(x, y);
  case IExpr::Max:
    return std::max(x, y);
  case IExpr::CeilDiv:
    if (y <= 0) throw std::domain_error("ceil division by a non-positive value in a kernel index");
    return (x + y - 1) / y;
  default:
    return 0;
  }
}
} // namespace

IExprP bin(IExpr::Op op, IExprP a, IExprP b) {
  int64_t x = 0, y = 0;
  bool ca = is_const(a, &x), cb = is_const(b, &y);
  if (ca && cb && !((op == IExpr::Div || op == IExpr::Mod || op == IExpr::CeilDiv) && y <= 0))
    return cst(apply(op, x, y));
  if (op == IExpr::Add && ca && x == 0) return b;
  if ((op == IExpr::Add || op == IExpr::Sub) && cb && y == 0) return a;
  if (op == IExpr::Mul && ((ca && x == 0) || (cb && y == 0))) return cst(0);
  if (op == IExpr::Mul && ca && x == 1) return b;
  if ((op == IExpr::Mul || op == IExpr::Div || op == IExpr::CeilDiv) && cb && y == 1) return a;
  auto e = std::make_shared<IExpr>();
  e->op = op;
  e->a = std::move(a);
  e->b = std::move(b);
  return e;
}

int64_t eval(const IExpr& e, const std::map<std::string, int64_t>& env) {
  switch (e.op) {
  case IExpr::Const:
    return e.value;
  case IExpr::Var: {
    auto it = env.find(e.name);
    if (it == env.end()) throw std::out_of_range("kernel variable '" + e.name + "' has no value");
    return it->second;
  }
  default:
    return apply(e.op, eval(*e.a, env), eval(*e.b, env));
  }
}

std::string to_string(const std::vector<IExprP>& shape) {
  std::string s;
  for (const IExprP& d : shape) s += (s.empty() ? "" : ", ") + to_string(*d);
  return s;
}

std::string to_string(const IExpr& e) {
  switch (e.op) {
  case IExpr::Const:
    return std::to_string(e.value);
  case IExpr::Var:
    return e.name;
  case IExpr::Min:
    return "min(" + to_string(*e.a) + ", " + to_string(*e.b) + ")";
  case IExpr::Max:
    return "max(" + to_string(*e.a) + ", " + to_string(*e.b) + ")";
  case IExpr::CeilDiv:
    return "cdiv(" + to_string(*e.a) + ", " + to_string(*e.b) + ")";
  default:
    break;
  }
  const char* op = e.op == IExpr::Add   ? " + "
                   : e.op == IExpr::Sub ? " - "
                   : e.op == IExpr::Mul ? " * "
                   : e.op == IExpr::Div ? " / "
                                        : " % ";
  return "(" + to_string(*e.a) + op + to_string(*e.b) + ")";
}

} // namespace grove::kir
