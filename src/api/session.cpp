#include "api/session.h"

#include <cmath>
#include <cstdio>
#include <random>
#include <set>

#include "frontend/check.h"
#include "frontend/parser.h"

namespace grove {

namespace {

// Checks the parsed program and every mapping in it; prints diagnostics. Null on any error.
std::unique_ptr<Loaded> checked(std::unique_ptr<Loaded> l, Diagnostics& diags, std::ostream& err,
                                const TypeArgs& types) {
  if (!diags.has_errors()) {
    // A type argument for no type parameter would silently leave the types as written.
    for (const auto& [name, t] : types) {
      if (l->prog.type_params.count(name)) continue;
      std::string have;
      for (const auto& [p, pt] : l->prog.type_params) have += (have.empty() ? "" : ", ") + p;
      err << "grove: error: type argument " << name << "=" << elem_name(t)
          << ": the program has no type parameter '" << name << "'\n  hint: "
          << (have.empty() ? "declare one before its first use: type " + name + " = f16;"
                           : "its type parameters: " + have)
          << "\n";
      return nullptr;
    }
    check_program(l->prog, diags);
    for (const MappingDecl& m : l->prog.mappings) check_mapping(l->prog, m, diags);
    std::set<std::string> names;
    for (const MappingDecl& m : l->prog.mappings)
      if (!names.insert(m.name).second)
        diags.error(m.loc, "mapping '" + m.name + "' is defined twice", "rename one of them");
  }
  if (diags.has_errors()) {
    diags.print(err);
    err << diags.count() << " error" << (diags.count() == 1 ? "" : "s") << "\n";
    return nullptr;
  }
  return l;
}

} // namespace

std::unique_ptr<Loaded> load(const std::string& file, std::ostream& err, const TypeArgs& types) {
  auto l = std::make_unique<Loaded>();
  Diagnostics diags(l->sm);
  parse_file(file, l->sm, diags, l->prog, types); // a file it cannot read is reported in diags
  return checked(std::move(l), diags, err, types);
}

std::unique_ptr<Loaded> load_text(const std::string& name, const std::string& text,
                                  std::ostream& err, const TypeArgs& types) {
  auto l = std::make_unique<Loaded>();
  Diagnostics diags(l->sm);
  parse_source(l->sm.add(name, text), l->sm, diags, l->prog, types);
  return checked(std::move(l), diags, err, types);
}

void report(const Loaded& l, const GroveError& e, std::ostream& err) {
  Diagnostics d(l.sm);
  d.error(e.loc, e.what(), e.hint);
  d.print(err);
  err << "1 error\n";
}

void report(const runtime::Error& e, std::ostream& err) {
  err << "grove: error: " << e.what() << "\n";
  if (!e.hint.empty()) err << "  hint: " << e.hint << "\n";
}

const MappingDecl* pick_mapping(const Loaded& l, const std::string& name, std::ostream& err) {
  if (l.prog.mappings.empty()) {
    err << "grove: error: "
        << "no mapping in this file\n  hint: add one (see docs/mapping.md), or import a file "
           "that has one\n";
    return nullptr;
  }
  if (name.empty()) return &l.prog.mappings.front();
  if (const MappingDecl* m = l.prog.find_mapping(name)) return m;
  std::string list;
  for (const MappingDecl& m : l.prog.mappings) list += (list.empty() ? "" : ", ") + m.name;
  err << "grove: error: no mapping named '" << name << "'\n  hint: this file has: " << list << "\n";
  return nullptr;
}

void fill_inputs(const TaskDecl& task, EntryArgs& args, uint64_t seed, bool poison_outputs) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  for (const Param& p : task.params) {
    if (!p.type.is_tensor) continue;
    Buffer& b = *args.tensors.at(p.name);
    bool poison = poison_outputs && !can_read(p.priv);
    for (double& x : b.data) x = poison ? std::nan("") : round_to(b.elem, dist(rng));
  }
}

namespace {
// Calls take(name, value) for each item of "A=x,B=y" in order; returns the first error (a
// malformed item, or what take returns), or empty.
template <typename Take>
std::string each_assignment(const std::string& text, const char* form, Take take) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t comma = text.find(',', pos);
    std::string item =
        text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? text.size() : comma + 1;
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      return std::string("expected ") + form + ", got '" + item + "'";
    if (std::string err = take(item.substr(0, eq), item.substr(eq + 1)); !err.empty()) return err;
  }
  return std::string();
}
} // namespace

std::string parse_assignments(const std::string& text, std::map<std::string, double>& out) {
  return each_assignment(text, "NAME=VALUE",
                         [&](const std::string& name, const std::string& value) {
                           char* end = nullptr;
                           double v = std::strtod(value.c_str(), &end);
                           if (value.empty() || *end != '\0' || !std::isfinite(v))
                             return "'" + value + "' is not a number";
                           out[name] = v;
                           return std::string();
                         });
}

std::string add_type_arg(const std::string& name, const std::string& type, TypeArgs& out) {
  std::optional<ElemType> t = elem_from_name(type);
  if (!t)
    return "'" + type +
           "' is not an element type a parameter can take (f16, bf16, f32, e4m3 or "
           "e5m2)";
  out[name] = *t;
  return {};
}

std::string parse_type_args(const std::string& text, TypeArgs& out) {
  return each_assignment(text, "NAME=TYPE", [&](const std::string& name, const std::string& type) {
    return add_type_arg(name, type, out);
  });
}

const VariantDecl* reference_variant(const Program& prog, const TaskDecl& task) {
  const VariantDecl* ref = nullptr;
  for (const VariantDecl& v : prog.variants)
    if (v.task == task.name && v.reference) ref = &v;
  return ref;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string sizes_str(const std::map<std::string, int64_t>& sizes) {
  std::string s;
  for (auto& [k, v] : sizes) s += (s.empty() ? "" : " ") + k + "=" + std::to_string(v);
  return s;
}

std::string types_str(const Program& prog) {
  std::string s;
  for (auto& [k, t] : prog.type_params) s += (s.empty() ? "; " : " ") + k + "=" + elem_name(t);
  return s;
}

} // namespace grove
