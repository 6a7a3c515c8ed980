// The printed CUDA, run: each case lowers an example, prints its kernels and launchers as `grove
// build` does, compiles them as C++ against the CPU stand-in (cpu_device/), runs them on fresh
// random inputs (outputs poisoned) and compares what they wrote with the interpreter's run of the
// same mapping. What this checks that the emulator cannot: the printer's own arithmetic
// (addresses, swizzles, descriptors, fragment loops, tile and slot indices) and the launchers
// (tensor maps, grids, clusters, persistent grids on few SMs).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "cpu_device/host_compile.h"
#include "cuda/print_cuda.h"
#include "example_cases.h"
#include "lowering/pipeline.h"
#include "lowering_util.h"
#include "runtime/launch.h"
#include "runtime/run.h"
#include "taskir/interpreter.h"

using namespace grove;
namespace fs = std::filesystem;

namespace {

void write_file(const fs::path& p, const std::vector<unsigned char>& bytes) {
  std::ofstream(p, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

std::vector<unsigned char> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<unsigned char>(std::istreambuf_iterator<char>(in), {});
}

// A main() that loads every tensor, calls the launch functions in order and saves what they write.
std::string driver(const std::vector<kir::Kernel>& kernels,
                   const std::map<std::string, int64_t>& sizes,
                   const std::map<std::string, double>& floats) {
  std::ostringstream o;
  o.precision(17);
  o << "#include <cstdio>\n#include <cstdlib>\n#include <string>\n#include <cuda_runtime.h>\n\n";
  for (const kir::Kernel& k : kernels) o << cuda::launch_declaration(k) << "\n";
  o << R"(
static void* load(const std::string& path, size_t& n) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) { std::fprintf(stderr, "cannot read %s\n", path.c_str()); std::exit(3); }
  std::fseek(f, 0, SEEK_END);
  n = static_cast<size_t>(std::ftell(f));
  std::fseek(f, 0, SEEK_SET);
  void* p = std::aligned_alloc(16, (n + 15) / 16 * 16);
  if (std::fread(p, 1, n, f) != n) std::exit(3);
  std::fclose(f);
  return p;
}
static void save(const std::string& path, const void* p, size_t n) {
  FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(p, 1, n, f);
  std::fclose(f);
}
int main(int, char** argv) {
  const std::string dir = argv[1];
)";
  std::map<std::string, bool> written;
  for (const kir::Kernel& k : kernels)
    for (const kir::GlobalTensor& t : k.tensors) {
      if (!written.count(t.name))
        o << "  size_t n_" << t.name << ";\n  void* t_" << t.name << " = load(dir + \"/" << t.name
          << ".bin\", n_" << t.name << ");\n";
      written[t.name] = written[t.name] || t.written;
    }
  for (const kir::Kernel& k : kernels) {
    o << "  if (" << cuda::launch_symbol(k) << "(";
    for (const kir::GlobalTensor& t : k.tensors) o << "t_" << t.name << ", ";
    for (const std::string& v : k.size_vars) o << sizes.at(v) << ", ";
    for (const std::string& v : k.float_params) o << "float(" << floats.at(v) << "), ";
    o << "nullptr) != cudaSuccess) {\n    std::fprintf(stderr, \"" << k.name
      << ": %s\\n\", grove::cpu::last_error().c_str());\n    return 2;\n  }\n";
  }
  for (const auto& [name, w] : written)
    if (w) o << "  save(dir + \"/" << name << ".out\", t_" << name << ", n_" << name << ");\n";
  o << "  return 0;\n}\n";
  return o.str();
}

// Where each case's sources, inputs and outputs go (kept for a look after a failure).
fs::path case_dir(const test::Case& c) {
  return fs::path(GROVE_TEST_OUT_DIR) / "cpu_device" / test::case_name(c);
}

void run_case(const test::Case& c) {
  auto prog = c.from.empty()
                  ? test::compile_file(test::example(c.file), c.types)
                  : test::compile_text(test::replace(test::read_example(c.file), c.from, c.to),
                                       test::example(c.file), c.types);
  ASSERT_EQ(prog->errors, "");
  const MappingDecl* m = prog->prog.find_mapping(c.mapping);
  ASSERT_TRUE(m);
  const TaskDecl* task = entry_task(prog->prog, *m);
  ASSERT_TRUE(task);

  EntryArgs args = allocate_entry(*task, c.sizes, m->loc);
  for (auto& [k, v] : c.scalars) args.scalars[k] = v;
  test::randomize(*task, args, std::random_device{}());
  EntryArgs ref = test::deep_copy(args);
  run_mapping(prog->prog, *m, ref, {});

  // As `grove build` prints them: only the head dimension (it shapes on-chip tiles) fixed, every
  // other size a parameter of the launch functions.
  lower::LowerOptions lo;
  if (c.sizes.count("D")) lo.sizes = {{"D", c.sizes.at("D")}};
  lower::Lowered lowered = lower::lower_mapping(prog->prog, *m, lo);

  fs::path dir = case_dir(c);
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string sources;
  for (const kir::Kernel& k : lowered.kernels) {
    std::ofstream(dir / (k.name + ".cu")) << cuda::print_cuda(k);
    sources += " " + (dir / (k.name + ".cu")).string();
  }
  fs::copy_file(fs::path(GROVE_SOURCE_DIR) / "src/cuda/grove_sm90_host.cuh",
                dir / "grove_sm90_host.cuh");
  std::ofstream(dir / "main.cpp") << driver(lowered.kernels, c.sizes, args.scalars);

  // Every tensor the kernels name, laid out as on the device (rows padded to 16 bytes);
  // temporaries start as NaN.
  std::map<std::string, const kir::GlobalTensor*> globals;
  for (const kir::Kernel& k : lowered.kernels)
    for (const kir::GlobalTensor& t : k.tensors) globals.emplace(t.name, &t);
  for (const auto& [n, t] : globals) {
    auto it = args.tensors.find(n);
    if (it == args.tensors.end()) {
      write_file(dir / (n + ".bin"),
                 std::vector<unsigned char>(runtime::device_bytes(*t, c.sizes), 0xff));
      continue;
    }
    auto [row, pitch] = runtime::row_bytes(*t, c.sizes);
    write_file(dir / (n + ".bin"), runtime::pad_rows(runtime::to_storage(*it->second), row, pitch));
  }

  int rc = 0;
  // With AddressSanitizer: a printed kernel's access outside a tensor (the driver allocates each
  // to its size, rounded up to 16 bytes) or outside shared memory fails the run.
  std::string cmd = cpu::stand_in_compiler() + " -fsanitize=address -fno-omit-frame-pointer " +
                    "-x c++" + sources + " " + (dir / "main.cpp").string() + " -x none " +
                    GROVE_CPU_DEVICE_LIBS + " -o " + (dir / "run").string();
  std::string log = cpu::run_command(cmd, rc);
  ASSERT_EQ(rc, 0) << cmd << "\n" << log;
  // (Leaks are not the question, and LeakSanitizer's tracer is unreliable on loaded machines.)
  log = cpu::run_command(
      "ASAN_OPTIONS=detect_leaks=0 " + (dir / "run").string() + " " + dir.string(), rc);
  ASSERT_EQ(rc, 0) << "the printed kernels failed on the CPU stand-in:\n" << log;

  for (const Param& p : task->params) {
    if (!p.type.is_tensor || !can_write(p.priv)) continue;
    const kir::GlobalTensor& t = *globals.at(p.name);
    auto [row, pitch] = runtime::row_bytes(t, c.sizes);
    Buffer got = *args.tensors.at(p.name);
    runtime::from_storage(runtime::unpad_rows(read_file(dir / (p.name + ".out")), row, pitch), got);
    const std::vector<double>& want = ref.tensors.at(p.name)->data;
    ASSERT_TRUE(std::any_of(want.begin(), want.end(), [](double x) { return x != 0; }))
        << p.name << " is zero in the interpreter's run";
    EXPECT_EQ(
        std::count_if(got.data.begin(), got.data.end(), [](double x) { return !std::isfinite(x); }),
        0)
        << p.name << ": elements never written (still NaN) or not finite";
    EXPECT_LE(test::rel_error(got.data, want), check_tolerance(prog->prog, *m, p.type.elem))
        << p.name << ": ||out - ref|| / ||ref|| against the interpreter";
  }
}

} // namespace

class CpuDevice : public ::testing::TestWithParam<test::Case> {};

TEST_P(CpuDevice, PrintedKernelsMatchTheInterpreter) {
  run_case(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Examples, CpuDevice, ::testing::ValuesIn(test::example_cases()),
                         [](const ::testing::TestParamInfo<test::Case>& p) {
                           return test::case_name(p.param);
                         });
