#include "cli/commands.h"
#include "api/session.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include "cuda/print_cuda.h"
#include "emulator/emulator.h"
#include "frontend/check.h"
#include "frontend/parser.h"
#include "lowering/pipeline.h"
#include "runtime/flops.h"
#include "runtime/run.h"
#include "taskir/explain.h"
#include "taskir/interpreter.h"

namespace grove {

int cmd_check(const CliOptions& o, std::ostream& out, std::ostream& err) {
  auto l = load(o.file, err, o.types);
  if (!l) return 1;
  std::string others; // mappings not elaborated: they enter another task
  if (!o.sizes.empty()) {
    // Elaborate each mapping: walk the whole tree with these sizes, computing nothing. Each
    // mapping stops at its first error; the others are still elaborated. The sizes are those of
    // the default mapping's entry task: mappings entering another task (from an imported file)
    // are left to `--mapping NAME` with their own sizes.
    Diagnostics diags(l->sm);
    if (!o.mapping.empty() && !pick_mapping(*l, o.mapping, err)) return 1;
    const TaskDecl* main_task =
        l->prog.mappings.empty() ? nullptr : entry_task(l->prog, l->prog.mappings.front());
    for (const MappingDecl& m : l->prog.mappings) {
      if (!o.mapping.empty() && m.name != o.mapping) continue;
      try {
        const TaskDecl* task = entry_task(l->prog, m);
        if (!task) continue;
        if (o.mapping.empty() && task != main_task) {
          others += (others.empty() ? "" : ", ") + m.name + " (" + task->name + ")";
          continue;
        }
        EntryArgs args = allocate_entry(*task, o.sizes, o.args, m.loc, /*allocate=*/false);
        RunOptions opts;
        opts.compute = false;
        if (o.max_steps > 0) opts.max_steps = o.max_steps;
        run_mapping(l->prog, m, args, opts);
      } catch (const GroveError& e) {
        diags.error(e.loc, e.what(), e.hint);
      }
    }
    if (diags.has_errors()) {
      diags.print(err);
      err << diags.count() << " error" << (diags.count() == 1 ? "" : "s") << "\n";
      return 1;
    }
  }
  if (!others.empty())
    out << "note: not elaborated with these sizes, as they enter another task: " << others
        << "; name one with --mapping and give its sizes\n";
  out << o.file << ": ok (" << l->prog.tasks.size() << " tasks, " << l->prog.variants.size()
      << " variants, " << l->prog.mappings.size() << " mappings" << types_str(l->prog) << ")\n";
  return 0;
}

int cmd_run(const CliOptions& o, std::ostream& out, std::ostream& err) {
  auto l = load(o.file, err, o.types);
  if (!l) return 1;
  const MappingDecl* m = pick_mapping(*l, o.mapping, err);
  if (!m) return 1;
  const TaskDecl* task = entry_task(l->prog, *m);
  if (!task) return 1;
  uint64_t seed = o.seed ? o.seed : std::random_device{}();
  return reporting_errors(*l, err, [&] {
    if (o.gpu) runtime::Driver::get(); // no GPU: say so before computing anything
    EntryArgs args = allocate_entry(*task, o.sizes, o.args, m->loc);

    fill_inputs(*task, args, seed, /*poison_outputs=*/true);
    EntryArgs inputs = args; // shares buffers: copy them below for the reference
    for (auto& [k, b] : inputs.tensors) b = std::make_shared<Buffer>(*b);

    out << o.file << ": mapping " << m->name << ", task " << task->name << " ("
        << sizes_str(o.sizes) << types_str(l->prog) << "), seed " << seed << "\n";
    const VariantDecl* ref = reference_variant(l->prog, *task);
    if (o.check && !ref) {
      err << "grove: error: task '" << task->name << "' has no reference variant to check against\n"
          << "  hint: add a leaf that computes it directly: variant " << task->name
          << ".spec leaf reference { ... }\n";
      return 1;
    }
    if (o.check) {
      RunOptions exact;
      exact.exact = true;
      run_reference(l->prog, *task, *ref, inputs, exact);
    }
    // Compares every written entry tensor with the reference; prints one line per tensor.
    auto check_outputs = [&](const EntryArgs& got_args, bool quiet) {
      bool ok = true;
      for (const Param& p : task->params) {
        if (!p.type.is_tensor || !can_write(p.priv)) continue;
        const std::vector<double>& got = got_args.tensors.at(p.name)->data;
        const std::vector<double>& want = inputs.tensors.at(p.name)->data;
        double num = 0, den = 0;
        bool finite = true;
        for (size_t i = 0; i < got.size(); ++i) {
          if (!std::isfinite(got[i])) finite = false;
          num += (got[i] - want[i]) * (got[i] - want[i]);
          den += want[i] * want[i];
        }
        double rel = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
        double bound = check_tolerance(l->prog, *m, p.type.elem);
        bool pass = finite && rel <= bound;
        ok = ok && pass;
        if (quiet && pass) continue;
        out << "  check " << p.name << ": ||out - ref|| / ||ref|| = " << fmt("%.3e", rel)
            << " (bound " << fmt("%.1e", bound) << " for " << elem_name(p.type.elem)
            << (bound > tolerance_for(p.type.elem) ? " through narrower intermediates" : "") << ") "
            << (pass     ? "ok"
                : finite ? "FAILED"
                         : "FAILED (non-finite values in the output)")
            << "\n";
      }
      return ok;
    };

    auto t0 = std::chrono::steady_clock::now();
    if (o.emulate) {
      // Lower the mapping (sizes fixed at compile time) and run its kernels in the emulator, once
      // per schedule, each time from poisoned outputs.
      lower::LowerOptions lo;
      lo.sizes = o.sizes;
      lower::Lowered lowered = lower::lower_mapping(l->prog, *m, lo);
      int schedules = std::max(1, o.schedules);
      bool all_ok = true;
      int64_t steps = 0;
      for (int run = 0; run < schedules; ++run) {
        for (const Param& p : task->params)
          if (p.type.is_tensor && !can_read(p.priv))
            for (double& x : args.tensors[p.name]->data) x = std::nan("");
        EmulatorOptions eo;
        eo.seed = seed + static_cast<uint64_t>(run);
        eo.sources = &l->sm;
        for (const kir::Kernel& k : lowered.kernels) {
          EmulatorReport rep = emulate(k, args.tensors, o.sizes, args.scalars, eo);
          steps += rep.steps;
          if (!rep.ok) {
            out << "  schedule " << run << " (seed " << eo.seed << "), kernel " << k.name << ":\n";
            for (const std::string& e : rep.errors) out << "    " << e << "\n";
            all_ok = false;
          }
        }
        if (o.check && !check_outputs(args, /*quiet=*/run + 1 < schedules)) {
          out << "  schedule " << run << " (seed " << seed + static_cast<uint64_t>(run)
              << ") gave wrong results\n";
          all_ok = false;
        }
        if (!all_ok) break;
      }
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      out << "  emulated " << lowered.kernels.size() << " kernel(s) under " << schedules
          << " schedule(s), " << steps << " steps, in " << fmt("%.3f", secs)
          << " s: " << (all_ok ? "no errors" : "ERRORS") << "\n";
      return all_ok ? 0 : 1;
    }
    if (o.gpu) {
      // Lower (sizes fixed as given), compile with NVRTC through the cache, run on GPU 0.
      lower::LowerOptions lo;
      lo.sizes = o.sizes;
      lower::Lowered lowered = lower::lower_mapping(l->prog, *m, lo);
      runtime::GpuRunReport rep = runtime::run_on_gpu(lowered.kernels, args.tensors, o.sizes,
                                                      args.scalars, runtime::checked_build());
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      out << "  ran " << rep.kernels.size() << " kernel(s) on " << rep.device << " in "
          << fmt("%.3f", secs) << " s\n";
      for (const runtime::KernelRun& k : rep.kernels)
        out << "    " << runtime::describe(k) << "; cubin "
            << (k.cubin.cache_hit ? "from the cache" : "compiled") << " in "
            << fmt("%.3f", k.cubin.seconds) << " s\n";
      return !o.check || check_outputs(args, false) ? 0 : 1;
    }
    RunOptions opts;
    if (o.max_steps > 0) opts.max_steps = o.max_steps;
    RunStats st = run_mapping(l->prog, *m, args, opts);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out << "  ran " << st.launches << " launches (" << st.leaf_runs << " leaf runs) in "
        << fmt("%.3f", secs) << " s\n";
    if (!o.check) return 0;
    bool ok = check_outputs(args, false);
    return ok ? 0 : 1;
  });
}

int cmd_explain(const CliOptions& o, std::ostream& out, std::ostream& err) {
  auto l = load(o.file, err, o.types);
  if (!l) return 1;
  const MappingDecl* m = pick_mapping(*l, o.mapping, err);
  if (!m) return 1;
  if (o.schedule) {
    try {
      std::vector<lower::LoopSchedule> scheds;
      lower::LowerOptions lo;
      lo.sizes = o.sizes;
      lo.schedules = &scheds;
      lo.schedule_all = true;
      lower::lower_mapping(l->prog, *m, lo);
      for (const lower::LoopSchedule& s : scheds) {
        if (!s.found) continue;
        out << s.text;
        if (!o.svg.empty()) {
          std::ofstream(o.svg) << s.svg;
          out << "wrote " << o.svg << "\n";
        }
      }
    } catch (const GroveError& e) {
      report(*l, e, err);
      return 1;
    }
    return 0;
  }
  if (!o.after.empty()) {
    const auto& names = lower::pass_names();
    if (std::find(names.begin(), names.end(), o.after) == names.end()) {
      std::string list;
      for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
      err << "grove: error: unknown pass '" << o.after << "'\n  hint: passes are " << list << "\n";
      return 2;
    }
    try {
      lower::LowerOptions lo;
      lo.dump_after = o.after;
      lo.sizes = o.sizes;
      lo.dump = &out;
      lower::lower_mapping(l->prog, *m, lo);
    } catch (const GroveError& e) {
      report(*l, e, err);
      return 1;
    }
    return 0;
  }
  explain_tree(l->prog, *m, out);
  return 0;
}

} // namespace grove
