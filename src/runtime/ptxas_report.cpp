#include "runtime/ptxas_report.h"

#include <cstdio>
#include <sstream>

namespace grove::runtime {

// The log's lines are fixed text around numbers (read with sscanf: std::regex draws GCC 12's
// -Wmaybe-uninitialized in the sanitizer build).
PtxasReport parse_ptxas_report(const std::string& log, const std::string& symbol) {
  PtxasReport r;
  // Lines about one entry function follow its "Compiling entry function 'NAME'" line, up to the
  // next such line.
  const std::string entry = "Compiling entry function '";
  std::istringstream in(log);
  std::string line;
  bool mine = false;
  while (std::getline(in, line)) {
    if (size_t at = line.find(entry); at != std::string::npos) {
      const size_t from = at + entry.size();
      mine = line.compare(from, symbol.size(), symbol) == 0 && line.size() > from + symbol.size() &&
             line[from + symbol.size()] == '\'';
      continue;
    }
    // Performance notes may come before the entry line (ptxas reports them per function as it
    // compiles it): a kernel's unit has one entry function, so each note is the kernel's.
    if (line.find("Potential Performance Loss") != std::string::npos) {
      size_t at = line.find(':');
      r.performance_notes.push_back(at == std::string::npos ? line : line.substr(at + 2));
      continue;
    }
    if (!mine) continue;
    const size_t digit = line.find_first_of("0123456789");
    if (digit == std::string::npos) continue;
    int a = 0, b = 0, c = 0;
    if (line.find("bytes stack frame") != std::string::npos &&
        std::sscanf(line.c_str() + digit,
                    "%d bytes stack frame, %d bytes spill stores, %d bytes spill loads", &a, &b,
                    &c) == 3) {
      r.stack_bytes = a;
      r.spill_store_bytes = b;
      r.spill_load_bytes = c;
    } else if (size_t used = line.find("Used ");
               used != std::string::npos &&
               std::sscanf(line.c_str() + used, "Used %d registers", &a) == 1) {
      r.registers = a;
    }
  }
  return r;
}

std::string summary(const PtxasReport& r) {
  if (!r.known()) return "registers not reported";
  std::string s = std::to_string(r.registers) + " registers, ";
  if (!r.spills()) return s + "no spills";
  return s + std::to_string(r.spill_store_bytes) + " bytes spill stores, " +
         std::to_string(r.spill_load_bytes) + " bytes spill loads";
}

std::vector<std::string> ptxas_warnings(const PtxasReport& r, const std::string& name) {
  std::vector<std::string> out;
  if (r.spills())
    out.push_back("kernel '" + name + "' spills registers to local memory (" + summary(r) +
                  " a thread, ptxas): its register tensors and the wgmmas' operands do not fit "
                  "what a thread gets; give each consumer warpgroup a smaller tile (fewer "
                  "accumulator columns) or spread the tile over more warpgroups");
  for (const std::string& note : r.performance_notes)
    out.push_back("kernel '" + name + "': ptxas: " + note);
  return out;
}

} // namespace grove::runtime
