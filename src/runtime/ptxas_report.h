// What ptxas says of a compiled kernel (NVRTC with --ptxas-options=-v): the registers a thread is
// launched with, the local memory its spills and stack take, and the notes ptxas gives when it
// cannot keep wgmmas in flight ("Potential Performance Loss", C75xx). Kernel authors read these
// after every build; Grove prints them with each kernel and warns when a kernel spills or
// serializes its wgmmas.
#pragma once
#include <string>
#include <vector>

namespace grove::runtime {

struct PtxasReport {
  int registers = -1; // per thread at launch (setmaxnreg moves it later); -1: not in the log
  int stack_bytes = 0, spill_store_bytes = 0, spill_load_bytes = 0; // per thread
  std::vector<std::string> performance_notes; // ptxas's "Potential Performance Loss" lines

  bool known() const { return registers >= 0; }
  bool spills() const { return spill_store_bytes > 0 || spill_load_bytes > 0; }
};

// The report for kernel `symbol` in NVRTC's log (unknown when the log does not name it).
PtxasReport parse_ptxas_report(const std::string& log, const std::string& symbol);

// "168 registers, no spills" or "168 registers, 20 bytes spill stores, 20 bytes spill loads".
std::string summary(const PtxasReport& r);

// What a kernel author should hear about kernel `name`: a spill or wgmmas serialized, each with
// what to do about it (empty when nothing is wrong).
std::vector<std::string> ptxas_warnings(const PtxasReport& r, const std::string& name);

} // namespace grove::runtime
