// The `grove` subcommands. Each returns the process exit status: 0 success, 1 a user error
// (reported as diagnostics on stderr).
#pragma once
#include <cstdint>
#include <map>
#include <ostream>
#include <string>

#include "frontend/ast.h"

namespace grove {

struct CliOptions {
  std::string file;
  std::string mapping;                  // empty: the file's first mapping
  std::map<std::string, int64_t> sizes; // --size M=512,N=512
  TypeArgs types;                       // --type T=bf16
  std::map<std::string, double> args;   // --arg scale=0.125
  bool check = false;                   // run: compare against the reference variant
  uint64_t seed = 0;                    // 0: a fresh seed each run
  bool tree = false;                    // explain --tree
  std::string after;                    // explain --after PASS
  bool schedule = false;                // explain --schedule
  std::string svg;                      // explain --schedule --svg FILE
  bool emulate = false;                 // run --emulate: lower and run the kernels in the emulator
  int schedules = 1;                    // run --emulate --schedules N
  bool gpu = false;      // run --gpu: compile with NVRTC and run the kernels on GPU 0
  int iters = 20;        // bench --iters: timed runs (median reported)
  int warmup = 5;        // bench --warmup
  double flops = 0;      // bench --flops: work per run for TFLOP/s (0: the kernels' mma work)
  std::string out_dir;   // build -o DIR
  int64_t max_steps = 0; // launches + loop iterations allowed (0: the default)
};

int cmd_check(const CliOptions& o, std::ostream& out, std::ostream& err);
int cmd_run(const CliOptions& o, std::ostream& out, std::ostream& err);
int cmd_explain(const CliOptions& o, std::ostream& out, std::ostream& err);
int cmd_build(const CliOptions& o, std::ostream& out, std::ostream& err);
int cmd_bench(const CliOptions& o, std::ostream& out, std::ostream& err);
int cmd_compile(const CliOptions& o, std::ostream& out, std::ostream& err);

} // namespace grove
