// Runs lowered kernels on the GPU over the interpreter's buffers: the GPU counterpart of
// emulate() (emulator/emulator.h), used by `grove run --gpu` and `grove bench`.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kernel/kir.h"
#include "runtime/compile.h"
#include "runtime/launch.h"
#include "runtime/loaded.h"
#include "taskir/view.h"

namespace grove::runtime {

// Timing (`grove bench`): the whole kernel sequence, median of cuEvent-timed runs after a warm-up,
// cycling through copies of every tensor so that inputs come from memory, not from a warm L2
// (as a model runs: the next layer's operands are not the ones just used).
struct BenchOptions {
  CompileOptions compile;
  int warmup = 5;
  int iters = 20;
  double rotate_bytes = 0; // the copies together hold at least this much; 0: twice the L2
  int max_copies = 16;
  uint64_t seed = 1;
};

struct GpuRunReport {
  std::string device; // "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, driver 12080)"
  std::vector<KernelRun> kernels;
  std::vector<double> times_ms; // one per timed run of the whole sequence
  int copies = 1;               // bench: sets of tensors cycled through
  size_t set_bytes = 0;         // bench: bytes of one set
  double median_ms() const;
};

// Compiles (through the cache) and launches the kernels in order on GPU 0: uploads every tensor
// the kernels use (stored as its element type: f16, bf16, f32, e4m3 or e5m2; poisoned NaN outputs
// stay NaN), then downloads the ones they write back into `tensors`, converted to double. Throws
// Error.
GpuRunReport run_on_gpu(const std::vector<kir::Kernel>& kernels,
                        std::map<std::string, std::shared_ptr<Buffer>>& tensors,
                        const std::map<std::string, int64_t>& sizes,
                        const std::map<std::string, double>& floats,
                        const CompileOptions& compile = {});

// Times the kernels on random inputs made here (no host reference, so any size that fits the GPU
// will do). Throws Error.
GpuRunReport bench_on_gpu(const std::vector<kir::Kernel>& kernels,
                          const std::map<std::string, int64_t>& sizes,
                          const std::map<std::string, double>& floats,
                          const BenchOptions& opts = {});

// Storage conversions (exact for values already rounded to the type).
std::vector<unsigned char> to_storage(const Buffer& b);
void from_storage(const std::vector<unsigned char>& bytes, Buffer& b);

// A tensor's rows in bytes at these sizes, dense and as laid out on the device (kir::row_pitch).
std::pair<size_t, size_t> row_bytes(const kir::GlobalTensor& t,
                                    const std::map<std::string, int64_t>& sizes);

// Dense rows of `row_bytes` into rows `pitch_bytes` apart (the device layout of a tensor whose
// rows are not a multiple of 16 bytes: kir::row_pitch), and back. The padding is zero.
std::vector<unsigned char> pad_rows(const std::vector<unsigned char>& dense, size_t row_bytes,
                                    size_t pitch_bytes);
std::vector<unsigned char> unpad_rows(const std::vector<unsigned char>& padded, size_t row_bytes,
                                      size_t pitch_bytes);

} // namespace grove::runtime
