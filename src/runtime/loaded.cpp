#include "runtime/loaded.h"

namespace grove::runtime {

LoadedKernels::LoadedKernels(const Device& dev, std::vector<kir::Kernel> kernels,
                             std::map<std::string, int64_t> sizes, const CompileOptions& opts)
    : dev_(dev), kernels_(std::move(kernels)), sizes_(std::move(sizes)) {
  for (const kir::Kernel& k : kernels_) {
    KernelRun kr;
    kr.name = k.name;
    kr.cubin = compile(k, opts);
    kr.plan = plan_launch(k, sizes_, dev.sm_count());
    modules_.push_back(std::make_unique<Module>(dev, kr.cubin));
    if (k.persistent && kr.plan.cluster_x > 1) // whole clusters that can all be resident at once
      kr.plan = plan_launch(k, sizes_, resident_blocks(dev, *modules_.back(), kr.plan));
    kr.cubin.image.clear();
    runs_.push_back(std::move(kr));
  }
}

std::unique_ptr<KernelArgs> LoadedKernels::args(size_t i,
                                                const std::map<std::string, cu::DevicePtr>& tensors,
                                                const std::map<std::string, double>& floats) const {
  return std::make_unique<KernelArgs>(dev_, kernels_.at(i), tensors, sizes_, floats);
}

void LoadedKernels::launch(size_t i, KernelArgs& args, cu::Stream stream) const {
  runtime::launch(dev_, *modules_.at(i), runs_.at(i).plan, args, stream);
}

void LoadedKernels::launch_all(const std::map<std::string, cu::DevicePtr>& tensors,
                               const std::map<std::string, double>& floats,
                               cu::Stream stream) const {
  for (size_t i = 0; i < kernels_.size(); ++i) launch(i, *args(i, tensors, floats), stream);
}

} // namespace grove::runtime
