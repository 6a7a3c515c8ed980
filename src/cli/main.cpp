// grove: check, run and explain Grove programs.
#include <CLI/CLI.hpp>
#include <cmath>
#include <iostream>

#include "api/session.h"
#include "cli/commands.h"
#include "lowering/pipeline.h"

int main(int argc, char** argv) {
  CLI::App app{"Grove: task-based tensor programs for NVIDIA Hopper, runnable on the CPU"};
  app.require_subcommand(1);
  grove::CliOptions o;
  std::string sizes, args, types;

  auto add_common = [&](CLI::App* c) {
    c->add_option("file", o.file, "a .grove file")->required();
    c->add_option("--mapping", o.mapping, "which mapping to use (default: the first in the file)");
    c->add_option("--size", sizes, "problem sizes, e.g. M=512,N=512,K=256");
    c->add_option("--type", types,
                  "element types for the program's type parameters, e.g. T=bf16 (for `type T = "
                  "f16;`)");
  };
  CLI::App* check =
      app.add_subcommand("check", "check a program and its mappings; with --size, also elaborate");
  add_common(check);
  CLI::App* run =
      app.add_subcommand("run", "run a program on the CPU with the reference interpreter");
  add_common(run);
  run->add_option("--arg", args, "scalar arguments of the entry task, e.g. scale=0.125");
  run->add_flag("--check", o.check, "compare against the task's reference variant run in float64");
  run->add_flag("--emulate", o.emulate,
                "lower the mapping to kernel IR and run it in the emulator (random interleavings)");
  run->add_option("--schedules", o.schedules,
                  "with --emulate: how many random schedules to run (default 1)");
  run->add_flag("--gpu", o.gpu,
                "lower the mapping, compile it with NVRTC and run the kernels on the GPU");
  run->add_option("--seed", o.seed, "seed for the random inputs (default: fresh)");
  CLI::App* explain = app.add_subcommand("explain", "show what Grove makes of a program");
  add_common(explain);
  explain->add_flag("--tree", o.tree, "the instantiated task tree with processors and memories");
  explain->add_flag(
      "--schedule", o.schedule,
      "solve the software pipeline of each block's main loop and show it (text; SVG with --svg)");
  explain->add_option("--svg", o.svg,
                      "with --schedule: write the steady state as an SVG Gantt chart");
  std::string passes;
  for (const std::string& p : grove::lower::pass_names())
    passes += (passes.empty() ? "" : ", ") + p;
  explain->add_option("--after", o.after, "print the IR after a lowering pass (" + passes + ")");

  CLI::App* build = app.add_subcommand(
      "build", "lower a mapping and write CUDA for sm_90a plus a header of launch functions");
  add_common(build);
  build->add_option("-o,--output", o.out_dir, "output folder")->required();

  CLI::App* compile = app.add_subcommand(
      "compile", "lower a mapping and compile its kernels with NVRTC into the kernel cache (no GPU "
                 "needed), so later --gpu runs and benches start at once");
  add_common(compile);

  CLI::App* bench =
      app.add_subcommand("bench", "time a mapping's kernels on the GPU (median of timed runs)");
  add_common(bench);
  bench->add_option("--arg", args, "scalar arguments of the entry task, e.g. scale=0.125");
  bench->add_option("--iters", o.iters, "timed runs (default 20)");
  bench->add_option("--warmup", o.warmup, "untimed runs first (default 5)");
  bench->add_option("--flops", o.flops,
                    "floating-point operations per run, for TFLOP/s (default: the kernels' "
                    "tensor-core work as issued)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (std::string err = grove::parse_type_args(types, o.types); !err.empty()) {
    std::cerr << "grove: error: --type: " << err << "\n";
    return 2;
  }
  for (auto [text, is_size] : {std::pair{&sizes, true}, std::pair{&args, false}}) {
    std::map<std::string, double> parsed;
    std::string err = grove::parse_assignments(*text, parsed);
    if (!err.empty()) {
      std::cerr << "grove: error: " << (is_size ? "--size" : "--arg") << ": " << err << "\n";
      return 2;
    }
    for (auto& [k, v] : parsed) {
      if (is_size && (v != std::floor(v) || std::fabs(v) > 9007199254740992.0)) { // 2^53
        std::cerr << "grove: error: --size: " << k << " = " << v
                  << " is not a whole number of at most 2^53\n";
        return 2;
      }
      if (is_size)
        o.sizes[k] = static_cast<int64_t>(v);
      else
        o.args[k] = v;
    }
  }
  // Commands report user errors as diagnostics; anything that still escapes (memory exhausted by
  // a huge size, a bug) ends with a message and status 1, never an abort.
  try {
    if (build->parsed()) return grove::cmd_build(o, std::cout, std::cerr);
    if (bench->parsed()) return grove::cmd_bench(o, std::cout, std::cerr);
    if (compile->parsed()) return grove::cmd_compile(o, std::cout, std::cerr);
    if (check->parsed()) return grove::cmd_check(o, std::cout, std::cerr);
    if (run->parsed()) return grove::cmd_run(o, std::cout, std::cerr);
    return grove::cmd_explain(o, std::cout, std::cerr);
  } catch (const std::bad_alloc&) {
    std::cerr << "grove: error: out of memory\n  hint: use smaller sizes on the CPU\n";
  } catch (const std::exception& e) {
    std::cerr << "grove: internal error: " << e.what()
              << "\n  hint: please report it with the input file\n";
  }
  return 1;
}
