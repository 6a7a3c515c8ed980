#include "runtime/ptxas_report.h"

#include <regex>
#include <sstream>

namespace grove::runtime {

PtxasReport parse_ptxas_report(const std::string& log, const std::string& symbol) {
  PtxasReport r;
  // Lines about one entry function follow its "Compiling entry function 'NAME'" line, up to the
  // next such line.
  static const std::regex entry_re(R"(Compiling entry function '([^']+)')");
  static const std::regex frame_re(
      R"((\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads)");
  static const std::regex regs_re(R"(Used (\d+) registers)");
  std::istringstream in(log);
  std::string line;
  bool mine = false;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, entry_re)) {
      mine = m[1] == symbol;
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
    if (std::regex_search(line, m, frame_re)) {
      r.stack_bytes = std::stoi(m[1]);
      r.spill_store_bytes = std::stoi(m[2]);
      r.spill_load_bytes = std::stoi(m[3]);
    } else if (std::regex_search(line, m, regs_re)) {
      r.registers = std::stoi(m[1]);
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
