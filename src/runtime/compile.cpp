#include "runtime/compile.h"

#include <chrono>

#include "cuda/print_cuda.h"
#include "runtime/cache.h"
#include "runtime/device_headers.h"
#include "runtime/nvrtc.h"

namespace grove::runtime {

std::vector<std::string> nvrtc_options(const CompileOptions& opts) {
  std::vector<std::string> o = {"--gpu-architecture=" + opts.arch, "-std=c++17",
                                "--ptxas-options=-v"};
  if (opts.line_info) o.push_back("-lineinfo");
  if (opts.hang_trap) o.push_back("-DGROVE_HANG_TRAP");
  return o;
}

Cubin compile_source(const std::string& source, const std::string& symbol, const std::string& stem,
                     const CompileOptions& opts) {
  auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  const Nvrtc& nvrtc = Nvrtc::get();
  std::vector<std::string> options = nvrtc_options(opts);
  std::string version = std::to_string(nvrtc.major) + "." + std::to_string(nvrtc.minor);
  std::vector<std::string_view> parts = {source, version, opts.arch};
  for (const std::string& o : options) parts.push_back(o);
  std::vector<Nvrtc::Header> headers;
  for (const DeviceHeader& h : device_headers()) {
    headers.push_back({h.name, h.text});
    parts.push_back(h.name);
    parts.push_back(h.text);
  }
  Cubin c;
  c.symbol = symbol;
  KernelCache cache(opts.cache_dir.empty() ? default_cache_dir() : opts.cache_dir);
  std::string key = hash_key(parts);
  c.cache_path = cache.path(stem, key);
  if (opts.use_cache) {
    if (std::optional<CacheEntry> hit = cache.load(stem, key)) {
      c.image = std::move(hit->image);
      c.log = std::move(hit->log);
      c.ptxas = parse_ptxas_report(c.log, symbol);
      c.cache_hit = true;
      c.seconds = elapsed();
      return c;
    }
  }
  c.image = nvrtc.compile_cubin(source, stem + ".cu", headers, options, &c.log);
  c.ptxas = parse_ptxas_report(c.log, symbol);
  if (opts.use_cache) cache.store(stem, key, {c.image, c.log});
  c.seconds = elapsed();
  return c;
}

Cubin compile(const kir::Kernel& k, const CompileOptions& opts) {
  return compile_source(cuda::print_cuda(k), cuda::kernel_symbol(k), cuda::kernel_symbol(k), opts);
}

} // namespace grove::runtime
