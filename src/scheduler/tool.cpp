// grove-schedule GRAPH.json [MACHINE] [--svg OUT.svg] [--quiet]
// Schedules one loop-body graph for a machine model (default h100) and prints the result.
#include "scheduler/model.h"
#include "scheduler/print.h"
#include "scheduler/solve.h"

#include <cstring>
#include <fstream>
#include <iostream>

namespace {

int usage() {
  std::cerr << "usage: grove-schedule GRAPH.json [MACHINE] [--svg OUT.svg]\n"
               "  MACHINE: a name under data/machines (h100, h200) or a .json path; default h100\n"
               "  exit status: 0 scheduled, 1 no schedule exists, 2 bad input\n";
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  std::string graph_path, machine = "h100", svg_path;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--svg") && i + 1 < argc) {
      svg_path = argv[++i];
    } else if (!std::strcmp(argv[i], "-h") || !std::strcmp(argv[i], "--help")) {
      return usage();
    } else if (argv[i][0] == '-') {
      std::cerr << "grove-schedule: unknown option " << argv[i] << "\n";
      return usage();
    } else if (graph_path.empty()) {
      graph_path = argv[i];
    } else {
      machine = argv[i];
    }
  }
  if (graph_path.empty()) return usage();
  try {
    grove::sched::Graph g = grove::sched::load_graph_file(graph_path);
    grove::sched::Machine m = grove::sched::load_machine(machine);
    grove::sched::Schedule s = grove::sched::solve(g, m);
    std::cout << grove::sched::to_text(s);
    if (!svg_path.empty()) {
      std::ofstream out(svg_path);
      if (!out) {
        std::cerr << "grove-schedule: cannot write " << svg_path << "\n";
        return 2;
      }
      out << grove::sched::to_svg(s);
    }
    return s.feasible ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "grove-schedule: error: " << e.what() << "\n";
    return 2;
  }
}
