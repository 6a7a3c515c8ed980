#include "frontend/mapping_bases.h"

#include <algorithm>
#include <map>
#include <set>

#include "frontend/check.h"

namespace grove {
namespace {

// Settings keyed by name (tunables, memories, calls): the change's value replaces the base's, or
// is added after them. A name the change sets twice is kept twice, for the mapping checks to
// report.
template <class V>
void amend_named(std::vector<std::pair<Located<std::string>, V>>& base,
                 const std::vector<std::pair<Located<std::string>, V>>& change) {
  std::set<std::string> changed;
  for (const auto& item : change) {
    auto it = std::find_if(base.begin(), base.end(),
                           [&](const auto& b) { return b.first.value == item.first.value; });
    if (it != base.end() && changed.insert(item.first.value).second)
      *it = item;
    else
      base.push_back(item);
  }
}

void amend(Instance& in, const Instance& change) {
  in.loc = change.loc; // errors about the changed instance point where it was changed
  amend_named(in.tunables, change.tunables);
  amend_named(in.memories, change.memories);
  amend_named(in.calls, change.calls);
  for_each_block_option([&](const char*, auto option) {
    if (change.*option) in.*option = change.*option;
  });
}

class Resolver {
public:
  Resolver(Program& prog, Diagnostics& diags)
      : prog_(prog), diags_(diags), state_(prog.mappings.size(), State::Open) {
    for (size_t i = 0; i < prog.mappings.size(); ++i) index_.emplace(prog.mappings[i].name, i);
  }

  void run() {
    for (size_t i = 0; i < prog_.mappings.size(); ++i) resolve(i);
  }

private:
  enum class State { Open, InProgress, Done };
  Program& prog_;
  Diagnostics& diags_;
  std::map<std::string, size_t> index_; // the first mapping of each name (twice is an error later)
  std::vector<State> state_;            // per mapping, by index
  std::vector<std::string> chain_;      // mappings being completed, outermost first

  // Completes mapping i; false if it (or a base) could not be.
  bool resolve(size_t i) {
    MappingDecl& m = prog_.mappings[i];
    State& st = state_[i];
    if (!m.base) st = State::Done;
    if (st == State::Done) return true;
    if (st == State::InProgress) {
      std::string path;
      for (auto it = std::find(chain_.begin(), chain_.end(), m.name); it != chain_.end(); ++it)
        path += *it + " extends ";
      diags_.error(m.base->loc, "mapping '" + m.name + "' extends itself: " + path + m.name,
                   "a mapping may extend another only if that one does not lead back to it");
      return false;
    }
    auto b = index_.find(m.base->value);
    if (b == index_.end()) {
      std::vector<std::string> names;
      for (const MappingDecl& x : prog_.mappings) names.push_back(x.name);
      std::string near = did_you_mean(m.base->value, names);
      diags_.error(m.base->loc,
                   "mapping '" + m.name + "' extends unknown mapping '" + m.base->value + "'",
                   near.empty() ? "name a mapping of this file or of a file it imports" : near);
      st = State::Done;
      return false;
    }
    st = State::InProgress;
    chain_.push_back(m.name);
    bool ok = resolve(b->second);
    chain_.pop_back();
    st = State::Done;
    return ok && apply(m, prog_.mappings[b->second]);
  }

  bool apply(MappingDecl& m, const MappingDecl& base) {
    std::vector<Instance> out = base.instances;
    std::set<std::string> written;
    bool ok = true;
    for (const Instance& in : m.instances) {
      if (!written.insert(in.name).second) {
        diags_.error(in.loc,
                     "instance '" + in.name + "' is written twice in mapping '" + m.name + "'",
                     "merge the two into one");
        ok = false;
        continue;
      }
      auto it = std::find_if(out.begin(), out.end(),
                             [&](const Instance& x) { return x.name == in.name; });
      if (!in.amends) {
        if (it != out.end())
          *it = in;
        else
          out.push_back(in);
      } else if (it != out.end()) {
        amend(*it, in);
      } else {
        std::vector<std::string> names;
        for (const Instance& x : out) names.push_back(x.name);
        std::string near = did_you_mean(in.name, names);
        diags_.error(in.loc,
                     "instance '" + in.name + "' is not in mapping '" + base.name +
                         "', so there is nothing to change",
                     near.empty() ? "to add an instance, write: instance " + in.name +
                                        " = task.variant @ LEVEL { ... }"
                                  : near);
        ok = false;
      }
    }
    m.instances = std::move(out);
    if (!m.entry) m.entry = base.entry;
    return ok;
  }
};

} // namespace

void resolve_mapping_bases(Program& prog, Diagnostics& diags) {
  Resolver(prog, diags).run();
}

} // namespace grove
