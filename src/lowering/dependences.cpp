// Pass 1b: dependence analysis. Walks each block program in order and gives every event the
// earlier events it must follow: true (read after write), anti (write after read) and output
// (write after write) dependences on the tensors it touches, by privilege. A loop body is walked
// twice; what the second walk finds pointing at the body's own later events is loop-carried.
#include <algorithm>
#include <map>
#include <set>

#include "lowering/passes.h"

namespace grove::lower {
namespace {

struct Access {
  std::set<int> reads, writes; // tensors
};

Access access_of(const Event& e) {
  Access a;
  if (e.kind == Event::Copy) {
    a.reads.insert(e.src.tensor);
    a.writes.insert(e.dst.tensor);
  } else if (e.kind == Event::Leaf) {
    for (const auto& [name, v] : e.args) {
      Privilege p = Privilege::ReadWrite;
      for (const auto& [n, pr] : e.privs)
        if (n == name) p = pr;
      if (can_read(p)) a.reads.insert(v.tensor);
      if (can_write(p)) a.writes.insert(v.tensor);
    }
  }
  return a;
}

struct State {
  std::map<int, int> last_writer;          // tensor -> event
  std::map<int, std::vector<int>> readers; // tensor -> events since the last write
};

void add(std::vector<int>& to, int id) {
  if (std::find(to.begin(), to.end(), id) == to.end()) to.push_back(id);
}

void walk(Events& evs, State& st, const std::set<int>* body_ids, bool second) {
  for (Event& e : evs) {
    if (e.kind == Event::Loop) {
      std::set<int> ids;
      for_each_event(e.body, [&](Event& x) { ids.insert(x.id); });
      walk(e.body, st, &ids, false);
      walk(e.body, st, &ids, true);
      continue;
    }
    Access a = access_of(e);
    std::vector<int> found;
    for (int t : a.reads)
      if (auto w = st.last_writer.find(t); w != st.last_writer.end()) add(found, w->second);
    for (int t : a.writes) {
      if (auto w = st.last_writer.find(t); w != st.last_writer.end()) add(found, w->second);
      for (int r : st.readers[t]) add(found, r);
    }
    for (int f : found) {
      if (f == e.id) continue;
      // On the second walk of a loop body, an event of the same body seen again is one iteration
      // back.
      bool carried = second && body_ids && body_ids->count(f) && f >= e.id;
      if (!second || carried) add(carried ? e.pre_carried : e.pre, f);
    }
    for (int t : a.reads) add(st.readers[t], e.id);
    for (int t : a.writes) {
      st.last_writer[t] = e.id;
      st.readers[t].clear();
    }
  }
}

} // namespace

void analyze_dependences(BlockProgram& b) {
  for_each_event(b.events, [](Event& e) {
    e.pre.clear();
    e.pre_carried.clear();
  });
  State st;
  walk(b.events, st, nullptr, false);
}

} // namespace grove::lower
