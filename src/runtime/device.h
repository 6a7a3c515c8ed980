// A GPU, its memory and loaded modules, through the run-time-loaded driver (driver.h).
#pragma once
#include <memory>
#include <string>

#include "runtime/compile.h"
#include "runtime/driver.h"

namespace grove::runtime {

class Device {
public:
  // Opens GPU `ordinal` and makes its primary context current. Throws Error without a driver, a
  // device, or when the device is not Hopper (sm_90).
  static Device open(int ordinal = 0);
  ~Device();
  Device(Device&& o) noexcept;
  Device& operator=(Device&&) = delete;
  Device(const Device&) = delete;

  const Driver& driver() const { return *d_; }
  const std::string& name() const { return name_; }
  int cc_major() const { return major_; }
  int cc_minor() const { return minor_; }
  int sm_count() const { return sms_; }
  int driver_version() const { return version_; } // e.g. 12080
  int l2_bytes() const { return l2_bytes_; }
  int ordinal() const { return ordinal_; }
  void synchronize() const;
  // Makes the device's primary context current on the calling thread (each thread has its own).
  void make_current() const;

private:
  Device() = default;
  const Driver* d_ = nullptr;
  cu::Device dev_ = 0;
  cu::Context ctx_ = nullptr;
  std::string name_;
  int major_ = 0, minor_ = 0, sms_ = 0, version_ = 0, l2_bytes_ = 0, ordinal_ = 0;
};

// Device memory, freed on destruction.
class DeviceBuffer {
public:
  DeviceBuffer(const Device& dev, size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  cu::DevicePtr ptr() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  void upload(const void* src, size_t n);
  void download(void* dst, size_t n) const;

private:
  const Driver* d_;
  cu::DevicePtr ptr_ = 0;
  size_t bytes_;
};

// Caller-owned memory, as the driver describes the address `p`.
struct PointerInfo {
  int ordinal = 0;          // the GPU it was allocated on
  uint64_t range_start = 0; // the allocation holding it (0 bytes: the driver did not say)
  uint64_t range_bytes = 0;
};
// Throws Error naming `what` (e.g. "the array for tensor 'A'") when `p` is not GPU memory: host
// memory, or an address the driver does not know.
PointerInfo pointer_info(const Driver& d, cu::DevicePtr p, const std::string& what);

// A loaded CUBIN and its kernel.
class Module {
public:
  Module(const Device& dev, const Cubin& cubin);
  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  cu::Function function() const { return fn_; }

private:
  const Driver* d_;
  cu::Module mod_ = nullptr;
  cu::Function fn_ = nullptr;
};

} // namespace grove::runtime
