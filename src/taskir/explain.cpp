#include "taskir/explain.h"

#include <map>
#include <set>
#include <sstream>

namespace grove {
namespace {

// A block option's value as the mapping writes it.
std::string option_text(bool v) {
  return v ? "true" : "false";
}
std::string option_text(int pipeline) { // (the one int option: 0 is `auto`)
  return pipeline ? std::to_string(pipeline) : "auto";
}
std::string option_text(int64_t v) {
  return std::to_string(v);
}
std::string option_text(const std::pair<int, int>& cluster) {
  return "(" + std::to_string(cluster.first) + ", " + std::to_string(cluster.second) + ")";
}

class TreePrinter {
public:
  TreePrinter(const Program& p, const MappingDecl& m, std::ostream& o) : prog_(p), map_(m), os_(o) {
    for (const Instance& in : m.instances) by_name_.emplace(in.name, &in);
  }

  void instance(const Instance& in, int indent, std::set<std::string>& active) {
    const TaskDecl* task = prog_.find_task(in.task);
    const VariantDecl* var = prog_.find_variant(in.task, in.variant);
    line(indent) << in.name << " = " << in.task << "." << in.variant << " @ "
                 << level_name(in.level) << (var && var->leaf ? "  (leaf)" : "") << "\n";
    if (!task || !var) return;
    std::string mems;
    for (const Param& p : task->params)
      if (p.type.is_tensor)
        mems += (mems.empty() ? "" : ", ") + p.name + ": " + privilege_name(p.priv) + " " +
                elem_name(p.type.elem) + " in " +
                memory(in, p.name, in.level == Level::Host ? "GLOBAL" : "the parent's memory");
    line(indent + 2) << "tensors: " << mems << "\n";
    if (!in.tunables.empty()) {
      std::string t;
      for (auto& [n, v] : in.tunables)
        t += (t.empty() ? "" : ", ") + n.value + " = " + std::to_string(v.value);
      line(indent + 2) << "tunables: " << t << "\n";
    }
    std::string opts;
    for_each_block_option([&](const char* name, auto option) {
      if (in.*option) opts += std::string(" ") + name + "=" + option_text((in.*option)->value);
    });
    if (!opts.empty()) line(indent + 2) << "block options:" << opts << "\n";
    if (!active.insert(in.name).second) {
      line(indent + 2) << "(recursive: " << in.name << " is already being expanded above)\n";
      return;
    }
    body(var->body, in, indent + 2, active);
    active.erase(in.name);
  }

private:
  const Program& prog_;
  const MappingDecl& map_;
  std::ostream& os_;
  std::map<std::string, const Instance*> by_name_;

  // A tree that fans out can be exponentially large: print at most this many lines.
  static constexpr int kMaxLines = 5000;
  int lines_ = 0;
  std::ostringstream discard_;
  std::ostream& line(int indent) {
    if (++lines_ == kMaxLines) os_ << "... (tree truncated after " << kMaxLines << " lines)\n";
    if (lines_ >= kMaxLines) {
      discard_.str("");
      return discard_;
    }
    return os_ << std::string(static_cast<size_t>(indent), ' ');
  }

  std::string memory(const Instance& in, const std::string& name, const char* fallback) {
    for (auto& [n, m] : in.memories)
      if (n.value == name) return memory_name(m.value);
    return fallback;
  }

  void body(const std::vector<StmtPtr>& stmts, const Instance& in, int indent,
            std::set<std::string>& active) {
    for (const StmtPtr& s : stmts) {
      switch (s->kind) {
      case Stmt::Local: {
        std::string dims;
        for (const ExprPtr& d : s->type.dims) dims += (dims.empty() ? "" : ", ") + expr_str(*d);
        const char* def = in.level == Level::Host    ? "GLOBAL"
                          : in.level == Level::Block ? "SHARED"
                                                     : "REGISTER";
        line(indent) << "local " << s->names[0] << ": " << elem_name(s->type.elem) << "[" << dims
                     << "] in " << memory(in, s->names[0], def) << "\n";
        break;
      }
      case Stmt::For: {
        std::string vars, ext;
        for (const std::string& v : s->names) vars += (vars.empty() ? "" : ", ") + v;
        for (const ExprPtr& a : s->args) ext += (ext.empty() ? "" : ", ") + expr_str(*a);
        line(indent) << "for " << vars << " in " << (s->parallel ? "prange" : "srange") << "("
                     << ext << ")\n";
        body(s->body, in, indent + 2, active);
        break;
      }
      case Stmt::Launch: {
        std::string args;
        for (const ExprPtr& a : s->args) args += (args.empty() ? "" : ", ") + expr_str(*a);
        line(indent) << "launch " << s->callee << "(" << args << ")\n";
        if (const Instance* child = target(in, s->callee))
          instance(*child, indent + 2, active);
        else
          line(indent + 2) << "(no instance)\n";
        break;
      }
      case Stmt::Mma: {
        std::string args;
        for (const ExprPtr& a : s->args) args += (args.empty() ? "" : ", ") + expr_str(*a);
        line(indent) << "mma(" << args << ")\n";
        break;
      }
      case Stmt::Assign: {
        std::string idx;
        for (const std::string& i : s->indices) idx += (idx.empty() ? "" : ", ") + i;
        line(indent) << s->target << "[" << idx << "] = " << expr_str(*s->value) << "\n";
        break;
      }
      default:
        break;
      }
    }
  }

  const Instance* target(const Instance& in, const std::string& task) {
    for (auto& [t, i] : in.calls)
      if (t.value == task && by_name_.count(i.value)) return by_name_[i.value];
    const Instance* found = nullptr;
    for (const Instance& o : map_.instances)
      if (o.task == task) {
        if (found) return nullptr;
        found = &o;
      }
    return found;
  }
};

} // namespace

void explain_tree(const Program& prog, const MappingDecl& mapping, std::ostream& os) {
  os << "mapping " << mapping.name << "\n";
  const Instance* entry = nullptr;
  for (const Instance& in : mapping.instances)
    if (mapping.entry && in.name == mapping.entry->value) entry = &in;
  if (!entry) {
    os << "  (no entry)\n";
    return;
  }
  std::set<std::string> active;
  TreePrinter(prog, mapping, os).instance(*entry, 2, active);
}

} // namespace grove
