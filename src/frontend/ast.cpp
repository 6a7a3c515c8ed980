#include "frontend/ast.h"

#include <charconv>

namespace grove {

const char* privilege_name(Privilege p) {
  switch (p) {
  case Privilege::Read:
    return "read";
  case Privilege::Write:
    return "write";
  case Privilege::ReadWrite:
    return "readwrite";
  }
  return "?";
}

const char* level_name(Level l) {
  switch (l) {
  case Level::Host:
    return "HOST";
  case Level::Block:
    return "BLOCK";
  case Level::Warpgroup:
    return "WARPGROUP";
  case Level::Warp:
    return "WARP";
  case Level::Thread:
    return "THREAD";
  }
  return "?";
}

const char* memory_name(Memory m) {
  switch (m) {
  case Memory::Global:
    return "GLOBAL";
  case Memory::Shared:
    return "SHARED";
  case Memory::Register:
    return "REGISTER";
  case Memory::None:
    return "NONE";
  }
  return "?";
}

bool can_read(Privilege p) {
  return p != Privilege::Write;
}
bool can_write(Privilege p) {
  return p != Privilege::Read;
}

const TaskDecl* Program::find_task(const std::string& name) const {
  for (const TaskDecl& t : tasks)
    if (t.name == name) return &t;
  return nullptr;
}

const VariantDecl* Program::find_variant(const std::string& task, const std::string& name) const {
  for (const VariantDecl& v : variants)
    if (v.task == task && v.name == name) return &v;
  return nullptr;
}

const MappingDecl* Program::find_mapping(const std::string& name) const {
  for (const MappingDecl& m : mappings)
    if (m.name == name) return &m;
  return nullptr;
}

} // namespace grove

namespace grove {
bool mentions_name(const Expr& e, const std::string& name) {
  if (e.kind == Expr::Name && e.name == name) return true;
  for (const ExprPtr& a : e.args)
    if (mentions_name(*a, name)) return true;
  return false;
}

std::string expr_str(const Expr& e) {
  auto list = [](const std::vector<ExprPtr>& a, size_t from) {
    std::string s;
    for (size_t i = from; i < a.size(); ++i) s += (i > from ? ", " : "") + expr_str(*a[i]);
    return s;
  };
  switch (e.kind) {
  case Expr::Int:
    return std::to_string(e.ival);
  case Expr::Float: { // the shortest text that reads back as the same double (1e-10, 0.125)
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, e.fval);
    std::string s(buf, ec == std::errc() ? end : buf);
    if (s.find_first_of(".einf") == std::string::npos) s += ".0"; // still a float: 2.0
    return s;
  }
  case Expr::Inf:
    return "inf";
  case Expr::Name:
    return e.name;
  case Expr::Call:
    return e.name + "(" + list(e.args, 0) + ")";
  case Expr::Index:
    return expr_str(*e.args[0]) + "[" + list(e.args, 1) + "]";
  case Expr::Reduce:
    return e.name + "[" + e.var + "](" + expr_str(*e.args[0]) + ")";
  case Expr::Unary:
    return e.op + expr_str(*e.args[0]);
  case Expr::Binary:
    return "(" + expr_str(*e.args[0]) + " " + e.op + " " + expr_str(*e.args[1]) + ")";
  }
  return "?";
}
} // namespace grove

namespace grove {
std::optional<double> constant_value(const Expr& e) {
  switch (e.kind) {
  case Expr::Int:
    return static_cast<double>(e.ival);
  case Expr::Float:
    return e.fval;
  case Expr::Unary: {
    auto a = constant_value(*e.args[0]);
    if (!a || e.op != "-") return std::nullopt;
    return -*a;
  }
  case Expr::Binary: {
    auto a = constant_value(*e.args[0]), b = constant_value(*e.args[1]);
    if (!a || !b) return std::nullopt;
    if (e.op == "+") return *a + *b;
    if (e.op == "-") return *a - *b;
    if (e.op == "*") return *a * *b;
    if (e.op == "/" && *b != 0) return *a / *b;
    return std::nullopt;
  }
  default:
    return std::nullopt;
  }
}
} // namespace grove
