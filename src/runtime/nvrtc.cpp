#include "runtime/nvrtc.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "runtime/driver.h"

namespace grove::runtime {

using Program = struct _nvrtcProgram*;
using Result = int; // nvrtcResult; 0 is NVRTC_SUCCESS

struct Nvrtc::Api {
  const char* (*GetErrorString)(Result);
  Result (*Version)(int*, int*);
  Result (*CreateProgram)(Program*, const char*, const char*, int, const char* const*,
                          const char* const*);
  Result (*DestroyProgram)(Program*);
  Result (*CompileProgram)(Program, int, const char* const*);
  Result (*GetCUBINSize)(Program, size_t*);
  Result (*GetCUBIN)(Program, char*);
  Result (*GetProgramLogSize)(Program, size_t*);
  Result (*GetProgramLog)(Program, char*);
};

namespace {

std::vector<std::string> candidates() {
  std::vector<std::string> out;
  if (const char* p = std::getenv("GROVE_NVRTC"); p && *p) out.push_back(p);
  const char* names[] = {"libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12"};
  for (const char* n : names) out.push_back(n); // the loader path
  std::vector<std::string> dirs;
  for (const char* env : {"CUDA_HOME", "CUDA_PATH"})
    if (const char* p = std::getenv(env); p && *p) dirs.push_back(std::string(p) + "/lib64");
#ifdef GROVE_CUDA_TOOLKIT_LIB
  dirs.push_back(GROVE_CUDA_TOOLKIT_LIB);
#endif
  dirs.push_back("/usr/local/cuda/lib64");
  for (const std::string& d : dirs)
    for (const char* n : names) out.push_back(d + "/" + n);
  return out;
}

struct Found {
  Nvrtc nvrtc;
  Nvrtc::Api api{};
  std::string why; // set when not found
};

Found* find_once() {
  auto* f = new Found; // lives for the process, like the library
  void* lib = nullptr;
  for (const std::string& c : candidates()) {
    lib = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib) {
      f->nvrtc.library = c;
      break;
    }
  }
  if (!lib) {
    f->why = "NVRTC not found (libnvrtc.so.13 or .12 on the loader path, in $CUDA_HOME/lib64 or "
             "/usr/local/cuda/lib64)";
    return f;
  }
  Nvrtc::Api& a = f->api;
  bool ok = true;
  auto bind = [&](auto& fn, const char* name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
    ok = ok && fn;
  };
  bind(a.GetErrorString, "nvrtcGetErrorString");
  bind(a.Version, "nvrtcVersion");
  bind(a.CreateProgram, "nvrtcCreateProgram");
  bind(a.DestroyProgram, "nvrtcDestroyProgram");
  bind(a.CompileProgram, "nvrtcCompileProgram");
  bind(a.GetCUBINSize, "nvrtcGetCUBINSize");
  bind(a.GetCUBIN, "nvrtcGetCUBIN");
  bind(a.GetProgramLogSize, "nvrtcGetProgramLogSize");
  bind(a.GetProgramLog, "nvrtcGetProgramLog");
  if (!ok || a.Version(&f->nvrtc.major, &f->nvrtc.minor) != 0) {
    f->why = f->nvrtc.library + " is not a usable NVRTC (CUDA 12.0 or newer is needed)";
    return f;
  }
  if (f->nvrtc.major < 12) {
    f->why = f->nvrtc.library + " is NVRTC " + std::to_string(f->nvrtc.major) + "." +
             std::to_string(f->nvrtc.minor) + "; sm_90a needs CUDA 12.0 or newer";
    return f;
  }
  f->nvrtc.api = &f->api;
  return f;
}

const Found& found() {
  static const Found* f = find_once();
  return *f;
}

} // namespace

const Nvrtc* Nvrtc::find(std::string* why) {
  const Found& f = found();
  if (!f.why.empty()) {
    if (why) *why = f.why;
    return nullptr;
  }
  return &f.nvrtc;
}

const Nvrtc& Nvrtc::get() {
  std::string why;
  const Nvrtc* n = find(&why);
  if (!n)
    throw Error(why, "install the CUDA toolkit's NVRTC, or point GROVE_NVRTC at libnvrtc.so; "
                     "`grove build` writes .cu files for nvcc instead");
  return *n;
}

std::string Nvrtc::compile_cubin(const std::string& source, const std::string& name,
                                 const std::vector<Header>& headers,
                                 const std::vector<std::string>& options, std::string* log) const {
  std::vector<std::string> header_text;
  std::vector<const char*> header_ptrs, header_names, opts;
  for (const Header& h : headers) header_text.emplace_back(h.text);
  for (size_t i = 0; i < headers.size(); ++i) {
    header_ptrs.push_back(header_text[i].c_str());
    header_names.push_back(headers[i].name.c_str());
  }
  for (const std::string& o : options) opts.push_back(o.c_str());
  auto fail = [&](const std::string& what, Result r) {
    throw Error("NVRTC: " + what + ": " + api->GetErrorString(r));
  };
  Program prog = nullptr;
  if (Result r =
          api->CreateProgram(&prog, source.c_str(), name.c_str(), static_cast<int>(headers.size()),
                             header_ptrs.data(), header_names.data()))
    fail("creating the program for " + name, r);
  struct Destroy {
    const Api* a;
    Program* p;
    ~Destroy() { a->DestroyProgram(p); }
  } destroy{api, &prog};
  Result r = api->CompileProgram(prog, static_cast<int>(opts.size()), opts.data());
  size_t n = 0;
  std::string text;
  if (api->GetProgramLogSize(prog, &n) == 0 && n > 1) {
    text.resize(n);
    api->GetProgramLog(prog, text.data());
    text.resize(std::strlen(text.c_str())); // ptxas's part may end in a NUL of its own
  }
  if (log) *log = text;
  if (r != 0)
    throw Error("NVRTC could not compile " + name + " (" + api->GetErrorString(r) + "):\n" + text,
                "this is a bug in Grove's CUDA back end; please report it with the program");
  if (Result rs = api->GetCUBINSize(prog, &n)) fail("getting the CUBIN size", rs);
  std::string cubin(n, '\0');
  if (Result rc = api->GetCUBIN(prog, cubin.data())) fail("getting the CUBIN", rc);
  return cubin;
}

} // namespace grove::runtime
