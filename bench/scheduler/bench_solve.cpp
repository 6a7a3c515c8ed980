// Solve-time benchmark (not a test): schedules every graph in data/graphs on each machine a few
// times and prints the median wall time. Usage: bench_solve [REPEATS]
#include "scheduler/model.h"
#include "scheduler/solve.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  using namespace grove::sched;
  int repeats = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  std::vector<std::string> graphs;
  for (const auto& e : std::filesystem::directory_iterator(data_dir() + "/graphs"))
    if (e.path().extension() == ".json") graphs.push_back(e.path().string());
  std::sort(graphs.begin(), graphs.end());
  std::printf("%-28s %-6s %10s %8s %10s\n", "graph", "gpu", "II", "queries", "median s");
  for (const char* machine : {"h100", "h200"}) {
    Machine m = load_machine(machine);
    for (const std::string& path : graphs) {
      Graph g = load_graph_file(path);
      std::vector<double> t;
      Schedule s;
      for (int i = 0; i < repeats; ++i) {
        s = solve(g, m);
        t.push_back(s.solve_seconds);
      }
      std::sort(t.begin(), t.end());
      std::printf("%-28s %-6s %10s %8zu %10.3f\n", g.name.c_str(), machine,
                  s.feasible ? std::to_string(s.ii).c_str() : "none", s.attempts.size(),
                  t[t.size() / 2]);
    }
  }
  return 0;
}
