// Vector clocks: the happens-before order the emulator checks shared-memory accesses against.
// Every agent and every asynchronous operation of a block has its own thread id (tid).
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

namespace grove::emu {

using VClock = std::vector<uint32_t>;

// One access's position: the clock of thread `tid` when it made the access.
struct Epoch {
  int tid = -1;
  uint32_t clock = 0;
};

inline void join(VClock& a, const VClock& b) {
  if (a.size() < b.size()) a.resize(b.size(), 0);
  for (size_t i = 0; i < b.size(); ++i) a[i] = std::max(a[i], b[i]);
}

// Whether the access at `e` happens before anything done with clock `vc`.
inline bool happens_before(const Epoch& e, const VClock& vc) {
  return e.tid >= 0 && static_cast<size_t>(e.tid) < vc.size() && vc[e.tid] >= e.clock;
}

inline uint32_t& own(VClock& vc, int tid) {
  if (vc.size() <= static_cast<size_t>(tid)) vc.resize(tid + 1, 0);
  return vc[tid];
}

} // namespace grove::emu
