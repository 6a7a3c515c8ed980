// Program::launch: the mapping's kernels on GPU memory the caller owns, with no copies. Every
// check of the arrays that needs no GPU (names, shapes, element types, layouts, alignment) comes
// first, so a mistake reads the same on a machine without one; then the driver says where the
// memory is, and the kernels are compiled and loaded once per GPU, mapping and set of sizes.
#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "api/api_util.h"
#include "runtime/run.h"

namespace grove::api {

namespace {

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

std::string strides_str(const std::vector<int64_t>& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + (s.size() == 1 ? ",)" : ")");
}

std::optional<DType> dtype_for(ElemType e) {
  switch (e) {
  case ElemType::F16:
    return DType::F16;
  case ElemType::BF16:
    return DType::BF16;
  case ElemType::F32:
    return DType::F32;
  case ElemType::E4M3:
    return DType::E4M3;
  case ElemType::E5M2:
    return DType::E5M2;
  }
  return std::nullopt;
}

// The strides (in elements) the kernels address tensor `t` with, and the bytes from its first
// element to one past its last; `own` when they are the caller's (a tensor reached only by TMA).
struct Layout {
  std::vector<int64_t> strides;
  uint64_t bytes = 0;
  bool own = false;
};
uint64_t span_bytes(const std::vector<int64_t>& strides, const std::vector<int64_t>& extents,
                    int64_t elem_bytes) {
  int64_t last = 0; // offset of the last element
  for (size_t d = 0; d < extents.size(); ++d) {
    if (extents[d] == 0) return 0;
    last += (extents[d] - 1) * strides[d];
  }
  return static_cast<uint64_t>((last + 1) * elem_bytes);
}
Layout layout_of(const kir::GlobalTensor& t, const std::map<std::string, int64_t>& sizes) {
  Layout l;
  const size_t rank = t.shape.size();
  l.strides.assign(rank, 1);
  std::vector<int64_t> extents;
  for (const kir::IExprP& e : t.shape) extents.push_back(kir::eval(*e, sizes));
  int64_t stride = kir::eval(*kir::row_pitch(t), sizes);
  for (size_t d = rank - 1; d-- > 0;) {
    l.strides[d] = stride;
    stride *= extents[d];
  }
  l.bytes = span_bytes(l.strides, extents, elem_bytes(t.elem));
  return l;
}

// Checks the array for tensor `t` against what the kernels expect of it; returns its layout.
// `by_tma`: the kernels reach the tensor only through TMA, so other strides will do (TMA's
// rules: the innermost dimension contiguous, the others multiples of 16 bytes).
Layout check_array(const kir::GlobalTensor& t, const DeviceArray& a,
                   const std::map<std::string, int64_t>& sizes, bool by_tma) {
  const std::string what = "the array for tensor '" + t.name + "'";
  std::optional<DType> want = dtype_for(t.elem);
  if (!want)
    fail("tensor '" + t.name + "' is " + elem_name(t.elem) + ", which launch() does not take yet");
  if (a.dtype != *want)
    fail("tensor '" + t.name + "' is " + elem_name(t.elem) + ", but its array holds " +
             dtype_name(a.dtype) + " elements",
         "launch() runs on the arrays where they are, without converting them: pass a " +
             std::string(elem_name(t.elem)) + " array (run() converts host arrays)");
  if (a.data % 16 != 0)
    fail(what + " starts at " + hex(a.data) + ", which is not a multiple of 16 bytes",
         "TMA copies need 16-byte-aligned tensors");
  Layout l = layout_of(t, sizes);
  const size_t rank = t.shape.size();
  const bool padded = rank >= 2 && l.strides[rank - 2] != a.shape.back();
  if (a.strides.empty() && padded) // dense rows would be read at the wrong places: say so
    fail(what + " has rows of " + std::to_string(a.shape.back()) + " " + elem_name(t.elem) +
             ", not a multiple of 16 bytes; the kernels address them " +
             std::to_string(l.strides[rank - 2]) + " elements apart",
         "allocate rows that long, pass a view of the first " + std::to_string(a.shape.back()) +
             " columns, and give its strides " + strides_str(l.strides));
  if (a.strides.empty()) return l;
  if (a.strides.size() != a.shape.size())
    fail(what + " has " + std::to_string(a.strides.size()) + " strides for " +
         std::to_string(a.shape.size()) + " dimensions");
  bool same = true;
  for (size_t d = 0; d < rank; ++d)
    same = same && (a.shape[d] <= 1 || a.strides[d] == l.strides[d]);
  if (same) return l;
  const std::string differ = what + " has strides " + strides_str(a.strides) +
                             " (elements), but the kernels address it with " +
                             strides_str(l.strides);
  if (!by_tma)
    fail(differ + ", reading or writing it element by element",
         padded ? "its rows must start " + std::to_string(l.strides[rank - 2]) +
                      " elements apart (a multiple of 16 bytes): allocate rows that long and "
                      "pass a view of the first " +
                      std::to_string(a.shape.back()) + " columns"
                : "pass a contiguous row-major array (e.g. a .contiguous() copy)");
  // Reached only by TMA: the tensor maps take the caller's strides, within TMA's rules, nested
  // (each dimension's stride spans the ones inside it) so no two elements share an address.
  const int64_t eb = elem_bytes(t.elem);
  if (a.shape.back() > 1 && a.strides.back() != 1)
    fail(differ + ", and TMA needs the innermost dimension contiguous",
         "pass a copy with the last dimension contiguous (e.g. .contiguous())");
  Layout own;
  own.strides = a.strides;
  own.strides.back() = 1;
  for (size_t d = rank - 1; d-- > 0;) {
    if (a.shape[d] <= 1) { // any stride serves a dimension of one: take the nested one
      own.strides[d] = own.strides[d + 1] * std::max<int64_t>(1, a.shape[d + 1]);
      if (own.strides[d] * eb % 16 != 0) own.strides[d] = l.strides[d];
      continue;
    }
    if (own.strides[d] * eb % 16 != 0)
      fail(differ + ", and its stride " + std::to_string(own.strides[d]) + " in dimension " +
               std::to_string(d) + " is " + std::to_string(own.strides[d] * eb) +
               " bytes, not a multiple of 16 as TMA needs",
           d + 2 == rank ? "its rows must start a multiple of 16 bytes apart (" +
                               std::to_string(l.strides[d]) +
                               " elements here): allocate rows that long and pass a view of "
                               "the first " +
                               std::to_string(a.shape.back()) + " columns"
                         : "pass a copy laid out row-major (e.g. .contiguous())");
    if (own.strides[d] < own.strides[d + 1] * a.shape[d + 1])
      fail(differ + ", which are not nested (dimension " + std::to_string(d) +
               " steps less than the dimensions inside it span)",
           "pass a row-major copy (e.g. .contiguous())");
  }
  own.bytes = span_bytes(own.strides, a.shape, eb);
  own.own = true;
  return own;
}

// The lowering a launch needs: the mapping, the sizes fixed into its kernels and those left
// dynamic.
std::string key_of(const std::string& mapping, const std::map<std::string, int64_t>& fixed,
                   const std::set<std::string>& dynamic) {
  std::string k = mapping;
  for (const auto& [name, v] : fixed) k += " " + name + "=" + std::to_string(v);
  for (const std::string& name : dynamic) k += " " + name + "=?";
  return k;
}

} // namespace

RunReport Program::launch(const std::map<std::string, DeviceArray>& arrays,
                          const LaunchConfig& cfg) const {
  const auto t0 = std::chrono::steady_clock::now();
  const MappingDecl& m = mapping_of(*l_, cfg.mapping);
  const TaskDecl& task = entry_of(*l_, m);
  RunReport report;
  report.mapping = m.name;
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& [name, a] : arrays) shapes[name] = a.shape;
  report.sizes = bind_sizes(m.name, shapes);
  const std::map<std::string, int64_t>& sizes = report.sizes;
  for (const auto& [name, a] : arrays)
    if (!a.data) fail("the array for tensor '" + name + "' has no data (address 0)");
  check_scalars(task, cfg.scalars);
  const std::map<std::string, double> scalars = reported(*l_, [&] { // defaults where absent
    return allocate_entry(task, sizes, cfg.scalars, m.loc, /*allocate=*/false).scalars;
  });

  std::map<std::string, int64_t> fixed = sizes;
  for (const std::string& name : cfg.dynamic)
    if (!fixed.erase(name))
      fail("'" + name + "' is not a size of task '" + task.name + "', so it cannot be dynamic",
           "its sizes are those its tensors' shapes name");

  std::lock_guard<std::mutex> lock(launches_->mu);
  const std::string key = key_of(m.name, fixed, cfg.dynamic);
  auto low = launches_->lowered.find(key);
  if (low == launches_->lowered.end()) {
    Lowering lowering;
    lowering.lowered = reported(*l_, [&] {
      lower::LowerOptions lo;
      lo.sizes = fixed;
      return lower::lower_mapping(l_->prog, m, lo);
    });
    for (const kir::Kernel& k : lowering.lowered.kernels)
      for (size_t i = 0; i < k.tensors.size(); ++i)
        if (!kir::tma_only(k, static_cast<int>(i))) lowering.element_wise.insert(k.tensors[i].name);
    low = launches_->lowered.emplace(key, std::move(lowering)).first;
  }
  const lower::Lowered& lowered = low->second.lowered;

  std::map<std::string, runtime::cu::DevicePtr> ptrs;
  std::map<std::string, Layout> layouts;
  // The caller's strides, for the tensors whose strides are not the kernels' layout.
  std::map<std::string, std::vector<int64_t>> own_strides;
  for (const kir::GlobalTensor& t : lowered.globals) {
    if (t.temporary) continue; // the runtime's own, allocated at each launch
    auto it = arrays.find(t.name);
    if (it == arrays.end()) fail("the kernels use tensor '" + t.name + "', which has no array");
    const bool by_tma = !low->second.element_wise.count(t.name);
    const Layout& l = layouts[t.name] = check_array(t, it->second, sizes, by_tma);
    if (l.own) own_strides[t.name] = l.strides;
    ptrs[t.name] = it->second.data;
  }
  // A tensor the kernels write must not share memory with another: they would read what they
  // have just written, or race with themselves.
  for (const kir::GlobalTensor& t : lowered.globals) {
    if (!t.written || t.temporary) continue;
    const uint64_t begin = ptrs[t.name], end = begin + layouts[t.name].bytes;
    for (const auto& [other, p] : ptrs)
      if (other != t.name && p < end && begin < p + layouts[other].bytes)
        fail("the arrays for tensors '" + t.name + "' and '" + other + "' overlap, and the " +
                 "kernels write '" + t.name + "'",
             "give the tensors the kernels write memory of their own");
  }

  reported(*l_, [&] {
    const runtime::Driver& d = runtime::Driver::get(); // no GPU: says so
    // The GPU is the first array's; every array must be on it and hold the bytes the kernels use.
    int ordinal = -1;
    std::string first;
    for (const auto& [name, a] : arrays) {
      const std::string what = "the array for tensor '" + name + "'";
      runtime::PointerInfo info = runtime::pointer_info(d, a.data, what);
      if (ordinal < 0) ordinal = info.ordinal, first = name;
      if (info.ordinal != ordinal)
        throw runtime::Error(what + " is on GPU " + std::to_string(info.ordinal) + ", but '" +
                                 first + "' is on GPU " + std::to_string(ordinal),
                             "the kernels run on one GPU: move the arrays onto it");
      const uint64_t need = layouts.count(name) ? layouts.at(name).bytes : 0;
      if (info.range_bytes && a.data + need > info.range_start + info.range_bytes)
        throw runtime::Error(what + " needs " + std::to_string(need) + " bytes from " +
                                 hex(a.data) + ", but its allocation ends " +
                                 std::to_string(info.range_start + info.range_bytes - a.data) +
                                 " bytes after that address",
                             "its shape " + shape_str(a.shape) +
                                 " does not fit the memory it points at");
    }
    std::unique_ptr<runtime::Device>& dev = launches_->devices[ordinal];
    if (!dev) dev = std::make_unique<runtime::Device>(runtime::Device::open(ordinal));
    dev->make_current();
    const std::string at = std::to_string(ordinal) + ":" + key;
    std::unique_ptr<runtime::LoadedKernels>& loaded = launches_->loaded[at];
    const bool fresh = !loaded;
    if (fresh)
      loaded = std::make_unique<runtime::LoadedKernels>(*dev, lowered.kernels, sizes,
                                                        runtime::CompileOptions{});
    loaded->launch_all(ptrs, sizes, scalars, own_strides,
                       static_cast<runtime::cu::Stream>(cfg.stream));
    report.summary = "launched " + std::to_string(lowered.kernels.size()) + " kernel(s) on GPU " +
                     std::to_string(ordinal) + " (" + dev->name() + ")" +
                     (fresh ? ", compiled and loaded" : ", already loaded") + " in " +
                     fmt("%.3f s", seconds_since(t0));
    return 0;
  });
  return report;
}

} // namespace grove::api
