// The C++ API: load a Grove program, and run it on arrays the caller owns, on the CPU (the
// reference interpreter, or the task's float64 reference variant), in the emulator of the lowered
// kernels, or on the GPU; or get the CUDA a mapping prints. The C API (grove_c.h) and the Python
// module (src/python) are thin layers over this one.
//
//   grove::api::Program p = grove::api::Program::load("examples/gemm.grove");
//   std::map<std::string, grove::api::Array> arrays = {
//       {"C", {c, grove::api::DType::F32, {M, N}}},
//       {"A", {a, grove::api::DType::F16, {M, K}}},
//       {"B", {b, grove::api::DType::F16, {K, N}}}};
//   p.run(arrays);   // sizes M, N, K come from the shapes; C is written back
//
// Every error (in the program, the mapping, the arrays, or on the GPU) is an api::Error whose
// what() is the report in the format of docs/diagnostics.md.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace grove {
struct Loaded;
}

namespace grove::api {

class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// How a caller's array stores its elements. Any of them serves a tensor of any element type:
// values are rounded to the tensor's type on the way in (as the GPU stores them) and converted to
// the array's type on the way out. F16 and BF16 arrays hold the 16-bit patterns, E4M3 and E5M2
// arrays the 8-bit ones (OCP FP8: PyTorch's float8_e4m3fn and float8_e5m2).
enum class DType { F16, BF16, F32, F64, E4M3, E5M2 };
const char* dtype_name(DType t);

// A row-major, dense array the caller owns. Tensors the task writes are written back into it.
struct Array {
  void* data = nullptr;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
};

// An array in GPU memory the caller owns (a CUDA tensor's data pointer, a cudaMalloc'd buffer),
// for launch(): the kernels read and write it where it is, with no copy and no conversion, so its
// element type must be the tensor's (F16 for f16, BF16 for bf16, F32 for f32). Its layout is the
// kernels': row-major, rows starting a multiple of 16 bytes apart (rows of 16-byte multiples are
// dense; shorter ones padded, e.g. f16 rows of 100 elements 104 apart), 16-byte-aligned.
struct DeviceArray {
  uint64_t data = 0; // device address
  DType dtype = DType::F16;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides; // in elements, as the caller's array has them; empty: as above
};

struct LaunchConfig {
  std::string mapping;                   // empty: the file's first mapping
  std::map<std::string, double> scalars; // the task's scalar parameters (defaults where absent)
  void* stream = nullptr; // a CUstream / cudaStream_t on the arrays' GPU; null: the default stream
  // Sizes left as kernel parameters, so one compile serves every value of them (say the tokens
  // of a batch, M); the others are fixed into the kernels, which then compile once per value.
  std::set<std::string> dynamic;
};

enum class Target {
  Cpu,       // the reference interpreter runs the mapping (values rounded as stored)
  Reference, // the task's reference variant, in float64 (no mapping)
  Emulator,  // the mapping lowered to kernels, run in the emulator of Hopper's async machinery
  Gpu,       // the mapping lowered, compiled with NVRTC (cached) and run on GPU 0
};
const char* target_name(Target t);

struct RunConfig {
  std::string mapping; // empty: the file's first mapping
  Target target = Target::Cpu;
  std::map<std::string, double> scalars; // the task's scalar parameters (defaults where absent)
  uint64_t seed = 1;                     // emulator: the first schedule's seed
  int schedules = 1;                     // emulator: schedules tried, each from the inputs
};

struct RunReport {
  std::string mapping;                  // empty for Target::Reference
  std::map<std::string, int64_t> sizes; // as the arrays' shapes bound them
  std::string summary;                  // one line: what ran, where, how long
};

// What ptxas reported of one compiled kernel (NVRTC with -v), per thread.
struct KernelResources {
  std::string kernel;
  int registers = -1; // at launch (setmaxnreg moves them later); -1: not reported
  int spill_store_bytes = 0, spill_load_bytes = 0, stack_bytes = 0;
  std::vector<std::string> notes; // "Potential Performance Loss" notes (wgmmas serialized)
};

struct TensorParam {
  std::string name;
  std::string elem;              // "f16", "bf16", "f32"
  std::vector<std::string> dims; // size names, or integer literals as text
  bool read = false, write = false;
};
struct ScalarParam {
  std::string name;
  bool is_int = false;
  std::optional<double> default_value;
};
struct Signature {
  std::string task;
  std::vector<TensorParam> tensors;
  std::vector<ScalarParam> scalars;
};

class Program {
public:
  // `types` sets type parameters (`type T = f16;`) to other element types by name, e.g.
  // {{"T", "bf16"}}; each must name one of the program's.
  static Program load(const std::string& path,
                      const std::map<std::string, std::string>& types = {});
  // Source text; `name` stands for its file in messages (imports resolve against the working
  // folder).
  static Program from_source(const std::string& text, const std::string& name = "<source>",
                             const std::map<std::string, std::string>& types = {});
  // The program's type parameters and the element type each stands for ("f16", "bf16", "f32").
  std::map<std::string, std::string> types() const;
  Program(Program&&) noexcept;
  Program& operator=(Program&&) noexcept;
  ~Program();

  std::vector<std::string> mappings() const;
  // The entry task of a mapping (empty: the first).
  Signature signature(const std::string& mapping = "") const;
  // The sizes the shapes bind (tensor name -> shape), checked against each other.
  std::map<std::string, int64_t>
  bind_sizes(const std::string& mapping,
             const std::map<std::string, std::vector<int64_t>>& shapes) const;
  // Runs the entry task on the arrays (one per tensor parameter, by name) with sequential
  // semantics, and writes the tensors it writes back into their arrays.
  RunReport run(const std::map<std::string, Array>& arrays, const RunConfig& config = {}) const;
  // Launches the mapping's kernels on GPU memory the caller owns (one array per tensor parameter,
  // by name; sizes from their shapes), in order on `config.stream`, and returns without waiting:
  // synchronize the stream before reading what they write. The first launch for a mapping and a
  // set of sizes (the ones not in config.dynamic) lowers the mapping, compiles its kernels
  // (NVRTC, through the on-disk cache) and loads them on the arrays' GPU; later launches with
  // those sizes reuse them. Thread-safe.
  RunReport launch(const std::map<std::string, DeviceArray>& arrays,
                   const LaunchConfig& config = {}) const;
  // The CUDA C++ of each kernel the mapping lowers to, with these sizes fixed (empty: the kernels
  // take every size as a parameter).
  std::string cuda(const std::string& mapping = "",
                   const std::map<std::string, int64_t>& sizes = {}) const;
  // Compiles the mapping's kernels as `grove bench` times them (NVRTC, through the on-disk cache;
  // no GPU needed) with these sizes fixed, and returns what ptxas reported of each: registers
  // and spills, to weed out mappings before timing them. Throws Error without NVRTC.
  std::vector<KernelResources> resources(const std::string& mapping = "",
                                         const std::map<std::string, int64_t>& sizes = {}) const;

private:
  struct Launches; // what launch() keeps: lowered mappings, open GPUs, loaded kernels
  explicit Program(std::unique_ptr<Loaded> l);
  std::unique_ptr<Loaded> l_;
  std::unique_ptr<Launches> launches_;
};

} // namespace grove::api
