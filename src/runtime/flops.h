// Tensor-core work of a kernel as issued: 2·M·N·K per wgmma, over every block, loop iteration and
// consumer warpgroup, with the sizes bound. Ragged edge tiles count whole (the work the hardware
// does), so for TFLOP/s against a vendor library prefer the problem's nominal count (2·M·N·K for
// a GEMM), which `grove bench --flops` takes.
#pragma once
#include <map>
#include <string>

#include "kernel/kir.h"

namespace grove::runtime {

double mma_flops(const kir::Kernel& k, const std::map<std::string, int64_t>& sizes);

} // namespace grove::runtime
