// Static checks of tasks and variants. The checker walks each variant body with a scope of the
// names it can see and what each one is (size, scalar, tensor view, partition, loop or index
// variable), so every later stage may assume a well-formed program.
#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "frontend/check.h"
#include "frontend/variant_checker.h"

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

namespace check_detail {

void VariantChecker::run() {
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

const Sym* VariantChecker::lookup(const std::string& n) const {
  for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
    auto f = it->find(n);
    if (f != it->end()) return &f->second;
  }
  return nullptr;
}

bool VariantChecker::declare(const std::string& n, Sym s) {
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

std::vector<std::string> VariantChecker::visible_names() const {
  std::vector<std::string> out;
  for (auto& sc : scopes_)
    for (auto& [n, s] : sc) out.push_back(n);
  return out;
}

void VariantChecker::unknown(const std::string& n, SourceLoc loc, const char* what) {
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

} // namespace check_detail

using check_detail::VariantChecker;

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
