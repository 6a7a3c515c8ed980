// Kernels compiled and loaded on a GPU, ready to launch on whatever device memory and sizes the
// caller passes, as often as it likes: what run_on_gpu and bench_on_gpu launch, and what
// api::Program::launch keeps between calls, so that a repeated launch only plans its grid and
// encodes its tensor maps. Sizes the kernels were lowered with stay fixed in them; the others are
// kernel parameters, bound at each launch.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernel/kir.h"
#include "runtime/compile.h"
#include "runtime/launch.h"

namespace grove::runtime {

struct KernelRun {
  std::string name;
  Cubin cubin; // image dropped after loading; symbol, cache path, hit, seconds kept
  LaunchPlan plan;
};

// "gemm_tile_0: 132 blocks x 384 threads, 214064 B shared, 168 registers, no spills".
std::string describe(const KernelRun& k);

class LoadedKernels {
public:
  // Compiles every kernel (through the cache) and loads it on `dev` (which must outlive this);
  // runs() holds each one's plan for `sizes`. Throws Error.
  LoadedKernels(const Device& dev, std::vector<kir::Kernel> kernels,
                const std::map<std::string, int64_t>& sizes, const CompileOptions& opts);

  const Device& device() const { return dev_; }
  const std::vector<kir::Kernel>& kernels() const { return kernels_; }
  const std::vector<KernelRun>& runs() const { return runs_; }

  // Kernel i's grid for `sizes`: a persistent kernel with clusters gets whole clusters that can
  // all be resident at once (asked of the driver once, at load).
  LaunchPlan plan(size_t i, const std::map<std::string, int64_t>& sizes) const;
  // Kernel i's arguments over the tensors' device addresses (tensor maps encoded here; `strides`
  // as KernelArgs takes them).
  std::unique_ptr<KernelArgs>
  args(size_t i, const std::map<std::string, cu::DevicePtr>& tensors,
       const std::map<std::string, int64_t>& sizes, const std::map<std::string, double>& floats,
       const std::map<std::string, std::vector<int64_t>>& strides = {}) const;
  // Launches kernel i on `stream` and returns without waiting (the arguments, tensor maps
  // included, are copied at launch: `args` may go at once).
  void launch(size_t i, const LaunchPlan& plan, KernelArgs& args,
              cu::Stream stream = nullptr) const;
  // Every kernel in order on `stream`, without waiting. Temporaries (HOST locals) missing from
  // `tensors` are allocated on `stream` for this launch and freed after it.
  void launch_all(const std::map<std::string, cu::DevicePtr>& tensors,
                  const std::map<std::string, int64_t>& sizes,
                  const std::map<std::string, double>& floats,
                  const std::map<std::string, std::vector<int64_t>>& strides = {},
                  cu::Stream stream = nullptr) const;

private:
  const Device& dev_;
  std::vector<kir::Kernel> kernels_;
  std::vector<std::unique_ptr<Module>> modules_;
  std::vector<int> resident_; // blocks a persistent grid may have (whole resident clusters)
  std::vector<const kir::GlobalTensor*> temporaries_; // HOST locals, once each (in kernels_)
  std::vector<KernelRun> runs_;
};

} // namespace grove::runtime
