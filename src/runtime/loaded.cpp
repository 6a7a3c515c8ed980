#include "runtime/loaded.h"

#include <algorithm>

#include "cuda/print_cuda.h"

namespace grove::runtime {

std::string describe(const KernelRun& k) {
  return k.name + ": " + std::to_string(k.plan.blocks) + " blocks x " +
         std::to_string(k.plan.threads) + " threads, " + std::to_string(k.plan.smem_bytes) +
         " B shared, " + summary(k.cubin.ptxas);
}

LoadedKernels::LoadedKernels(const Device& dev, std::vector<kir::Kernel> kernels,
                             const std::map<std::string, int64_t>& sizes,
                             const CompileOptions& opts)
    : dev_(dev), kernels_(std::move(kernels)) {
  for (const kir::Kernel& k : kernels_) {
    KernelRun kr;
    kr.name = k.name;
    kr.cubin = compile(k, opts);
    modules_.push_back(std::make_unique<Module>(dev, kr.cubin));
    kr.cubin.image.clear();
    // What the driver's occupancy query needs of a launch does not depend on the sizes.
    LaunchPlan shape;
    shape.threads = k.threads();
    shape.smem_bytes = cuda::launch_smem_bytes(k);
    shape.cluster_x = static_cast<unsigned>(std::max(1, k.cluster));
    resident_.push_back(k.persistent && shape.cluster_x > 1
                            ? resident_blocks(dev, *modules_.back(), shape)
                            : dev.sm_count());
    runs_.push_back(std::move(kr));
    for (const kir::GlobalTensor& t : k.tensors)
      if (t.temporary &&
          std::none_of(temporaries_.begin(), temporaries_.end(),
                       [&](const kir::GlobalTensor* o) { return o->name == t.name; }))
        temporaries_.push_back(&t);
  }
  for (size_t i = 0; i < kernels_.size(); ++i) runs_[i].plan = plan(i, sizes);
}

LaunchPlan LoadedKernels::plan(size_t i, const std::map<std::string, int64_t>& sizes) const {
  return plan_launch(kernels_.at(i), sizes, resident_.at(i));
}

std::unique_ptr<KernelArgs>
LoadedKernels::args(size_t i, const std::map<std::string, cu::DevicePtr>& tensors,
                    const std::map<std::string, int64_t>& sizes,
                    const std::map<std::string, double>& floats,
                    const std::map<std::string, std::vector<int64_t>>& strides) const {
  return std::make_unique<KernelArgs>(dev_, kernels_.at(i), tensors, sizes, floats, strides);
}

void LoadedKernels::launch(size_t i, const LaunchPlan& plan, KernelArgs& args,
                           cu::Stream stream) const {
  runtime::launch(dev_, *modules_.at(i), plan, args, stream);
}

void LoadedKernels::launch_all(const std::map<std::string, cu::DevicePtr>& tensors,
                               const std::map<std::string, int64_t>& sizes,
                               const std::map<std::string, double>& floats,
                               const std::map<std::string, std::vector<int64_t>>& strides,
                               cu::Stream stream) const {
  // Temporaries the caller does not give come from the driver's stream-ordered pool: allocated
  // before the first kernel and freed after the last, in stream order, so concurrent launches on
  // other streams never share them.
  const Driver& d = dev_.driver();
  std::map<std::string, cu::DevicePtr> all = tensors;
  std::vector<cu::DevicePtr> temporaries;
  struct FreeAll { // also when a launch throws
    const Driver& d;
    std::vector<cu::DevicePtr>& ptrs;
    cu::Stream stream;
    ~FreeAll() {
      for (cu::DevicePtr p : ptrs) d.cuMemFreeAsync(p, stream);
    }
  } free_all{d, temporaries, stream};
  for (const kir::GlobalTensor* t : temporaries_) {
    if (all.count(t->name)) continue;
    cu::DevicePtr p = 0;
    d.check(d.cuMemAllocAsync(&p, std::max<size_t>(16, device_bytes(*t, sizes)), stream),
            "cuMemAllocAsync for the temporary tensor '" + t->name + "'");
    temporaries.push_back(p);
    all[t->name] = p;
  }
  for (size_t i = 0; i < kernels_.size(); ++i)
    launch(i, plan(i, sizes), *args(i, all, sizes, floats, strides), stream);
}

} // namespace grove::runtime
