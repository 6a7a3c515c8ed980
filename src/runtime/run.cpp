#include "runtime/run.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace grove::runtime {

double GpuRunReport::median_ms() const {
  if (times_ms.empty()) return 0;
  std::vector<double> t = times_ms;
  std::sort(t.begin(), t.end());
  size_t n = t.size();
  return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

namespace {

// One value into storage of type `elem` at `dst` (f32: 4 bytes, f16/bf16: 2, e4m3/e5m2: 1, rounded
// to nearest).
void store_value(ElemType elem, float f, unsigned char* dst) {
  uint16_t h = 0;
  switch (elem) {
  case ElemType::F32:
    std::memcpy(dst, &f, 4);
    return;
  case ElemType::F16:
    h = f32_to_f16_bits(f);
    break;
  case ElemType::BF16:
    h = f32_to_bf16_bits(f);
    break;
  case ElemType::E4M3:
    *dst = f32_to_e4m3_bits(f);
    return;
  case ElemType::E5M2:
    *dst = f32_to_e5m2_bits(f);
    return;
  }
  std::memcpy(dst, &h, 2);
}

} // namespace

std::vector<unsigned char> pad_rows(const std::vector<unsigned char>& dense, size_t row_bytes,
                                    size_t pitch_bytes) {
  if (row_bytes == pitch_bytes || row_bytes == 0) return dense;
  size_t rows = dense.size() / row_bytes;
  std::vector<unsigned char> out(rows * pitch_bytes, 0);
  for (size_t r = 0; r < rows; ++r)
    std::copy_n(dense.begin() + static_cast<long>(r * row_bytes), row_bytes,
                out.begin() + static_cast<long>(r * pitch_bytes));
  return out;
}

std::vector<unsigned char> unpad_rows(const std::vector<unsigned char>& padded, size_t row_bytes,
                                      size_t pitch_bytes) {
  if (row_bytes == pitch_bytes || pitch_bytes == 0) return padded;
  size_t rows = padded.size() / pitch_bytes;
  std::vector<unsigned char> out(rows * row_bytes);
  for (size_t r = 0; r < rows; ++r)
    std::copy_n(padded.begin() + static_cast<long>(r * pitch_bytes), row_bytes,
                out.begin() + static_cast<long>(r * row_bytes));
  return out;
}

std::vector<unsigned char> to_storage(const Buffer& b) {
  const size_t eb = static_cast<size_t>(elem_bytes(b.elem));
  std::vector<unsigned char> out(b.data.size() * eb);
  for (size_t i = 0; i < b.data.size(); ++i)
    store_value(b.elem, static_cast<float>(b.data[i]), &out[i * eb]);
  return out;
}

void from_storage(const std::vector<unsigned char>& bytes, Buffer& b) {
  for (size_t i = 0; i < b.data.size(); ++i) {
    if (b.elem == ElemType::F32) {
      float f;
      std::memcpy(&f, &bytes[i * 4], 4);
      b.data[i] = f;
      continue;
    }
    if (is_fp8(b.elem)) {
      b.data[i] =
          b.elem == ElemType::E4M3 ? e4m3_bits_to_f32(bytes[i]) : e5m2_bits_to_f32(bytes[i]);
      continue;
    }
    uint16_t h;
    std::memcpy(&h, &bytes[i * 2], 2);
    b.data[i] = b.elem == ElemType::F16 ? f16_bits_to_f32(h) : bf16_bits_to_f32(h);
  }
}

namespace {

std::string describe(const Device& dev) {
  return dev.name() + " (sm_" + std::to_string(dev.cc_major()) + std::to_string(dev.cc_minor()) +
         ", " + std::to_string(dev.sm_count()) + " SMs, driver " +
         std::to_string(dev.driver_version()) + ")";
}

// n values uniform in [-1, 1), stored as `elem`, straight into bytes: a 16384 x 16384 operand is
// 268M values, too many to go through a Buffer of doubles.
std::vector<unsigned char> random_storage(ElemType elem, size_t n, uint64_t& state) {
  const size_t eb = static_cast<size_t>(elem_bytes(elem));
  std::vector<unsigned char> out(n * eb);
  for (size_t i = 0; i < n; ++i) {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17; // xorshift64
    const float f = static_cast<float>(static_cast<int64_t>(state >> 40) - (1 << 23)) / (1 << 23);
    store_value(elem, f, &out[i * eb]);
  }
  return out;
}

// Every tensor the kernels name, with whether any kernel writes it, in first-use order.
std::vector<const kir::GlobalTensor*> tensors_of(const std::vector<kir::Kernel>& kernels,
                                                 std::map<std::string, bool>& written) {
  std::vector<const kir::GlobalTensor*> out;
  for (const kir::Kernel& k : kernels)
    for (const kir::GlobalTensor& t : k.tensors) {
      if (!written.count(t.name)) out.push_back(&t);
      written[t.name] = written[t.name] || t.written;
    }
  return out;
}

} // namespace

std::pair<size_t, size_t> row_bytes(const kir::GlobalTensor& t,
                                    const std::map<std::string, int64_t>& sizes) {
  size_t eb = static_cast<size_t>(elem_bytes(t.elem));
  return {eb * static_cast<size_t>(kir::eval(*t.shape.back(), sizes)),
          eb * static_cast<size_t>(kir::eval(*kir::row_pitch(t), sizes))};
}

GpuRunReport run_on_gpu(const std::vector<kir::Kernel>& kernels,
                        std::map<std::string, std::shared_ptr<Buffer>>& tensors,
                        const std::map<std::string, int64_t>& sizes,
                        const std::map<std::string, double>& floats, const CompileOptions& copts) {
  Device dev = Device::open(0); // first, so a machine without a GPU says so before compiling
  GpuRunReport rep;
  rep.device = describe(dev);

  // Device buffers for every tensor a kernel names, uploaded once.
  std::map<std::string, std::unique_ptr<DeviceBuffer>> bufs;
  std::map<std::string, cu::DevicePtr> ptrs;
  std::map<std::string, bool> written;
  const std::vector<const kir::GlobalTensor*> used = tensors_of(kernels, written);
  for (const kir::GlobalTensor* t : used) {
    auto it = tensors.find(t->name);
    std::vector<unsigned char> host;
    if (it != tensors.end()) {
      auto [row, pitch] = row_bytes(*t, sizes);
      host = pad_rows(to_storage(*it->second), row, pitch);
    } else if (t->temporary) {
      host.assign(device_bytes(*t, sizes), 0xff); // NaN in every float type: a read before the
                                                  // write that should come first shows
    } else {
      throw Error("the kernels use tensor '" + t->name + "', which is not given");
    }
    auto buf = std::make_unique<DeviceBuffer>(dev, host.size());
    buf->upload(host.data(), host.size());
    ptrs[t->name] = buf->ptr();
    bufs[t->name] = std::move(buf);
  }

  LoadedKernels loaded(dev, kernels, sizes, copts);
  rep.kernels = loaded.runs();
  for (size_t i = 0; i < kernels.size(); ++i) {
    std::unique_ptr<KernelArgs> args = loaded.args(i, ptrs, sizes, floats);
    loaded.launch(i, rep.kernels[i].plan, *args);
    try {
      dev.synchronize(); // before `args` (its tensor maps) goes
    } catch (const Error& e) {
      throw Error("kernel '" + kernels[i].name + "': " + e.what(),
                  copts.hang_trap ? "a kernel that waits about 10 s on an mbarrier traps "
                                    "(GROVE_HANG_TRAP): a hang. `grove run FILE --emulate "
                                    "--check` runs the kernels on the CPU and names what "
                                    "never arrives"
                                  : e.hint);
    }
  }
  for (const kir::GlobalTensor* t : used) { // (tensors_of lists only names not yet in `written`)
    if (!written[t->name] || !tensors.count(t->name)) continue; // temporaries stay on the GPU
    const DeviceBuffer& buf = *bufs.at(t->name);
    std::vector<unsigned char> host(buf.bytes());
    buf.download(host.data(), host.size());
    auto [row, pitch] = row_bytes(*t, sizes);
    from_storage(unpad_rows(host, row, pitch), *tensors.at(t->name));
  }
  return rep;
}

GpuRunReport bench_on_gpu(const std::vector<kir::Kernel>& kernels,
                          const std::map<std::string, int64_t>& sizes,
                          const std::map<std::string, double>& floats, const BenchOptions& opts) {
  Device dev = Device::open(0);
  GpuRunReport rep;
  rep.device = describe(dev);

  // One random image per tensor (uniform in [-1, 1), stored as its element type), uploaded to
  // every copy: the copies differ in address, which is what defeats the L2.
  std::map<std::string, bool> written;
  std::vector<const kir::GlobalTensor*> tensors = tensors_of(kernels, written);
  std::vector<std::vector<unsigned char>> images;
  size_t set_bytes = 0;
  uint64_t state = opts.seed * 0x9E3779B97F4A7C15ULL + 1;
  for (const kir::GlobalTensor* t : tensors) {
    // Padded rows (the padding is never read); temporaries too, like any buffer of the set.
    const size_t n = device_bytes(*t, sizes) / static_cast<size_t>(elem_bytes(t->elem));
    images.push_back(random_storage(t->elem, n, state));
    set_bytes += images.back().size();
  }
  const double want = opts.rotate_bytes > 0 ? opts.rotate_bytes : 2.0 * dev.l2_bytes();
  rep.copies = static_cast<int>(std::clamp(std::ceil(want / std::max<double>(1, set_bytes)), 1.0,
                                           static_cast<double>(std::max(1, opts.max_copies))));
  rep.set_bytes = set_bytes;

  std::vector<std::unique_ptr<DeviceBuffer>> bufs;
  std::vector<std::map<std::string, cu::DevicePtr>> ptrs(static_cast<size_t>(rep.copies));
  for (auto& copy : ptrs)
    for (size_t i = 0; i < tensors.size(); ++i) {
      bufs.push_back(std::make_unique<DeviceBuffer>(dev, images[i].size()));
      bufs.back()->upload(images[i].data(), images[i].size());
      copy[tensors[i]->name] = bufs.back()->ptr();
    }
  images.clear();

  LoadedKernels loaded(dev, kernels, sizes, opts.compile);
  rep.kernels = loaded.runs();
  std::vector<std::vector<std::unique_ptr<KernelArgs>>> args(ptrs.size());
  for (size_t c = 0; c < ptrs.size(); ++c)
    for (size_t k = 0; k < kernels.size(); ++k)
      args[c].push_back(loaded.args(k, ptrs[c], sizes, floats));
  auto run_all = [&](int i) {
    auto& a = args[static_cast<size_t>(i % rep.copies)];
    for (size_t k = 0; k < kernels.size(); ++k) loaded.launch(k, rep.kernels[k].plan, *a[k]);
  };

  const Driver& d = dev.driver();
  for (int i = 0; i < opts.warmup; ++i) run_all(i);
  dev.synchronize();
  cu::Event start = nullptr, stop = nullptr;
  d.check(d.cuEventCreate(&start, 0), "cuEventCreate");
  d.check(d.cuEventCreate(&stop, 0), "cuEventCreate");
  for (int i = 0; i < opts.iters; ++i) {
    d.check(d.cuEventRecord(start, nullptr), "cuEventRecord");
    run_all(opts.warmup + i);
    d.check(d.cuEventRecord(stop, nullptr), "cuEventRecord");
    d.check(d.cuEventSynchronize(stop), "running the kernels (cuEventSynchronize)");
    float ms = 0;
    d.check(d.cuEventElapsedTime(&ms, start, stop), "cuEventElapsedTime");
    rep.times_ms.push_back(ms);
  }
  d.cuEventDestroy(start);
  d.cuEventDestroy(stop);
  return rep;
}

} // namespace grove::runtime
