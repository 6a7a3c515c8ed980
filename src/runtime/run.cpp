#include "runtime/run.h"

#include <algorithm>
#include <cstring>

namespace grove::runtime {

double GpuRunReport::median_ms() const {
  if (times_ms.empty()) return 0;
  std::vector<double> t = times_ms;
  std::sort(t.begin(), t.end());
  size_t n = t.size();
  return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

std::vector<unsigned char> to_storage(const Buffer& b) {
  const size_t eb = static_cast<size_t>(elem_bytes(b.elem));
  std::vector<unsigned char> out(b.data.size() * eb);
  for (size_t i = 0; i < b.data.size(); ++i) {
    float f = static_cast<float>(b.data[i]);
    uint16_t h = 0;
    switch (b.elem) {
    case ElemType::F32:
      std::memcpy(&out[i * 4], &f, 4);
      continue;
    case ElemType::F16:
      h = f32_to_f16_bits(f);
      break;
    case ElemType::BF16:
      h = f32_to_bf16_bits(f);
      break;
    case ElemType::E4M3:
      throw Error("tensor '" + b.name + "' is e4m3, which the GPU runtime does not move yet");
    }
    std::memcpy(&out[i * 2], &h, 2);
  }
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
    uint16_t h;
    std::memcpy(&h, &bytes[i * 2], 2);
    b.data[i] = b.elem == ElemType::F16 ? f16_bits_to_f32(h) : bf16_bits_to_f32(h);
  }
}

GpuRunReport run_on_gpu(const std::vector<kir::Kernel>& kernels,
                        std::map<std::string, std::shared_ptr<Buffer>>& tensors,
                        const std::map<std::string, int64_t>& sizes,
                        const std::map<std::string, double>& floats, const GpuRunOptions& opts) {
  Device dev = Device::open(0); // first, so a machine without a GPU says so before compiling
  const Driver& d = dev.driver();
  GpuRunReport rep;
  rep.device = dev.name() + " (sm_" + std::to_string(dev.cc_major()) +
               std::to_string(dev.cc_minor()) + ", " + std::to_string(dev.sm_count()) +
               " SMs, driver " + std::to_string(dev.driver_version()) + ")";

  // Device buffers for every tensor a kernel names, uploaded once.
  std::map<std::string, std::unique_ptr<DeviceBuffer>> bufs;
  std::map<std::string, cu::DevicePtr> ptrs;
  std::map<std::string, bool> written;
  for (const kir::Kernel& k : kernels)
    for (const kir::GlobalTensor& t : k.tensors) {
      written[t.name] = written[t.name] || t.written;
      if (bufs.count(t.name)) continue;
      auto it = tensors.find(t.name);
      if (it == tensors.end())
        throw Error("kernel '" + k.name + "' uses tensor '" + t.name + "', which is not given");
      std::vector<unsigned char> host = to_storage(*it->second);
      auto buf = std::make_unique<DeviceBuffer>(dev, host.size());
      buf->upload(host.data(), host.size());
      ptrs[t.name] = buf->ptr();
      bufs[t.name] = std::move(buf);
    }

  std::vector<std::unique_ptr<Module>> modules;
  std::vector<std::unique_ptr<KernelArgs>> args;
  for (const kir::Kernel& k : kernels) {
    KernelRun kr;
    kr.name = k.name;
    kr.cubin = compile(k, opts.compile);
    kr.plan = plan_launch(k, sizes, dev.sm_count());
    modules.push_back(std::make_unique<Module>(dev, kr.cubin));
    if (kr.plan.cluster_x > 1) // whole clusters that can all be resident at once
      kr.plan = plan_launch(k, sizes, resident_blocks(dev, *modules.back(), kr.plan));
    args.push_back(std::make_unique<KernelArgs>(dev, k, ptrs, sizes, floats));
    kr.cubin.image.clear();
    rep.kernels.push_back(std::move(kr));
  }
  auto run_all = [&] {
    for (size_t i = 0; i < kernels.size(); ++i)
      launch(dev, *modules[i], rep.kernels[i].plan, *args[i]);
  };
  run_all();
  dev.synchronize();
  for (auto& [name, buf] : bufs) {
    if (!written[name]) continue;
    std::vector<unsigned char> host(buf->bytes());
    buf->download(host.data(), host.size());
    from_storage(host, *tensors.at(name));
  }

  if (opts.iters > 0) {
    for (int i = 0; i < opts.warmup; ++i) run_all();
    cu::Event start = nullptr, stop = nullptr;
    d.check(d.cuEventCreate(&start, 0), "cuEventCreate");
    d.check(d.cuEventCreate(&stop, 0), "cuEventCreate");
    for (int i = 0; i < opts.iters; ++i) {
      d.check(d.cuEventRecord(start, nullptr), "cuEventRecord");
      run_all();
      d.check(d.cuEventRecord(stop, nullptr), "cuEventRecord");
      d.check(d.cuEventSynchronize(stop), "running the kernels (cuEventSynchronize)");
      float ms = 0;
      d.check(d.cuEventElapsedTime(&ms, start, stop), "cuEventElapsedTime");
      rep.times_ms.push_back(ms);
    }
    d.cuEventDestroy(start);
    d.cuEventDestroy(stop);
  }
  return rep;
}

} // namespace grove::runtime
