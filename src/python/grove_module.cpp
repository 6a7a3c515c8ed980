// The Python module `grove`: the C++ API (src/api/grove.h) over Python buffers (numpy arrays,
// memoryviews, anything with the buffer protocol), written back in place as a kernel would.
//
//   import grove, numpy as np
//   p = grove.load("examples/gemm.grove")
//   a = np.random.uniform(-1, 1, (300, 200)).astype(np.float16)
//   b = np.random.uniform(-1, 1, (200, 264)).astype(np.float16)
//   c = np.empty((300, 264), np.float16)
//   p.run(C=c, A=a, B=b, mapping="h100", target="cpu")   # or "reference", "emulator", "gpu"
//
//   p.launch(C=c, A=a, B=b, mapping="h100")   # CUDA torch tensors: no copies, on the GPU
//
// pybind11 because it is the well-kept way to bind C++ to Python (Debian's pybind11-dev); the
// buffer protocol rather than numpy's C API, so the module builds without numpy.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>

#include "api/grove.h"

namespace py = pybind11;
using namespace grove::api;

namespace {

Target parse_target(const std::string& t) {
  for (Target x : {Target::Cpu, Target::Reference, Target::Emulator, Target::Gpu})
    if (t == target_name(x)) return x;
  throw py::value_error("target '" + t + "' is not one of cpu, reference, emulator, gpu");
}

// The element storage a buffer format names ('e' half, 'f' float, 'd' double; byte-order
// prefixes of the native order allowed).
DType dtype_of(const std::string& name, std::string format) {
  if (!format.empty() && (format[0] == '@' || format[0] == '=' || format[0] == '<'))
    format.erase(0, 1);
  if (format == "e") return DType::F16;
  if (format == "f") return DType::F32;
  if (format == "d") return DType::F64;
  throw py::type_error("array '" + name + "' holds elements of format '" + format +
                       "'; give float16, float32 or float64 (e.g. numpy's astype)");
}

// A C-contiguous buffer of one tensor, held while the run uses it.
Array array_of(const std::string& name, const py::buffer& obj, bool write,
               std::vector<py::buffer_info>& held) {
  py::buffer_info info;
  try {
    info = obj.request(write);
  } catch (py::error_already_set&) {
    throw py::value_error("array '" + name + "' is read-only, but the task writes tensor '" + name +
                          "'; pass a writable array");
  }
  Array a{info.ptr, dtype_of(name, info.format), {}};
  py::ssize_t stride = info.itemsize;
  for (py::ssize_t d = info.ndim; d-- > 0;) {
    if (info.shape[d] > 1 && info.strides[d] != stride)
      throw py::value_error("array '" + name +
                            "' is not C-contiguous; pass numpy.ascontiguousarray(...)");
    stride *= info.shape[d];
  }
  for (py::ssize_t s : info.shape) a.shape.push_back(s);
  held.push_back(std::move(info));
  return a;
}

// What run() and launch() return: {"mapping", "sizes", "summary"}.
py::dict report_dict(const RunReport& rep) {
  py::dict out;
  out["mapping"] = rep.mapping;
  out["sizes"] = rep.sizes;
  out["summary"] = rep.summary;
  return out;
}

// Sizes given as keyword arguments (M=512, N=512).
std::map<std::string, int64_t> sizes_of(const py::kwargs& kwargs) {
  std::map<std::string, int64_t> s;
  for (auto [k, v] : kwargs) s[py::str(k)] = v.cast<int64_t>();
  return s;
}

// The signature's tensor `name`, or null.
const TensorParam* tensor_named(const Signature& sig, const std::string& name) {
  for (const TensorParam& t : sig.tensors)
    if (t.name == name) return &t;
  return nullptr;
}

py::dict run(const Program& p, const std::string& mapping, const std::string& target, uint64_t seed,
             int schedules, const py::kwargs& args) {
  RunConfig cfg;
  cfg.mapping = mapping;
  cfg.target = parse_target(target);
  cfg.seed = seed;
  cfg.schedules = schedules;
  Signature sig = p.signature(mapping);
  std::vector<py::buffer_info> held;
  std::map<std::string, Array> arrays;
  for (auto [key, value] : args) {
    std::string name = py::str(key);
    const TensorParam* t = tensor_named(sig, name);
    const bool tensor = t != nullptr, write = t && t->write;
    // An array under a name the task lacks goes on, for run() to name with the task's tensors
    // (a numpy scalar is a buffer too, of rank 0).
    bool array_like =
        py::isinstance<py::buffer>(value) && value.cast<py::buffer>().request().ndim > 0;
    if (tensor || array_like) {
      if (!py::isinstance<py::buffer>(value))
        throw py::type_error("tensor '" + name + "' needs an array (numpy or any buffer)");
      arrays.emplace(name, array_of(name, value.cast<py::buffer>(), write, held));
      continue;
    }
    try {
      cfg.scalars[name] = value.cast<double>(); // a scalar; run() names one the task lacks
    } catch (const py::cast_error&) {
      throw py::type_error("scalar '" + name + "' needs a number");
    }
  }
  RunReport rep;
  {
    py::gil_scoped_release unlocked; // the arrays stay held in `held`
    rep = p.run(arrays, cfg);
  }
  return report_dict(rep);
}

// A value passed for a tensor to launch(), as a DeviceArray: a grove.DeviceArray, a CUDA tensor of
// PyTorch (duck-typed: data_ptr(), stride(), dtype, is_cuda; bf16 included), or anything with
// __cuda_array_interface__ (CuPy, Numba; no bf16 there). Strides in elements.
DeviceArray device_array_of(const std::string& name, const py::handle& value, bool write) {
  if (py::isinstance<DeviceArray>(value)) return value.cast<DeviceArray>();
  DeviceArray a;
  if (py::hasattr(value, "data_ptr") && py::hasattr(value, "stride") &&
      py::hasattr(value, "is_cuda")) {
    if (!value.attr("is_cuda").cast<bool>())
      throw py::type_error("tensor '" + name +
                           "' is a torch tensor in host memory; launch() takes CUDA tensors "
                           "(run() takes host arrays)");
    const std::string dtype = py::str(value.attr("dtype"));
    if (dtype == "torch.float16")
      a.dtype = DType::F16;
    else if (dtype == "torch.bfloat16")
      a.dtype = DType::BF16;
    else if (dtype == "torch.float32")
      a.dtype = DType::F32;
    else if (dtype == "torch.float8_e4m3fn")
      a.dtype = DType::E4M3;
    else if (dtype == "torch.float8_e5m2")
      a.dtype = DType::E5M2;
    else
      throw py::type_error("tensor '" + name + "' is a torch tensor of " + dtype +
                           "; launch() takes float16, bfloat16, float32, float8_e4m3fn or "
                           "float8_e5m2");
    a.data = value.attr("data_ptr")().cast<uint64_t>();
    for (const py::handle d : value.attr("shape")) a.shape.push_back(d.cast<int64_t>());
    for (const py::handle d : value.attr("stride")()) a.strides.push_back(d.cast<int64_t>());
    return a;
  }
  if (py::hasattr(value, "__cuda_array_interface__")) {
    py::dict cai = value.attr("__cuda_array_interface__");
    const std::string typestr = py::str(cai["typestr"]);
    int64_t itemsize = 0;
    if (typestr == "<f2")
      a.dtype = DType::F16, itemsize = 2;
    else if (typestr == "<f4")
      a.dtype = DType::F32, itemsize = 4;
    else
      throw py::type_error("tensor '" + name + "' holds elements of type '" + typestr +
                           "'; launch() takes <f2 (float16) or <f4 (float32) here, and bfloat16 "
                           "through grove.DeviceArray");
    py::tuple data = cai["data"];
    a.data = data[0].cast<uint64_t>();
    if (write && data[1].cast<bool>())
      throw py::value_error("array '" + name + "' is read-only, but the task writes tensor '" +
                            name + "'; pass a writable array");
    for (const py::handle d : cai["shape"]) a.shape.push_back(d.cast<int64_t>());
    if (cai.contains("strides") && !cai["strides"].is_none())
      for (const py::handle d : cai["strides"]) {
        const int64_t bytes = d.cast<int64_t>();
        if (bytes % itemsize != 0)
          throw py::value_error("array '" + name + "' has a stride of " + std::to_string(bytes) +
                                " bytes, not a whole number of elements");
        a.strides.push_back(bytes / itemsize);
      }
    return a;
  }
  throw py::type_error("tensor '" + name +
                       "' needs a GPU array for launch(): a CUDA torch tensor, an object with "
                       "__cuda_array_interface__, or grove.DeviceArray(address, dtype, shape)");
}

DType parse_dtype(const std::string& t) {
  for (DType x : {DType::F16, DType::BF16, DType::F32, DType::E4M3, DType::E5M2})
    if (t == dtype_name(x)) return x;
  throw py::value_error("dtype '" + t + "' is not one of f16, bf16, f32, e4m3, e5m2");
}

py::dict launch(const Program& p, const std::string& mapping, const py::object& stream,
                const py::iterable& dynamic, const py::kwargs& args) {
  LaunchConfig cfg;
  cfg.mapping = mapping;
  if (py::isinstance<py::str>(dynamic))
    throw py::type_error("dynamic takes a collection of size names, e.g. {'M'}, not a string");
  for (const py::handle name : dynamic) cfg.dynamic.insert(py::str(name));
  if (!stream.is_none()) // an int (cudaStream_t) or an object with .cuda_stream (torch.cuda.Stream)
    cfg.stream = reinterpret_cast<void*>(
        (py::hasattr(stream, "cuda_stream") ? stream.attr("cuda_stream") : stream)
            .cast<uintptr_t>());
  Signature sig = p.signature(mapping);
  std::map<std::string, DeviceArray> arrays;
  for (auto [key, value] : args) {
    std::string name = py::str(key);
    const TensorParam* t = tensor_named(sig, name);
    const bool tensor = t != nullptr, write = t && t->write;
    if (tensor) {
      arrays.emplace(name, device_array_of(name, value, write));
      continue;
    }
    try {
      cfg.scalars[name] = value.cast<double>(); // a scalar; launch() names one the task lacks
    } catch (const py::cast_error&) {
      throw py::type_error("task '" + sig.task + "' has no tensor '" + name +
                           "', and it is not a number for a scalar either");
    }
  }
  RunReport rep;
  {
    py::gil_scoped_release unlocked; // compiling the first time takes seconds
    rep = p.launch(arrays, cfg);
  }
  return report_dict(rep);
}

} // namespace

PYBIND11_MODULE(grove, m) {
  m.doc() =
      "Grove: task programs over tensors, run on the CPU, in the emulator, or on a Hopper GPU";
  py::register_exception<Error>(m, "GroveError");

  py::class_<TensorParam>(m, "TensorParam")
      .def_readonly("name", &TensorParam::name)
      .def_readonly("elem", &TensorParam::elem)
      .def_readonly("dims", &TensorParam::dims)
      .def_readonly("read", &TensorParam::read)
      .def_readonly("write", &TensorParam::write)
      .def("__repr__", [](const TensorParam& t) {
        std::string dims;
        for (const std::string& d : t.dims) dims += (dims.empty() ? "" : ", ") + d;
        return t.name + ": " +
               (t.read && t.write ? "readwrite "
                : t.write         ? "write "
                                  : "read ") +
               t.elem + "[" + dims + "]";
      });
  py::class_<ScalarParam>(m, "ScalarParam")
      .def_readonly("name", &ScalarParam::name)
      .def_readonly("is_int", &ScalarParam::is_int)
      .def_readonly("default", &ScalarParam::default_value);
  py::class_<KernelResources>(m, "KernelResources",
                              "What ptxas reported of one compiled kernel, per thread.")
      .def_readonly("kernel", &KernelResources::kernel)
      .def_readonly("registers", &KernelResources::registers)
      .def_readonly("spill_store_bytes", &KernelResources::spill_store_bytes)
      .def_readonly("spill_load_bytes", &KernelResources::spill_load_bytes)
      .def_readonly("stack_bytes", &KernelResources::stack_bytes)
      .def_readonly("notes", &KernelResources::notes)
      .def("__repr__", [](const KernelResources& r) {
        return r.kernel + ": " + std::to_string(r.registers) + " registers, " +
               std::to_string(r.spill_store_bytes) + " bytes spill stores, " +
               std::to_string(r.spill_load_bytes) + " bytes spill loads";
      });

  py::class_<Signature>(m, "Signature")
      .def_readonly("task", &Signature::task)
      .def_readonly("tensors", &Signature::tensors)
      .def_readonly("scalars", &Signature::scalars);

  py::class_<DeviceArray>(m, "DeviceArray",
                          "An array in GPU memory for Program.launch: its address, element type "
                          "(f16, bf16, f32: the tensor's), shape and strides in elements (None: "
                          "dense rows of 16-byte multiples).")
      .def(py::init([](uint64_t data, const std::string& dtype, std::vector<int64_t> shape,
                       std::optional<std::vector<int64_t>> strides) {
             return DeviceArray{data, parse_dtype(dtype), std::move(shape),
                                strides.value_or(std::vector<int64_t>{})};
           }),
           py::arg("data"), py::arg("dtype"), py::arg("shape"), py::arg("strides") = py::none())
      .def_readonly("data", &DeviceArray::data)
      .def_property_readonly("dtype", [](const DeviceArray& a) { return dtype_name(a.dtype); })
      .def_readonly("shape", &DeviceArray::shape)
      .def_readonly("strides", &DeviceArray::strides);

  py::class_<Program>(m, "Program")
      .def_property_readonly("mappings", &Program::mappings)
      .def_property_readonly("types", &Program::types,
                             "The type parameters and the element type each stands for.")
      .def("signature", &Program::signature, py::arg("mapping") = "",
           "The entry task of a mapping (default: the file's first): its tensors and scalars.")
      .def("run", &run, py::arg("mapping") = "", py::arg("target") = "cpu", py::arg("seed") = 1,
           py::arg("schedules") = 1,
           "Runs the mapping's entry task on arrays given by tensor name (sizes come from their "
           "shapes) and scalars by name; writes the written tensors back into their arrays. "
           "target: cpu (the interpreter), reference (the float64 reference variant), emulator "
           "(the lowered kernels, `schedules` random schedules from `seed`), gpu (GPU 0).")
      .def("launch", &launch, py::arg("mapping") = "", py::arg("stream") = py::none(),
           py::arg("dynamic") = py::tuple(),
           "Launches the mapping's kernels on GPU arrays given by tensor name (CUDA torch "
           "tensors, __cuda_array_interface__ objects, grove.DeviceArray; their element types "
           "must be the tensors') and scalars by name, on `stream` (an int handle or a "
           "torch.cuda.Stream; None: the default stream), without waiting for them. The first "
           "launch for a mapping and sizes compiles and loads the kernels; later ones reuse "
           "them. `dynamic` names sizes left as kernel parameters (e.g. {'M'}), so one compile "
           "serves every value of them.")
      .def(
          "cuda",
          [](const Program& p, const std::string& mapping, const py::kwargs& sizes) {
            return p.cuda(mapping, sizes_of(sizes));
          },
          py::arg("mapping") = "",
          "The CUDA C++ the mapping prints, with the sizes given as keywords fixed.")
      .def(
          "resources",
          [](const Program& p, const std::string& mapping, const py::kwargs& sizes) {
            std::map<std::string, int64_t> s = sizes_of(sizes);
            py::gil_scoped_release unlocked; // NVRTC takes a while
            return p.resources(mapping, s);
          },
          py::arg("mapping") = "",
          "Compiles the mapping's kernels with NVRTC (no GPU needed; cached), sizes given as "
          "keywords fixed, and returns what ptxas reported of each (KernelResources: registers, "
          "spill bytes, performance notes).");

  using Types = std::map<std::string, std::string>;
  m.def("load", &Program::load, py::arg("path"), py::arg("types") = Types{},
        "Loads and checks a .grove file; types={'T': 'bf16'} sets its type parameters.");
  m.def("from_source", &Program::from_source, py::arg("text"), py::arg("name") = "<source>",
        py::arg("types") = Types{}, "Loads and checks Grove source text.");
}
