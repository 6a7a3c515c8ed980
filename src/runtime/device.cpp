#include "runtime/device.h"

namespace grove::runtime {

Device Device::open(int ordinal) {
  const Driver& d = Driver::get();
  int count = 0;
  d.check(d.cuDeviceGetCount(&count), "cuDeviceGetCount");
  if (count == 0)
    throw Error("the CUDA driver sees no GPU",
                "check nvidia-smi and CUDA_VISIBLE_DEVICES; without a GPU, run on the CPU (the "
                "interpreter or the emulator)");
  if (ordinal < 0 || ordinal >= count)
    throw Error("no GPU " + std::to_string(ordinal) + ": the driver sees " + std::to_string(count));
  Device dev;
  dev.d_ = &d;
  dev.ordinal_ = ordinal;
  d.check(d.cuDeviceGet(&dev.dev_, ordinal), "cuDeviceGet");
  char name[256] = {};
  d.check(d.cuDeviceGetName(name, sizeof name, dev.dev_), "cuDeviceGetName");
  dev.name_ = name;
  d.check(d.cuDeviceGetAttribute(&dev.major_, cu::kAttrComputeCapabilityMajor, dev.dev_),
          "cuDeviceGetAttribute");
  d.check(d.cuDeviceGetAttribute(&dev.minor_, cu::kAttrComputeCapabilityMinor, dev.dev_),
          "cuDeviceGetAttribute");
  d.check(d.cuDeviceGetAttribute(&dev.sms_, cu::kAttrMultiprocessorCount, dev.dev_),
          "cuDeviceGetAttribute");
  d.check(d.cuDeviceGetAttribute(&dev.l2_bytes_, cu::kAttrL2CacheSize, dev.dev_),
          "cuDeviceGetAttribute");
  d.check(d.cuDriverGetVersion(&dev.version_), "cuDriverGetVersion");
  if (dev.major_ != 9 || dev.minor_ != 0)
    throw Error("GPU " + std::to_string(ordinal) + " (" + dev.name_ + ") is sm_" +
                    std::to_string(dev.major_) + std::to_string(dev.minor_) +
                    "; Grove's kernels need Hopper (sm_90: H100, H200) for TMA and WGMMA",
                "run on an H100/H200, or without --gpu to use the CPU interpreter");
  d.check(d.cuDevicePrimaryCtxRetain(&dev.ctx_, dev.dev_), "cuDevicePrimaryCtxRetain");
  d.check(d.cuCtxSetCurrent(dev.ctx_), "cuCtxSetCurrent");
  return dev;
}

Device::Device(Device&& o) noexcept
    : d_(o.d_), dev_(o.dev_), ctx_(o.ctx_), name_(std::move(o.name_)), major_(o.major_),
      minor_(o.minor_), sms_(o.sms_), version_(o.version_), l2_bytes_(o.l2_bytes_),
      ordinal_(o.ordinal_) {
  o.ctx_ = nullptr;
}

Device::~Device() {
  if (ctx_) d_->cuDevicePrimaryCtxRelease(dev_);
}

void Device::make_current() const {
  d_->check(d_->cuCtxSetCurrent(ctx_), "cuCtxSetCurrent");
}

void Device::synchronize() const {
  d_->check(d_->cuCtxSynchronize(), "running the kernels (cuCtxSynchronize)");
}

PointerInfo pointer_info(const Driver& d, cu::DevicePtr p, const std::string& what) {
  const std::string hint = "pass GPU memory (e.g. a CUDA tensor's data pointer); for arrays in "
                           "host memory use run() with the gpu target, which copies them";
  unsigned type = 0;
  if (d.cuPointerGetAttribute(&type, cu::kPointerAttrMemoryType, p) != cu::kSuccess)
    throw Error(what + " is not GPU memory: the CUDA driver does not know its address", hint);
  if (type != cu::kMemoryTypeDevice && type != cu::kMemoryTypeUnified)
    throw Error(what + " is host memory, not GPU memory", hint);
  PointerInfo info;
  d.check(d.cuPointerGetAttribute(&info.ordinal, cu::kPointerAttrDeviceOrdinal, p),
          "asking the driver which GPU holds " + what);
  cu::DevicePtr start = 0;
  size_t bytes = 0;
  if (d.cuPointerGetAttribute(&start, cu::kPointerAttrRangeStartAddr, p) == cu::kSuccess &&
      d.cuPointerGetAttribute(&bytes, cu::kPointerAttrRangeSize, p) == cu::kSuccess) {
    info.range_start = start;
    info.range_bytes = bytes;
  }
  return info;
}

DeviceBuffer::DeviceBuffer(const Device& dev, size_t bytes) : d_(&dev.driver()), bytes_(bytes) {
  // Never zero bytes: the driver refuses them.
  d_->check(d_->cuMemAlloc(&ptr_, bytes ? bytes : 16),
            "cuMemAlloc of " + std::to_string(bytes) + " bytes");
}

DeviceBuffer::~DeviceBuffer() {
  if (ptr_) d_->cuMemFree(ptr_);
}

void DeviceBuffer::upload(const void* src, size_t n) {
  if (n) d_->check(d_->cuMemcpyHtoD(ptr_, src, n), "cuMemcpyHtoD");
}

void DeviceBuffer::download(void* dst, size_t n) const {
  if (n) d_->check(d_->cuMemcpyDtoH(dst, ptr_, n), "cuMemcpyDtoH");
}

Module::Module(const Device& dev, const Cubin& cubin) : d_(&dev.driver()) {
  d_->check(d_->cuModuleLoadData(&mod_, cubin.image.data()),
            "loading the CUBIN of " + cubin.symbol + " (cuModuleLoadData)");
  d_->check(d_->cuModuleGetFunction(&fn_, mod_, cubin.symbol.c_str()),
            "finding " + cubin.symbol + " in its CUBIN");
}

Module::~Module() {
  if (mod_) d_->cuModuleUnload(mod_);
}

} // namespace grove::runtime
