// Static checks of a mapping against the program: every instance names a real variant at a level
// that can run it, sets every tunable, places tensors where its level can see them, and every
// launch reaches exactly one instance.
#include <functional>
#include <map>
#include <set>

#include "frontend/check.h"

namespace grove {
namespace {

struct LaunchSite {
  const Stmt* stmt;
  bool parallel; // inside a prange
};

void collect(const std::vector<StmtPtr>& body, bool parallel, std::vector<LaunchSite>& launches,
             std::vector<const Stmt*>& tunables, std::vector<const Stmt*>& locals, bool& has_mma) {
  for (const StmtPtr& s : body) {
    switch (s->kind) {
    case Stmt::Launch:
      launches.push_back({s.get(), parallel});
      break;
    case Stmt::Tunable:
      tunables.push_back(s.get());
      break;
    case Stmt::Local:
      locals.push_back(s.get());
      break;
    case Stmt::Mma:
      has_mma = true;
      break;
    case Stmt::For:
      collect(s->body, parallel || s->parallel, launches, tunables, locals, has_mma);
      break;
    default:
      break;
    }
  }
}

bool level_sees(Level l, Memory m, bool leaf, std::string& hint) {
  switch (l) {
  case Level::Host:
    hint = "a HOST instance sees GLOBAL memory only";
    return m == Memory::Global;
  case Level::Block:
    if (m == Memory::Register) {
      hint = "a block cannot hold a tensor in registers; use NONE at BLOCK and REGISTER in the "
             "warpgroup "
             "instances it launches";
      return false;
    }
    break;
  default:
    if (m == Memory::None) {
      hint = "NONE means the tensor is never whole at this level; only BLOCK-level inner instances "
             "may use it";
      return false;
    }
  }
  if (m == Memory::None && leaf) {
    hint = "a leaf computes on whole tensors, so it cannot take one that is never whole";
    return false;
  }
  return true;
}

} // namespace

void check_mapping(const Program& prog, const MappingDecl& mp, Diagnostics& diags) {
  std::map<std::string, const Instance*> by_name;
  for (const Instance& in : mp.instances) {
    if (!by_name.emplace(in.name, &in).second)
      diags.error(in.loc,
                  "instance '" + in.name + "' is defined twice in mapping '" + mp.name + "'",
                  "rename one of them");
  }
  std::vector<std::string> instance_names;
  for (auto& [n, i] : by_name) instance_names.push_back(n);
  auto did_you_mean = [&](const std::string& n, const std::vector<std::string>& c,
                          const std::string& fallback) {
    std::string near = closest_name(n, c);
    return near.empty() ? fallback : "did you mean '" + near + "'?";
  };

  if (!mp.entry) {
    diags.error(mp.loc, "mapping '" + mp.name + "' has no entry point", "add: entry <instance>;");
  } else if (!by_name.count(mp.entry->value)) {
    diags.error(
        mp.entry->loc,
        "entry '" + mp.entry->value + "' is not an instance of mapping '" + mp.name + "'",
        did_you_mean(mp.entry->value, instance_names,
                     "define it with: instance " + mp.entry->value + " = task.variant @ HOST { }"));
  } else if (by_name[mp.entry->value]->level != Level::Host) {
    diags.error(mp.entry->loc,
                "entry instance '" + mp.entry->value + "' runs at " +
                    level_name(by_name[mp.entry->value]->level) + "; the entry point runs at HOST",
                "map the top-level task @ HOST and launch blocks from it");
  }

  for (const Instance& in : mp.instances) {
    if (by_name[in.name] != &in) continue; // the duplicate was reported above
    const TaskDecl* task = prog.find_task(in.task);
    if (!task) {
      std::vector<std::string> names;
      for (const TaskDecl& t : prog.tasks) names.push_back(t.name);
      diags.error(in.variant_loc, "instance '" + in.name + "' runs unknown task '" + in.task + "'",
                  did_you_mean(in.task, names,
                               "declare the task in the program or import the file that does"));
      continue;
    }
    const VariantDecl* var = prog.find_variant(in.task, in.variant);
    if (!var) {
      std::vector<std::string> names;
      for (const VariantDecl& v : prog.variants)
        if (v.task == in.task) names.push_back(v.name);
      diags.error(
          in.variant_loc,
          "task '" + in.task + "' has no variant '" + in.variant + "' (instance '" + in.name + "')",
          did_you_mean(in.variant, names,
                       "define it with: variant " + in.task + "." + in.variant + " inner { ... }"));
      continue;
    }
    std::vector<LaunchSite> launches;
    std::vector<const Stmt*> tunables, locals;
    bool has_mma = false;
    collect(var->body, false, launches, tunables, locals, has_mma);
    if (var->leaf) launches.clear(); // a launch in a leaf is an error of the program, reported

    // Tunables: every one declared must be set, and nothing else.
    std::set<std::string> declared;
    for (const Stmt* t : tunables) declared.insert(t->names.begin(), t->names.end());
    std::vector<std::string> unset; // suggestions for a misspelled tunable
    for (const std::string& d : declared) {
      bool given = false;
      for (auto& [n, v] : in.tunables) given = given || n.value == d;
      if (!given) unset.push_back(d);
    }
    std::set<std::string> set;
    for (auto& [n, v] : in.tunables) {
      if (!declared.count(n.value)) {
        diags.error(
            n.loc,
            "instance '" + in.name + "' sets tunable '" + n.value + "', which " + in.task + "." +
                in.variant + " does not declare",
            did_you_mean(n.value, unset,
                         "remove it, or declare it in the variant with: tunable " + n.value + ";"));
      } else if (!set.insert(n.value).second) {
        diags.error(n.loc, "tunable '" + n.value + "' is set twice in instance '" + in.name + "'",
                    "keep one value");
      }
      if (v.value <= 0)
        diags.error(v.loc,
                    "tunable '" + n.value + "' must be positive (instance '" + in.name + "')",
                    "tunables are tile sizes and counts: give a positive integer");
    }
    for (const Stmt* t : tunables)
      for (size_t i = 0; i < t->names.size(); ++i)
        if (!set.count(t->names[i]))
          diags.error(in.loc,
                      "instance '" + in.name + "' leaves tunable '" + t->names[i] + "' of " +
                          in.task + "." + in.variant + " unset",
                      "add: tunable " + t->names[i] + " = <value>;");

    // Memories: only tensors of the variant, only where the level can see them.
    std::map<std::string, Memory> mems;
    for (const Param& p : task->params)
      if (p.type.is_tensor) mems[p.name] = Memory::Global;
    for (const Stmt* l : locals) mems[l->names[0]] = Memory::Global;
    std::set<std::string> placed;
    for (auto& [n, m] : in.memories) {
      if (!mems.count(n.value)) {
        std::vector<std::string> names;
        for (auto& [k, v] : mems) names.push_back(k);
        diags.error(
            n.loc,
            "'" + n.value + "' is not a tensor of " + in.task + "." + in.variant + " (instance '" +
                in.name + "')",
            did_you_mean(n.value, names, "memories are given for tensor parameters and locals"));
        continue;
      }
      if (!placed.insert(n.value).second)
        diags.error(n.loc, "memory of '" + n.value + "' is given twice");
      std::string hint;
      if (!level_sees(in.level, m.value, var->leaf, hint))
        diags.error(m.loc,
                    std::string("instance '") + in.name + "' at " + level_name(in.level) +
                        " cannot place '" + n.value + "' in " + memory_name(m.value),
                    hint);
    }

    // Block options.
    for_each_block_option([&](const char* what, auto option) {
      if (in.*option && in.level != Level::Block)
        diags.error((in.*option)->loc,
                    std::string(what) + " is a block option, but instance '" + in.name +
                        "' runs at " + level_name(in.level),
                    "set it on the BLOCK instance");
    });
    // Persistent blocks and clusters walk their tiles in bands (tile_band). (64-bit: the sides
    // are checked for range only later.)
    const bool persistent = in.persistent && in.persistent->value;
    const bool clustered =
        in.cluster && int64_t{in.cluster->value.first} * in.cluster->value.second > 1;
    if (in.tile_band && in.level == Level::Block && !persistent && !clustered)
      diags.error(in.tile_band->loc,
                  "tile_band orders the tiles persistent blocks walk, but instance '" + in.name +
                      "' is not persistent",
                  "set persistent = true (or a cluster), or drop tile_band");
    constexpr int64_t kMaxSmem =
        232448; // 227 KiB: the most dynamic shared memory one H100 block may use
    if (in.smem_bytes && (in.smem_bytes->value <= 0 || in.smem_bytes->value > kMaxSmem))
      diags.error(in.smem_bytes->loc,
                  "smem_bytes = " + std::to_string(in.smem_bytes->value) + " is outside 1.." +
                      std::to_string(kMaxSmem) + " (instance '" + in.name + "')",
                  "an H100 block can use at most 227 KiB (232448 bytes) of shared memory");
    if (in.cluster) {
      auto [x, y] = in.cluster->value;
      auto pow2 = [](int v) { return v >= 1 && (v & (v - 1)) == 0; };
      if (!pow2(x) || !pow2(y) || int64_t(x) * y > 8)
        diags.error(in.cluster->loc,
                    "cluster shape (" + std::to_string(x) + ", " + std::to_string(y) +
                        ") is not supported (instance '" + in.name + "')",
                    "clusters have power-of-two sides and at most 8 blocks");
    }
    if (in.pipeline && in.warp_specialize && !in.warp_specialize->value && in.pipeline->value == 0)
      diags.error(in.pipeline->loc,
                  "pipeline = auto needs warp_specialize = true (instance '" + in.name + "')");

    // mma runs on the tensor cores as WGMMA, issued by a warpgroup.
    if (has_mma && in.level != Level::Warpgroup && in.level != Level::Host)
      diags.error(in.level_loc,
                  "leaf " + in.task + "." + in.variant + " uses mma, but instance '" + in.name +
                      "' runs at " + level_name(in.level),
                  "mma is issued as WGMMA by a warpgroup: map this leaf @ WARPGROUP (HOST runs it "
                  "on the CPU only)");
    if (has_mma && in.level == Level::Warpgroup) {
      for (const StmtPtr& s : var->body) {
        if (s->kind != Stmt::Mma || s->args.size() != 3) continue;
        auto name_of = [](const Expr& e) -> const std::string& {
          return (e.kind == Expr::Call && !e.args.empty()) ? e.args[0]->name : e.name;
        };
        auto mem_of = [&](const std::string& n) {
          for (auto& [k, m] : in.memories)
            if (k.value == n) return std::optional<Located<Memory>>(m);
          return std::optional<Located<Memory>>();
        };
        const std::string& c = name_of(*s->args[0]);
        const std::string& b = name_of(*s->args[2]);
        if (auto m = mem_of(c); m && m->value != Memory::Register)
          diags.error(
              m->loc,
              "the WGMMA accumulator '" + c + "' must be in REGISTER (instance '" + in.name + "')",
              "WGMMA accumulates in the registers of the warpgroup: memory " + c + " = REGISTER");
        if (auto m = mem_of(b); m && m->value != Memory::Shared)
          diags.error(m->loc,
                      "WGMMA reads operand B ('" + b + "') from SHARED memory (instance '" +
                          in.name + "')",
                      "memory " + b + " = SHARED; only operand A may come from registers");
      }
    }

    // Launches: each reaches one instance of the launched task, at a level that can run it.
    std::set<std::string> launched;
    for (const LaunchSite& site : launches) launched.insert(site.stmt->callee);
    std::map<std::string, std::string> explicit_calls;
    for (auto& [t, target] : in.calls) {
      if (!launched.count(t.value)) {
        diags.error(t.loc, "instance '" + in.name + "' routes task '" + t.value + "', which " +
                               in.task + "." + in.variant + " never launches");
        continue;
      }
      auto it = by_name.find(target.value);
      if (it == by_name.end()) {
        diags.error(
            target.loc,
            "call target '" + target.value + "' is not an instance of mapping '" + mp.name + "'",
            did_you_mean(target.value, instance_names, "define the instance it should use"));
        continue;
      }
      if (it->second->task != t.value) {
        diags.error(target.loc, "instance '" + target.value + "' runs task '" + it->second->task +
                                    "', not '" + t.value + "'");
        continue;
      }
      explicit_calls[t.value] = target.value;
    }
    std::set<std::string> reported;
    for (const LaunchSite& site : launches) {
      const std::string& callee = site.stmt->callee;
      if (!prog.find_task(callee)) continue; // reported by check_program
      const Instance* target = nullptr;
      if (auto it = explicit_calls.find(callee); it != explicit_calls.end()) {
        target = by_name[it->second];
      } else {
        std::vector<const Instance*> cands;
        bool duplicate = false; // an instance for the task whose name is taken (reported above)
        for (const Instance& o : mp.instances) {
          if (o.task != callee) continue;
          if (by_name[o.name] == &o)
            cands.push_back(&o);
          else
            duplicate = true;
        }
        if (cands.size() == 1) {
          target = cands[0];
        } else if (reported.insert(callee).second && !(cands.empty() && duplicate)) {
          if (cands.empty()) {
            diags.error(site.stmt->callee_loc,
                        "mapping '" + mp.name + "' has no instance for task '" + callee +
                            "' (launched by instance '" + in.name + "')",
                        "add: instance <name> = " + callee + ".<variant> @ <LEVEL> { }");
          } else {
            std::string list;
            for (const Instance* c : cands) list += (list.empty() ? "" : ", ") + c->name;
            diags.error(site.stmt->callee_loc,
                        "mapping '" + mp.name + "' has several instances for task '" + callee +
                            "' (" + list + ") and instance '" + in.name +
                            "' does not say which to use",
                        "add to instance '" + in.name + "': call " + callee + " -> " +
                            cands[0]->name + ";");
          }
        }
      }
      if (!target) continue;
      // Reported at the child's level in the mapping: that is what the mapping can change.
      std::string line = std::to_string(site.stmt->callee_loc.line);
      if (target->level < in.level) {
        diags.error(target->level_loc,
                    std::string("instance '") + target->name + "' runs at " +
                        level_name(target->level) + ", above instance '" + in.name + "' (" +
                        level_name(in.level) + ") that launches it at line " + line,
                    std::string("a task runs on the processor of its parent or on processors "
                                "inside it: map it @ ") +
                        level_name(in.level) + " or lower");
      } else if (site.parallel && target->level == in.level && in.level != Level::Host) {
        diags.error(target->level_loc,
                    std::string("instance '") + target->name + "' runs at " +
                        level_name(target->level) + ", the level of the prange in instance '" +
                        in.name + "' that launches it at line " + line,
                    in.level == Level::Thread
                        ? std::string("a thread has no processors inside it: make the loop an "
                                      "srange")
                        : std::string("parallel iterations run on processors inside the parent: "
                                      "map it @ ") +
                              level_name(static_cast<Level>(static_cast<int>(in.level) + 1)) +
                              ", or make the loop an srange");
      }
    }
  }
}

} // namespace grove
