// The `grove` subcommands. Each returns the process exit status: 0 success, 1 a user error
// (reported as diagnostics on stderr).
#pragma once
#include <cstdint>
#include <map>
#include <ostream>
#include <string>

namespace grove {

struct CliOptions {
  std::string file;
  std::string mapping;                  // empty: the file's first mapping
  std::map<std::string, int64_t> sizes; // --size M=512,N=512
  std::map<std::string, double> args;   // --arg scale=0.125
  bool check = false;                   // run: compare against the reference variant
  uint64_t seed = 0;                    // 0: a fresh seed each run
  bool tree = false;                    // explain --tree
  std::string after;                    // explain --after PASS
  bool schedule = false;                // explain --schedule
  std::string svg;                      // explain --schedule --svg FILE
  int64_t max_steps = 0;                // launches + loop iterations allowed (0: the default)
};

int cmd_check(const CliOptions& o, std::ostream& out, std::ostream& err);
int cmd_run(const CliOptions& o, std::ostream& out, std::ostream& err);
int cmd_explain(const CliOptions& o, std::ostream& out, std::ostream& err);

// Parses "M=512,N=256" into `out`; returns an error message or empty.
std::string parse_assignments(const std::string& text, std::map<std::string, double>& out);

} // namespace grove
