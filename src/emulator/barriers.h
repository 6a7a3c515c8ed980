// mbarriers and named barriers as PTX documents them, with the vector clocks they carry.
//
// An mbarrier slot is in phase `phase` (0, 1, 2, ...; its parity is phase % 2). A phase completes
// when `arrivals` arrivals have come and the transaction count is back to zero; arrive.expect_tx
// raises the count by its bytes before arriving, a TMA load lowers it by the bytes it delivered.
// try_wait.parity(p) passes once the current phase's parity differs from p, that is when the
// latest completed phase has parity p (a fresh barrier lets parity 1 through at once).
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "emulator/vclock.h"
#include "kernel/kir.h"

namespace grove::emu {

struct MbarSlot {
  int64_t phase = 0; // phases completed so far
  int arrived = 0;   // arrivals in the current phase
  int64_t tx = 0;    // transaction bytes still expected in the current phase
  VClock pending;    // what the current phase's arrivals and transactions release
  VClock completed;  // what the latest completed phase released
};

class Mbarriers {
public:
  explicit Mbarriers(const kir::Kernel& k);
  void reset();
  // Throws std::runtime_error for a barrier or slot out of range.
  MbarSlot& at(int barrier, int64_t slot);
  std::string name(int barrier, int64_t slot) const;
  // One arrival (with `expect_bytes` of transactions first). Returns an error or "".
  std::string arrive(int barrier, int64_t slot, const VClock& vc, int64_t expect_bytes);
  // A TMA load delivered `bytes`. Returns an error or "".
  std::string complete_tx(int barrier, int64_t slot, const VClock& vc, int64_t bytes);
  bool passes(int barrier, int64_t slot, int64_t parity) {
    return at(barrier, slot).phase % 2 != (parity & 1);
  }
  std::string state(int barrier, int64_t slot); // "phase 3, 1/2 arrivals, tx 0"

private:
  void maybe_complete(int barrier, MbarSlot& s);
  const kir::Kernel& k_;
  std::vector<std::vector<MbarSlot>> slots_;
};

// The id of a bar.sync / bar.arrive for an agent whose variables are `env`.
inline int named_id(const kir::Op& op, const std::map<std::string, int64_t>& env) {
  return op.id_expr ? static_cast<int>(kir::eval(*op.id_expr, env)) : op.id;
}

// bar.sync id, count: releases its participants once `count` threads have arrived (bar.arrive
// counts its threads without waiting).
struct NamedBarrier {
  int count = -1;           // the count of the current generation's first arrival
  int arrived = 0;          // threads arrived in the current generation
  std::set<int> agents;     // who arrived in the current generation (a warp arrives once)
  int64_t generation = 0;   // generations released so far
  VClock pending, released; // joined clocks of the current and of the last released generation
};

} // namespace grove::emu
