#include "emulator/barriers.h"

#include <stdexcept>

namespace grove::emu {

Mbarriers::Mbarriers(const kir::Kernel& k) : k_(k) {
  reset();
}

void Mbarriers::reset() {
  slots_.clear();
  for (const kir::Barrier& b : k_.barriers) slots_.emplace_back(static_cast<size_t>(b.slots));
}

MbarSlot& Mbarriers::at(int barrier, int64_t slot) {
  if (barrier < 0 || static_cast<size_t>(barrier) >= slots_.size())
    throw std::runtime_error("no mbarrier " + std::to_string(barrier));
  auto& v = slots_[static_cast<size_t>(barrier)];
  if (slot < 0 || static_cast<size_t>(slot) >= v.size())
    throw std::runtime_error("slot " + std::to_string(slot) + " of mbarrier " +
                             k_.barriers[static_cast<size_t>(barrier)].name + " is out of range (" +
                             std::to_string(v.size()) + " slots)");
  return v[static_cast<size_t>(slot)];
}

std::string Mbarriers::name(int barrier, int64_t slot) const {
  return k_.barriers.at(static_cast<size_t>(barrier)).name + "[" + std::to_string(slot) + "]";
}

std::string Mbarriers::state(int barrier, int64_t slot) {
  MbarSlot& s = at(barrier, slot);
  return "phase " + std::to_string(s.phase) + " (parity " + std::to_string(s.phase % 2) + "), " +
         std::to_string(s.arrived) + "/" +
         std::to_string(k_.barriers[static_cast<size_t>(barrier)].arrivals) + " arrivals, tx " +
         std::to_string(s.tx);
}

void Mbarriers::maybe_complete(int barrier, MbarSlot& s) {
  if (s.arrived < k_.barriers[static_cast<size_t>(barrier)].arrivals || s.tx != 0) return;
  s.phase++;
  s.arrived = 0;
  s.completed = std::move(s.pending);
  s.pending.clear();
}

std::string Mbarriers::arrive(int barrier, int64_t slot, const VClock& vc, int64_t expect_bytes) {
  MbarSlot& s = at(barrier, slot);
  std::string err;
  if (s.arrived >= k_.barriers[static_cast<size_t>(barrier)].arrivals)
    err = "over-arrival on mbarrier " + name(barrier, slot) + ": phase " + std::to_string(s.phase) +
          " already has its " + std::to_string(s.arrived) + " arrivals and waits for " +
          std::to_string(s.tx) + " transaction bytes";
  s.tx += expect_bytes;
  s.arrived++;
  join(s.pending, vc);
  if (err.empty() && s.tx < 0 && s.arrived >= k_.barriers[static_cast<size_t>(barrier)].arrivals)
    err = "mbarrier " + name(barrier, slot) + " has all its arrivals for phase " +
          std::to_string(s.phase) + ", but " + std::to_string(-s.tx) +
          " more bytes landed than were announced with arrive.expect_tx";
  maybe_complete(barrier, s);
  return err;
}

std::string Mbarriers::complete_tx(int barrier, int64_t slot, const VClock& vc, int64_t bytes) {
  MbarSlot& s = at(barrier, slot);
  s.tx -= bytes;
  join(s.pending, vc);
  // Bytes may land before the arrive.expect_tx that announces them (a multicast from another
  // block of the cluster can overtake this block's producer): PTX lets the count go negative,
  // down to -(2^20 - 1), while the phase still waits for arrivals. With every arrival in, a
  // negative count is bytes nobody announced, and the phase can never complete.
  std::string err;
  const bool arrivals_in = s.arrived >= k_.barriers[static_cast<size_t>(barrier)].arrivals;
  if (s.tx < 0 && (arrivals_in || s.tx <= -(int64_t{1} << 20)))
    err = "transaction count of mbarrier " + name(barrier, slot) + " went negative (" +
          std::to_string(s.tx) + ") in phase " + std::to_string(s.phase) +
          ": a TMA load completed bytes no arrive.expect_tx announced";
  maybe_complete(barrier, s);
  return err;
}

} // namespace grove::emu
