#include "api/grove.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <sstream>

#include "api/api_util.h"
#include "api/session.h"
#include "cuda/print_cuda.h"
#include "emulator/emulator.h"
#include "lowering/pipeline.h"
#include "runtime/compile.h"
#include "runtime/run.h"
#include "taskir/interpreter.h"

namespace grove::api {

const char* dtype_name(DType t) {
  switch (t) {
  case DType::F16:
    return "f16";
  case DType::BF16:
    return "bf16";
  case DType::F32:
    return "f32";
  case DType::F64:
    return "f64";
  case DType::E4M3:
    return "e4m3";
  case DType::E5M2:
    return "e5m2";
  }
  return "?";
}

const char* target_name(Target t) {
  switch (t) {
  case Target::Cpu:
    return "cpu";
  case Target::Reference:
    return "reference";
  case Target::Emulator:
    return "emulator";
  case Target::Gpu:
    return "gpu";
  }
  return "?";
}

// The helpers api_util.h declares, shared with launch.cpp.

const MappingDecl& mapping_of(const Loaded& l, const std::string& name) {
  std::ostringstream err;
  const MappingDecl* m = pick_mapping(l, name, err);
  if (!m) throw Error(err.str());
  return *m;
}

const TaskDecl& entry_of(const Loaded& l, const MappingDecl& m) {
  const TaskDecl* t = entry_task(l.prog, m);
  if (!t) fail("mapping '" + m.name + "' has no entry task");
  return *t;
}

std::string type_text(const Param& p) {
  std::string t = std::string(elem_name(p.type.elem)) + "[";
  for (size_t i = 0; i < p.type.dims.size(); ++i) t += (i ? ", " : "") + expr_str(*p.type.dims[i]);
  return t + "]";
}

std::string tensor_names(const TaskDecl& task) {
  std::string s;
  for (const Param& p : task.params)
    if (p.type.is_tensor) s += (s.empty() ? "" : ", ") + p.name;
  return s;
}

void check_scalars(const TaskDecl& task, const std::map<std::string, double>& scalars) {
  for (const auto& [name, v] : scalars) {
    bool known = false;
    for (const Param& p : task.params) known = known || (!p.type.is_tensor && p.name == name);
    if (!known) fail("task '" + task.name + "' has no scalar parameter '" + name + "'");
  }
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

namespace {

// Element i of an array as a double.
double load_element(const Array& a, size_t i) {
  switch (a.dtype) {
  case DType::F16:
    return f16_bits_to_f32(static_cast<const uint16_t*>(a.data)[i]);
  case DType::BF16:
    return bf16_bits_to_f32(static_cast<const uint16_t*>(a.data)[i]);
  case DType::F32:
    return static_cast<const float*>(a.data)[i];
  case DType::F64:
    return static_cast<const double*>(a.data)[i];
  case DType::E4M3:
    return e4m3_bits_to_f32(static_cast<const uint8_t*>(a.data)[i]);
  case DType::E5M2:
    return e5m2_bits_to_f32(static_cast<const uint8_t*>(a.data)[i]);
  }
  return 0;
}

void store_element(const Array& a, size_t i, double v) {
  switch (a.dtype) {
  case DType::F16:
    static_cast<uint16_t*>(a.data)[i] = f32_to_f16_bits(static_cast<float>(v));
    break;
  case DType::BF16:
    static_cast<uint16_t*>(a.data)[i] = f32_to_bf16_bits(static_cast<float>(v));
    break;
  case DType::F32:
    static_cast<float*>(a.data)[i] = static_cast<float>(v);
    break;
  case DType::F64:
    static_cast<double*>(a.data)[i] = v;
    break;
  case DType::E4M3:
    static_cast<uint8_t*>(a.data)[i] = f32_to_e4m3_bits(static_cast<float>(v));
    break;
  case DType::E5M2:
    static_cast<uint8_t*>(a.data)[i] = f32_to_e5m2_bits(static_cast<float>(v));
    break;
  }
}

std::map<std::string, std::vector<int64_t>> shapes_of(const std::map<std::string, Array>& arrays) {
  std::map<std::string, std::vector<int64_t>> s;
  for (const auto& [name, a] : arrays) s[name] = a.shape;
  return s;
}

// Runs the lowered kernels in the emulator, `schedules` times from the same inputs; throws with
// what the emulator reports.
std::string emulate_all(const Loaded& l, const lower::Lowered& lowered, EntryArgs& args,
                        const std::map<std::string, int64_t>& sizes, const RunConfig& cfg) {
  std::map<std::string, Buffer> inputs;
  for (const auto& [name, b] : args.tensors) inputs.emplace(name, *b);
  int schedules = std::max(1, cfg.schedules);
  int64_t steps = 0;
  for (int run = 0; run < schedules; ++run) {
    for (auto& [name, b] : args.tensors) *b = inputs.at(name);
    EmulatorOptions eo;
    eo.seed = cfg.seed + static_cast<uint64_t>(run);
    eo.sources = &l.sm;
    for (const kir::Kernel& k : lowered.kernels) {
      EmulatorReport rep = emulate(k, args.tensors, sizes, args.scalars, eo);
      steps += rep.steps;
      if (rep.ok) continue;
      std::string list;
      for (const std::string& e : rep.errors) list += "\n    " + e;
      fail("the emulator found errors in kernel " + k.name + " under schedule " +
               std::to_string(run) + " (seed " + std::to_string(eo.seed) + "):" + list,
           "this is a bug in Grove's lowering: please report it with the program and mapping");
    }
  }
  return "emulated " + std::to_string(lowered.kernels.size()) + " kernel(s) under " +
         std::to_string(schedules) + " schedule(s), " + std::to_string(steps) + " steps";
}

} // namespace

Program::Program(std::unique_ptr<Loaded> l)
    : l_(std::move(l)), launches_(std::make_unique<Launches>()) {}
Program::Program(Program&&) noexcept = default;
Program& Program::operator=(Program&&) noexcept = default;
Program::~Program() = default;

namespace {
TypeArgs type_args(const std::map<std::string, std::string>& types) {
  TypeArgs out;
  for (const auto& [name, type] : types)
    if (std::string err = add_type_arg(name, type, out); !err.empty())
      throw Error("grove: error: type argument " + name + "=" + type + ": " + err + "\n");
  return out;
}
} // namespace

Program Program::load(const std::string& path, const std::map<std::string, std::string>& types) {
  std::ostringstream err;
  auto l = grove::load(path, err, type_args(types));
  if (!l) throw Error(err.str());
  return Program(std::move(l));
}

Program Program::from_source(const std::string& text, const std::string& name,
                             const std::map<std::string, std::string>& types) {
  std::ostringstream err;
  auto l = load_text(name, text, err, type_args(types));
  if (!l) throw Error(err.str());
  return Program(std::move(l));
}

std::map<std::string, std::string> Program::types() const {
  std::map<std::string, std::string> out;
  for (const auto& [name, t] : l_->prog.type_params) out[name] = elem_name(t);
  return out;
}

std::vector<std::string> Program::mappings() const {
  std::vector<std::string> names;
  for (const MappingDecl& m : l_->prog.mappings) names.push_back(m.name);
  return names;
}

Signature Program::signature(const std::string& mapping) const {
  const TaskDecl& task = entry_of(*l_, mapping_of(*l_, mapping));
  Signature s;
  s.task = task.name;
  for (const Param& p : task.params) {
    if (!p.type.is_tensor) {
      std::optional<double> def;
      if (p.default_value) def = constant_value(*p.default_value);
      s.scalars.push_back({p.name, p.type.is_int, def});
      continue;
    }
    TensorParam t{p.name, elem_name(p.type.elem), {}, can_read(p.priv), can_write(p.priv)};
    for (const ExprPtr& d : p.type.dims) t.dims.push_back(expr_str(*d));
    s.tensors.push_back(std::move(t));
  }
  return s;
}

std::map<std::string, int64_t>
Program::bind_sizes(const std::string& mapping,
                    const std::map<std::string, std::vector<int64_t>>& shapes) const {
  const TaskDecl& task = entry_of(*l_, mapping_of(*l_, mapping));
  return reported(*l_, [&] {
    for (const auto& [name, shape] : shapes) {
      bool known = false;
      for (const Param& p : task.params) known = known || (p.type.is_tensor && p.name == name);
      if (!known)
        throw GroveError(task.loc, "task '" + task.name + "' has no tensor named '" + name + "'",
                         "its tensors are " + tensor_names(task));
    }
    std::map<std::string, int64_t> sizes;
    std::map<std::string, std::string> bound_by; // size -> the tensor that bound it
    for (const Param& p : task.params) {
      if (!p.type.is_tensor) continue;
      auto it = shapes.find(p.name);
      if (it == shapes.end())
        throw GroveError(p.loc, "no array given for tensor '" + p.name + "' (" + type_text(p) + ")",
                         "pass one array per tensor parameter: " + tensor_names(task));
      const std::vector<int64_t>& shape = it->second;
      if (shape.size() != p.type.dims.size())
        throw GroveError(p.loc,
                         "tensor '" + p.name + "' is " + type_text(p) +
                             ", but its array has shape " + shape_str(shape),
                         "give it an array of rank " + std::to_string(p.type.dims.size()));
      for (size_t i = 0; i < shape.size(); ++i) {
        const Expr& d = *p.type.dims[i];
        if (d.kind == Expr::Int) {
          if (shape[i] != d.ival)
            throw GroveError(d.loc, "dimension " + std::to_string(i) + " of tensor '" + p.name +
                                        "' is " + std::to_string(d.ival) + ", but its array has " +
                                        shape_str(shape));
          continue;
        }
        auto [at, fresh] = sizes.emplace(d.name, shape[i]);
        if (fresh) {
          bound_by[d.name] = p.name + " " + shape_str(shape);
        } else if (at->second != shape[i]) {
          throw GroveError(d.loc,
                           "size " + d.name + " is " + std::to_string(shape[i]) + " in tensor '" +
                               p.name + "' " + shape_str(shape) + ", but " +
                               std::to_string(at->second) + " in " + bound_by[d.name],
                           "the arrays' shapes must agree on every size the task names");
        }
      }
    }
    return sizes;
  });
}

RunReport Program::run(const std::map<std::string, Array>& arrays, const RunConfig& cfg) const {
  const MappingDecl& m = mapping_of(*l_, cfg.mapping);
  const TaskDecl& task = entry_of(*l_, m);
  RunReport report;
  report.mapping = cfg.target == Target::Reference ? "" : m.name;
  report.sizes = bind_sizes(m.name, shapes_of(arrays));
  const std::map<std::string, int64_t>& sizes = report.sizes;
  for (const auto& [name, a] : arrays)
    if (!a.data) fail("the array for tensor '" + name + "' has no data");
  check_scalars(task, cfg.scalars);
  reported(*l_, [&] {
    if (cfg.target == Target::Gpu) runtime::Driver::get(); // no GPU: say so before anything else
    EntryArgs args = allocate_entry(task, sizes, cfg.scalars, m.loc);
    for (const auto& [name, a] : arrays) {
      Buffer& b = *args.tensors.at(name);
      for (size_t i = 0; i < b.data.size(); ++i) b.data[i] = round_to(b.elem, load_element(a, i));
    }
    auto t0 = std::chrono::steady_clock::now();
    switch (cfg.target) {
    case Target::Cpu: {
      RunStats st = run_mapping(l_->prog, m, args, {});
      report.summary = "ran " + std::to_string(st.launches) + " launches (" +
                       std::to_string(st.leaf_runs) + " leaf runs) on the CPU";
      break;
    }
    case Target::Reference: {
      const VariantDecl* ref = reference_variant(l_->prog, task);
      if (!ref)
        throw GroveError(task.loc, "task '" + task.name + "' has no reference variant",
                         "add a leaf that computes it directly: variant " + task.name +
                             ".spec leaf reference { ... }");
      RunOptions exact;
      exact.exact = true;
      run_reference(l_->prog, task, *ref, args, exact);
      report.summary = "ran the reference variant " + ref->name + " in float64 on the CPU";
      break;
    }
    case Target::Emulator:
    case Target::Gpu: {
      lower::LowerOptions lo;
      lo.sizes = sizes;
      lower::Lowered lowered = lower::lower_mapping(l_->prog, m, lo);
      if (cfg.target == Target::Emulator) {
        report.summary = emulate_all(*l_, lowered, args, sizes, cfg);
      } else {
        runtime::GpuRunReport rep = runtime::run_on_gpu(lowered.kernels, args.tensors, sizes,
                                                        args.scalars, runtime::checked_build());
        report.summary =
            "ran " + std::to_string(rep.kernels.size()) + " kernel(s) on " + rep.device;
      }
      break;
    }
    }
    report.summary += " in " + fmt("%.3f s", seconds_since(t0));
    for (const Param& p : task.params) {
      if (!p.type.is_tensor || !can_write(p.priv)) continue;
      const Array& a = arrays.at(p.name);
      const Buffer& b = *args.tensors.at(p.name);
      for (size_t i = 0; i < b.data.size(); ++i) store_element(a, i, b.data[i]);
    }
    return 0;
  });
  return report;
}

std::string Program::cuda(const std::string& mapping,
                          const std::map<std::string, int64_t>& sizes) const {
  const MappingDecl& m = mapping_of(*l_, mapping);
  return reported(*l_, [&] {
    lower::LowerOptions lo;
    lo.sizes = sizes;
    lower::Lowered lowered = lower::lower_mapping(l_->prog, m, lo);
    std::string text;
    for (const kir::Kernel& k : lowered.kernels) text += grove::cuda::print_cuda(k);
    return text;
  });
}

std::vector<KernelResources> Program::resources(const std::string& mapping,
                                                const std::map<std::string, int64_t>& sizes) const {
  const MappingDecl& m = mapping_of(*l_, mapping);
  return reported(*l_, [&] {
    lower::LowerOptions lo;
    lo.sizes = sizes;
    std::vector<KernelResources> out;
    for (const kir::Kernel& k : lower::lower_mapping(l_->prog, m, lo).kernels) {
      const runtime::PtxasReport r = runtime::compile(k).ptxas;
      out.push_back({k.name, r.registers, r.spill_store_bytes, r.spill_load_bytes, r.stack_bytes,
                     r.performance_notes});
    }
    return out;
  });
}

} // namespace grove::api
