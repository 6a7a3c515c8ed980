// The CUDA back end: prints a kernel IR kernel as one CUDA C++ translation unit for sm_90a.
//
// The unit holds the kernel (`extern "C" __global__`, named <kernel>_kernel) written against
// the device header grove_sm90.cuh, and, outside NVRTC (#ifndef __CUDACC_RTC__), a host launch
// function <kernel>_launch that builds the TMA tensor maps, sets the dynamic shared-memory limit
// and launches one block per grid point:
//
//   extern "C" cudaError_t <kernel>_launch(<one void* per global tensor, const when only read>,
//                                          <one int per size variable>,
//                                          <one float per float parameter>, cudaStream_t stream);
//
// Compile it with the include path of src/cuda, e.g.
//   nvcc -gencode arch=compute_90a,code=sm_90a -I src/cuda -c gemm.cu
// Kernel IR the back end cannot print (a layout no fragment loop covers, e4m3 data) raises
// GroveError naming the op. Mapping options it does not implement yet (persistent grids, clusters)
// are not silently dropped: `unhonoured_options` lists them, the printed code says so at the top,
// and `grove build` warns.
#pragma once
#include <string>
#include <vector>

#include "kernel/kir.h"

namespace grove::cuda {

std::string print_cuda(const kir::Kernel& k);
std::vector<std::string> unhonoured_options(const kir::Kernel& k);

std::string kernel_symbol(const kir::Kernel& k); // <kernel>_kernel
std::string launch_symbol(const kir::Kernel& k); // <kernel>_launch
// The launch function's parameters, and its declaration for a header (`grove build`).
std::vector<std::string> launch_params(const kir::Kernel& k);
std::string launch_declaration(const kir::Kernel& k);

// The TMA tensor maps the kernel takes (its last parameters, in this order): one per (global
// tensor, box, swizzle). The printed launcher encodes them; so does the runtime (src/runtime).
struct TensorMapSpec {
  int tensor = -1;          // index into Kernel::tensors
  std::vector<int64_t> box; // elements, full rank, outermost first (leading 1s select one index)
  kir::Swizzle swizzle = kir::Swizzle::None;
  std::string name; // the kernel parameter
};
std::vector<TensorMapSpec> tensor_maps(const kir::Kernel& k);

// Where the mbarriers start in the carve-up: after the buffers, 8-byte aligned.
int64_t barriers_offset(const kir::Kernel& k);
// Dynamic shared memory the launch asks for: the carve-up (buffers, then mbarriers) plus 1024
// bytes for alignment.
int64_t launch_smem_bytes(const kir::Kernel& k);

} // namespace grove::cuda
