#include "runtime/launch.h"

#include <algorithm>
#include <climits>
#include <stdexcept>

#include "cuda/print_cuda.h"
#include "runtime/tensor_map.h"

namespace grove::runtime {

namespace {

int64_t eval_size(const kir::IExprP& e, const std::map<std::string, int64_t>& sizes,
                  const std::string& what) {
  try {
    return kir::eval(*e, sizes);
  } catch (const std::out_of_range& ex) {
    throw Error(what + " needs a size that is not given (" + ex.what() + ")",
                "pass every size with --size");
  }
}

} // namespace

size_t device_bytes(const kir::GlobalTensor& t, const std::map<std::string, int64_t>& sizes) {
  const std::string what = "tensor '" + t.name + "'";
  int64_t n = eval_size(kir::row_pitch(t), sizes, what);
  for (size_t d = 0; d + 1 < t.shape.size(); ++d) {
    const int64_t extent = eval_size(t.shape[d], sizes, what);
    if (extent < 0 || n < 0) throw Error(what + " would have a negative dimension at these sizes");
    n *= extent;
  }
  if (n < 0) throw Error(what + " would have a negative dimension at these sizes");
  return static_cast<size_t>(n) * static_cast<size_t>(elem_bytes(t.elem));
}

LaunchPlan plan_launch(const kir::Kernel& k, const std::map<std::string, int64_t>& sizes,
                       int sm_count) {
  LaunchPlan p;
  p.blocks = 1;
  if (k.tiles) {
    // As the printed launcher does: a persistent kernel gets at most one block per SM, each
    // looping over its tiles; with clusters, whole clusters, `tiles` counting their groups of
    // tiles (without persistence, one group per cluster).
    int64_t tiles = eval_size(k.tiles, sizes, "the tiles of kernel '" + k.name + "'");
    const int64_t c = std::max(1, k.cluster);
    const bool capped = k.persistent && sm_count > 0;
    p.blocks = c * std::max<int64_t>(0, capped ? std::min<int64_t>(tiles, sm_count / c) : tiles);
    p.cluster_x = static_cast<unsigned>(c);
    if (p.blocks > INT_MAX)
      throw Error("kernel '" + k.name + "' would launch more than 2^31 - 1 blocks");
  }
  for (const kir::IExprP& g : k.tiles ? std::vector<kir::IExprP>{} : k.grid) {
    int64_t n = eval_size(g, sizes, "the grid of kernel '" + k.name + "'");
    if (n <= 0) {
      p.blocks = 0;
      break;
    }
    if (p.blocks > INT_MAX / n)
      throw Error("kernel '" + k.name + "' would launch more than 2^31 - 1 blocks");
    p.blocks *= n;
  }
  p.threads = k.threads();
  p.smem_bytes = cuda::launch_smem_bytes(k);
  return p;
}

KernelArgs::KernelArgs(const Device& dev, const kir::Kernel& k,
                       const std::map<std::string, cu::DevicePtr>& tensors,
                       const std::map<std::string, int64_t>& sizes,
                       const std::map<std::string, double>& floats,
                       const std::map<std::string, std::vector<int64_t>>& strides) {
  // Values first (the vectors must not grow once pointers into them are taken).
  for (const kir::GlobalTensor& t : k.tensors) {
    auto it = tensors.find(t.name);
    if (it == tensors.end())
      throw Error("kernel '" + k.name + "' needs tensor '" + t.name + "', which is not given");
    ptrs_.push_back(it->second);
  }
  for (const std::string& v : k.size_vars) {
    auto it = sizes.find(v);
    if (it == sizes.end())
      throw Error("kernel '" + k.name + "' needs size '" + v + "', which is not given",
                  "pass it with --size " + v + "=...");
    if (it->second < INT_MIN || it->second > INT_MAX)
      throw Error("size " + v + " = " + std::to_string(it->second) + " does not fit an int");
    ints_.push_back(static_cast<int>(it->second));
  }
  for (const std::string& v : k.float_params) {
    auto it = floats.find(v);
    if (it == floats.end())
      throw Error("kernel '" + k.name + "' needs the scalar '" + v + "', which is not given",
                  "pass it with --arg " + v + "=...");
    floats_.push_back(static_cast<float>(it->second));
  }
  for (const cuda::TensorMapSpec& m : cuda::tensor_maps(k)) {
    cu::DevicePtr base = ptrs_.at(static_cast<size_t>(m.tensor));
    auto own = strides.find(k.tensors.at(static_cast<size_t>(m.tensor)).name);
    maps_.push_back(encode_tensor_map(
        dev.driver(),
        plan_tensor_map(k, m, sizes, base, own == strides.end() ? nullptr : &own->second), base));
  }
  for (cu::DevicePtr& p : ptrs_) args_.push_back(&p);
  for (int& i : ints_) args_.push_back(&i);
  for (float& f : floats_) args_.push_back(&f);
  for (cu::TensorMap& m : maps_) args_.push_back(&m);
}

int resident_blocks(const Device& dev, const Module& m, const LaunchPlan& p) {
  const Driver& d = dev.driver();
  const unsigned c = p.cluster_x * p.cluster_y;
  if (c <= 1 || !d.cuOccupancyMaxActiveClusters) return dev.sm_count();
  d.check(d.cuFuncSetAttribute(m.function(), cu::kFuncAttrMaxDynamicSharedSizeBytes,
                               static_cast<int>(p.smem_bytes)),
          "setting the dynamic shared-memory limit to " + std::to_string(p.smem_bytes) + " bytes");
  cu::LaunchAttribute attr{};
  attr.id = cu::kLaunchAttrClusterDimension;
  attr.value.cluster_dim = {c, 1, 1};
  cu::LaunchConfig cfg{c,
                       1,
                       1,
                       static_cast<unsigned>(p.threads),
                       1,
                       1,
                       static_cast<unsigned>(p.smem_bytes),
                       nullptr,
                       &attr,
                       1};
  int clusters = 0;
  d.check(d.cuOccupancyMaxActiveClusters(&clusters, m.function(), &cfg),
          "cuOccupancyMaxActiveClusters");
  return clusters > 0 ? clusters * static_cast<int>(c) : dev.sm_count();
}

void launch(const Device& dev, const Module& m, const LaunchPlan& p, KernelArgs& args,
            cu::Stream stream) {
  if (p.blocks == 0) return;
  const Driver& d = dev.driver();
  d.check(d.cuFuncSetAttribute(m.function(), cu::kFuncAttrMaxDynamicSharedSizeBytes,
                               static_cast<int>(p.smem_bytes)),
          "setting the dynamic shared-memory limit to " + std::to_string(p.smem_bytes) + " bytes");
  const unsigned blocks = static_cast<unsigned>(p.blocks);
  const unsigned threads = static_cast<unsigned>(p.threads);
  const unsigned smem = static_cast<unsigned>(p.smem_bytes);
  if (p.cluster_x * p.cluster_y > 1) {
    if (!d.cuLaunchKernelEx)
      throw Error("launching with clusters needs cuLaunchKernelEx (a CUDA 12.0 driver or newer)");
    cu::LaunchAttribute attr{};
    attr.id = cu::kLaunchAttrClusterDimension;
    attr.value.cluster_dim = {p.cluster_x * p.cluster_y, 1, 1};
    cu::LaunchConfig cfg{blocks, 1, 1, threads, 1, 1, smem, stream, &attr, 1};
    d.check(d.cuLaunchKernelEx(&cfg, m.function(), args.data(), nullptr), "cuLaunchKernelEx");
    return;
  }
  d.check(d.cuLaunchKernel(m.function(), blocks, 1, 1, threads, 1, 1, smem, stream, args.data(),
                           nullptr),
          "cuLaunchKernel");
}

} // namespace grove::runtime
