// Launching a printed kernel as its generated launcher would: one block per grid point (the
// product of the kernel's grid extents; for a persistent kernel one per SM, at most one per tile),
// kernel.threads() threads, launch_smem_bytes of dynamic shared memory, and the parameters in the
// order of the kernel's signature: global tensors, size variables (int), float parameters, then the
// TMA tensor maps (cuda::tensor_maps).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "runtime/device.h"

namespace grove::runtime {

struct LaunchPlan {
  int64_t blocks = 0; // 0: nothing to launch (an empty problem)
  int threads = 0;
  int64_t smem_bytes = 0;
  unsigned cluster_x = 1, cluster_y = 1; // as the back end prints it: kernel.cluster x 1
};

// Bytes tensor `t` takes on the device in the kernels' own layout: rows padded to 16 bytes
// (kir::row_pitch). Throws Error naming a size `sizes` lacks.
size_t device_bytes(const kir::GlobalTensor& t, const std::map<std::string, int64_t>& sizes);

// Throws Error naming a size the grid needs but `sizes` lacks, or a grid over 2^31 - 1 blocks.
// A persistent kernel gets min(tiles, sm_count) blocks (one per tile when sm_count is 0); a
// clustered one that is not persistent, one per tile.
LaunchPlan plan_launch(const kir::Kernel& k, const std::map<std::string, int64_t>& sizes,
                       int sm_count = 0);

// The kernel's arguments, in signature order, with storage for each value.
class KernelArgs {
public:
  // `tensors` maps each kernel tensor's name to its device address; `strides` (elements) those
  // laid out otherwise than row-major with padded rows (see plan_tensor_map). Throws Error naming
  // a missing tensor, size or float parameter, or a tensor TMA cannot describe.
  KernelArgs(const Device& dev, const kir::Kernel& k,
             const std::map<std::string, cu::DevicePtr>& tensors,
             const std::map<std::string, int64_t>& sizes,
             const std::map<std::string, double>& floats,
             const std::map<std::string, std::vector<int64_t>>& strides = {});
  KernelArgs(const KernelArgs&) = delete;
  KernelArgs& operator=(const KernelArgs&) = delete;
  void** data() { return args_.data(); }
  size_t size() const { return args_.size(); }

private:
  std::vector<cu::DevicePtr> ptrs_;
  std::vector<int> ints_;
  std::vector<float> floats_;
  std::vector<cu::TensorMap> maps_;
  std::vector<void*> args_;
};

// How many blocks of a cluster kernel can be resident at once, in whole clusters (clusters of 2
// fit fewer than SMs / 2 where a GPC has an odd number of SMs); sm_count when the driver cannot
// tell or the kernel has no clusters. Pass it as plan_launch's sm_count, so a persistent grid
// never has a cluster waiting for another to finish.
int resident_blocks(const Device& dev, const Module& m, const LaunchPlan& p);

// Sets the function's dynamic shared-memory limit and launches it on `stream` (asynchronous).
void launch(const Device& dev, const Module& m, const LaunchPlan& p, KernelArgs& args,
            cu::Stream stream = nullptr);

} // namespace grove::runtime
