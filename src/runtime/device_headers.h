// The device headers the printed CUDA includes (src/cuda/grove_sm90.cuh and the .inc it pulls
// in), compiled into the library at build time so NVRTC needs no include path at run time.
#pragma once
#include <string_view>
#include <vector>

namespace grove::runtime {

struct DeviceHeader {
  const char* name; // as the printed code #includes it
  std::string_view text;
};

const std::vector<DeviceHeader>& device_headers();

} // namespace grove::runtime
