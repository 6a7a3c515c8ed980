// The host side of a printed kernel: its launcher (tensor maps, shared-memory limit, grid and
// clusters; compiled by nvcc, not NVRTC) and the names and parameters the runtime and `grove
// build`'s header use. Part of the CUDA printer (printer.h).
#include "cuda/printer.h"

namespace grove::cuda {

namespace detail {

void Printer::launcher() {
  w_->line();
  w_->line("#ifndef __CUDACC_RTC__");
  w_->line("#include \"grove_sm90_host.cuh\"");
  w_->line();
  std::vector<std::string> params = launch_params(k_), args;
  for (const GlobalTensor& t : k_.tensors)
    args.push_back("static_cast<" + std::string(t.written ? "" : "const ") + storage_type(t.elem) +
                   "*>(" + sanitize(t.name) + ")");
  for (const std::string& v : k_.size_vars) args.push_back(v);
  for (const std::string& v : k_.float_params) args.push_back(sanitize(v));
  for (const TmaMap& m : maps_) args.push_back(m.name);
  w_->comment("Builds the tensor maps, sets the shared-memory limit and launches " +
              kernel_symbol(k_) + " on `stream`.");
  w_->line("extern \"C\" cudaError_t " + launch_symbol(k_) + "(");
  for (size_t i = 0; i < params.size(); ++i)
    w_->line("    " + params[i] + (i + 1 < params.size() ? "," : ") {"));
  w_->line("  cudaError_t err = cudaSuccess;");
  for (const TmaMap& m : maps_) {
    const GlobalTensor& t = k_.tensors.at(static_cast<size_t>(m.tensor));
    std::string dims;
    for (size_t i = 0; i < t.shape.size(); ++i)
      dims += (i ? ", " : "") + std::string("(long long)(") + c_expr(t.shape[i]) + ")";
    w_->line("  grove::TensorMap " + m.name + ";");
    w_->line("  {");
    w_->line("    const long long dims[] = {" + dims + "};");
    w_->line("    const int box[] = {" + dims_text(m.box, ", ") + "};");
    w_->line("    err = grove::encode_tensor_map(&" + m.name + ", " + sanitize(t.name) + ", " +
             tma_dtype(t.elem) + ", " + std::to_string(elem_bytes(t.elem)) + ", " +
             std::to_string(t.shape.size()) + ", dims, box, " +
             (m.swizzle == Swizzle::None
                  ? std::string("CU_TENSOR_MAP_SWIZZLE_NONE")
                  : "CU_TENSOR_MAP_SWIZZLE_" + std::to_string(swizzle_bytes(m.swizzle)) + "B") +
             ");");
    w_->line("    if (err != cudaSuccess) return err;");
    w_->line("  }");
  }
  if (k_.tiles && !k_.persistent) {
    // Clusters without persistence: every group of tiles at once, one per cluster.
    w_->line("  const long long blocks = (long long)(" + c_expr(k_.tiles) + ") * " +
             std::to_string(std::max(1, k_.cluster)) + ";");
  } else if (k_.tiles) {
    // At most one block per SM; each loops over its tiles.
    w_->line("  const long long tiles = (long long)(" + c_expr(k_.tiles) + ");");
    w_->line("  int device = 0, sms = 0;");
    w_->line("  err = cudaGetDevice(&device);");
    w_->line("  if (err != cudaSuccess) return err;");
    w_->line("  err = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);");
    w_->line("  if (err != cudaSuccess) return err;");
    if (k_.cluster > 1) {
      // Whole clusters of k_.cluster blocks; `tiles` counts their groups of tiles.
      const std::string c = std::to_string(k_.cluster);
      // As many clusters as can be resident at once (fewer than sms / c where a GPC has an odd
      // number of SMs), so no cluster waits for another to finish.
      w_->line("  int resident = sms / " + c + ";");
      w_->line("  {");
      w_->line("    err = cudaFuncSetAttribute(" + kernel_symbol(k_) +
               ", cudaFuncAttributeMaxDynamicSharedMemorySize, " +
               std::to_string(launch_smem_bytes(k_)) + ");");
      w_->line("    if (err != cudaSuccess) return err;");
      w_->line("    cudaLaunchConfig_t probe = {};");
      w_->line("    probe.gridDim = dim3(" + c + ");");
      w_->line("    probe.blockDim = dim3(" + std::to_string(k_.threads()) + ");");
      w_->line("    probe.dynamicSmemBytes = " + std::to_string(launch_smem_bytes(k_)) + ";");
      w_->line("    cudaLaunchAttribute dims[1];");
      w_->line("    dims[0].id = cudaLaunchAttributeClusterDimension;");
      w_->line("    dims[0].val.clusterDim.x = " + c + ";");
      w_->line("    dims[0].val.clusterDim.y = 1;");
      w_->line("    dims[0].val.clusterDim.z = 1;");
      w_->line("    probe.attrs = dims;");
      w_->line("    probe.numAttrs = 1;");
      w_->line("    int n = 0;");
      w_->line("    if (cudaOccupancyMaxActiveClusters(&n, " + kernel_symbol(k_) +
               ", &probe) != cudaSuccess)");
      w_->line("      (void)cudaGetLastError();  // no answer: keep sms / cluster size");
      w_->line("    else if (n > 0)");
      w_->line("      resident = n;");
      w_->line("  }");
      w_->line("  const long long clusters = tiles < resident ? tiles : resident;");
      w_->line("  const long long blocks = clusters * " + c + ";");
    } else {
      w_->line("  const long long blocks = tiles < sms ? tiles : sms;");
    }
  } else {
    std::string blocks = "1LL";
    for (const IExprP& g : k_.grid) blocks += " * (long long)(" + c_expr(g) + ")";
    w_->line("  const long long blocks = " + blocks + ";");
  }
  w_->line("  if (blocks <= 0) return cudaSuccess;");
  w_->line("  if (blocks > 0x7fffffffLL) return cudaErrorInvalidConfiguration;");
  w_->line("  const int smem_bytes = " + std::to_string(launch_smem_bytes(k_)) +
           ";  // the carve-up (buffers, mbarriers) + 1024 for alignment");
  w_->line("  err = cudaFuncSetAttribute(" + kernel_symbol(k_) +
           ", cudaFuncAttributeMaxDynamicSharedMemorySize, smem_bytes);");
  w_->line("  if (err != cudaSuccess) return err;");
  // cudaLaunchKernelEx for every kernel (not <<<>>>): plain C++ then compiles the launcher too.
  w_->line("  cudaLaunchConfig_t config = {};");
  w_->line("  config.gridDim = dim3(static_cast<unsigned>(blocks));");
  w_->line("  config.blockDim = dim3(" + std::to_string(k_.threads()) + ");");
  w_->line("  config.dynamicSmemBytes = smem_bytes;");
  w_->line("  config.stream = stream;");
  if (k_.cluster > 1) {
    w_->line("  cudaLaunchAttribute cluster[1];");
    w_->line("  cluster[0].id = cudaLaunchAttributeClusterDimension;");
    w_->line("  cluster[0].val.clusterDim.x = " + std::to_string(k_.cluster) + ";");
    w_->line("  cluster[0].val.clusterDim.y = 1;");
    w_->line("  cluster[0].val.clusterDim.z = 1;");
    w_->line("  config.attrs = cluster;");
    w_->line("  config.numAttrs = 1;");
  }
  w_->line("  err = cudaLaunchKernelEx(&config, " + kernel_symbol(k_) + ",");
  for (size_t i = 0; i < args.size(); ++i)
    w_->line("      " + args[i] + (i + 1 < args.size() ? "," : ");"));
  w_->line("  if (err != cudaSuccess) return err;");
  w_->line("  return cudaGetLastError();");
  w_->line("}");
  w_->line("#endif  // __CUDACC_RTC__");
}

} // namespace detail

using namespace kir;

std::vector<std::string> launch_params(const Kernel& k) {
  std::vector<std::string> params;
  for (const GlobalTensor& t : k.tensors)
    params.push_back(std::string(t.written ? "void* " : "const void* ") + sanitize(t.name));
  for (const std::string& v : k.size_vars) params.push_back("int " + v);
  for (const std::string& v : k.float_params) params.push_back("float " + sanitize(v));
  params.push_back("cudaStream_t stream");
  return params;
}

std::string launch_declaration(const Kernel& k) {
  std::string d = "extern \"C\" cudaError_t " + launch_symbol(k) + "(";
  std::vector<std::string> params = launch_params(k);
  for (size_t i = 0; i < params.size(); ++i) d += (i ? ", " : "") + params[i];
  return d + ");";
}

std::string kernel_symbol(const Kernel& k) {
  return sanitize(k.name) + "_kernel";
}

std::string launch_symbol(const Kernel& k) {
  return sanitize(k.name) + "_launch";
}

int64_t barriers_offset(const Kernel& k) {
  return (k.smem_bytes + 7) / 8 * 8;
}

int64_t launch_smem_bytes(const Kernel& k) {
  int64_t barriers = 0;
  for (const Barrier& b : k.barriers) barriers += 8 * b.slots;
  return barriers_offset(k) + barriers + 1024;
}

std::vector<TensorMapSpec> tensor_maps(const Kernel& k) {
  return detail::Printer(k).maps();
}

} // namespace grove::cuda
