#include "api/grove_c.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>

#include "api/grove.h"
#include "api/session.h"

struct grove_program {
  grove::api::Program program;
  std::vector<std::string> mappings;
};

namespace {

char* copy_string(const std::string& s) {
  char* c = static_cast<char*>(std::malloc(s.size() + 1));
  if (c) std::memcpy(c, s.c_str(), s.size() + 1);
  return c;
}

// Runs `body`; an exception becomes `error` (when asked for) and `failed`.
template <typename T, typename Body> T guarded(char** error, T failed, Body&& body) {
  if (error) *error = nullptr;
  try {
    return body();
  } catch (const std::exception& e) {
    if (error) *error = copy_string(e.what());
  }
  return failed;
}

grove_program* wrap(grove::api::Program p) {
  auto* g = new grove_program{std::move(p), {}};
  g->mappings = g->program.mappings();
  return g;
}

[[noreturn]] void bad_argument(const std::string& what) {
  throw grove::api::Error("grove: error: " + what + "\n");
}

// "M=512,N=256" -> sizes (parsed as the command line's --size is).
std::map<std::string, int64_t> parse_sizes(const char* text) {
  std::map<std::string, double> values;
  std::string err = grove::parse_assignments(text ? text : "", values);
  std::map<std::string, int64_t> sizes;
  for (const auto& [name, v] : values) {
    if (v != std::floor(v) || std::fabs(v) > 9007199254740992.0) // 2^53
      err = name + " = " + std::to_string(v) + " is not a whole number";
    sizes[name] = static_cast<int64_t>(v);
  }
  if (!err.empty()) bad_argument("expected sizes as NAME=INTEGER,...: " + err);
  return sizes;
}

// The argument checks grove_run and grove_launch share; `fn` names the call in messages.
void check_counts(const char* fn, const void* arrays, int n_arrays, const void* scalars,
                  int n_scalars) {
  if ((n_arrays > 0 && !arrays) || (n_scalars > 0 && !scalars))
    bad_argument(std::string(fn) + ": arrays or scalars is NULL, but its count is not 0");
}

void check_array(const char* fn, int i, const char* name, int dtype, int rank,
                 const int64_t* shape) {
  if (!name) bad_argument(std::string(fn) + ": array " + std::to_string(i) + " has no name");
  if (dtype < GROVE_F16 || dtype > GROVE_E5M2)
    bad_argument(std::string(fn) + ": array '" + name + "' has dtype " + std::to_string(dtype) +
                 ", not a grove_dtype");
  if (rank < 0 || (rank > 0 && !shape))
    bad_argument(std::string(fn) + ": array '" + name + "' has no shape");
}

std::map<std::string, double> scalars_of(const char* fn, const grove_scalar* scalars, int n) {
  std::map<std::string, double> out;
  for (int i = 0; i < n; ++i) {
    if (!scalars[i].name)
      bad_argument(std::string(fn) + ": scalar " + std::to_string(i) + " has no name");
    out[scalars[i].name] = scalars[i].value;
  }
  return out;
}

} // namespace

extern "C" {

grove_program* grove_load(const char* path, char** error) {
  return guarded(error, static_cast<grove_program*>(nullptr), [&] {
    if (!path) bad_argument("grove_load: path is NULL");
    return wrap(grove::api::Program::load(path));
  });
}

grove_program* grove_load_with_types(const char* path, const char* types, char** error) {
  return guarded(error, static_cast<grove_program*>(nullptr), [&] {
    if (!path) bad_argument("grove_load_with_types: path is NULL");
    grove::TypeArgs parsed;
    if (std::string e = grove::parse_type_args(types ? types : "", parsed); !e.empty())
      bad_argument("grove_load_with_types: " + e);
    std::map<std::string, std::string> args;
    for (const auto& [name, t] : parsed) args[name] = grove::elem_name(t);
    return wrap(grove::api::Program::load(path, args));
  });
}

grove_program* grove_from_source(const char* text, const char* name, char** error) {
  return guarded(error, static_cast<grove_program*>(nullptr), [&] {
    if (!text) bad_argument("grove_from_source: text is NULL");
    return wrap(grove::api::Program::from_source(text, name ? name : "<source>"));
  });
}

void grove_program_free(grove_program* p) {
  delete p;
}

int grove_mapping_count(const grove_program* p) {
  return p ? static_cast<int>(p->mappings.size()) : 0;
}

const char* grove_mapping_name(const grove_program* p, int i) {
  if (!p || i < 0 || i >= static_cast<int>(p->mappings.size())) return nullptr;
  return p->mappings[static_cast<size_t>(i)].c_str();
}

int grove_run(const grove_program* p, const char* mapping, grove_target target,
              const grove_array* arrays, int n_arrays, const grove_scalar* scalars, int n_scalars,
              char** error) {
  return guarded(error, 1, [&] {
    if (!p) bad_argument("grove_run: program is NULL");
    if (target < GROVE_CPU || target > GROVE_GPU)
      bad_argument("grove_run: target " + std::to_string(target) + " is not a grove_target");
    check_counts("grove_run", arrays, n_arrays, scalars, n_scalars);
    std::map<std::string, grove::api::Array> named;
    for (int i = 0; i < n_arrays; ++i) {
      const grove_array& a = arrays[i];
      check_array("grove_run", i, a.name, a.dtype, a.rank, a.shape);
      if (!named
               .emplace(a.name, grove::api::Array{a.data,
                                                  static_cast<grove::api::DType>(a.dtype),
                                                  {a.shape, a.shape + a.rank}})
               .second)
        bad_argument("grove_run: two arrays are named '" + std::string(a.name) + "'");
    }
    grove::api::RunConfig cfg;
    cfg.mapping = mapping ? mapping : "";
    cfg.target = static_cast<grove::api::Target>(target);
    cfg.scalars = scalars_of("grove_run", scalars, n_scalars);
    p->program.run(named, cfg);
    return 0;
  });
}

int grove_launch(const grove_program* p, const char* mapping, const grove_device_array* arrays,
                 int n_arrays, const grove_scalar* scalars, int n_scalars, const char* dynamic,
                 void* stream, char** error) {
  return guarded(error, 1, [&] {
    if (!p) bad_argument("grove_launch: program is NULL");
    check_counts("grove_launch", arrays, n_arrays, scalars, n_scalars);
    std::map<std::string, grove::api::DeviceArray> named;
    for (int i = 0; i < n_arrays; ++i) {
      const grove_device_array& a = arrays[i];
      check_array("grove_launch", i, a.name, a.dtype, a.rank, a.shape);
      grove::api::DeviceArray d{
          a.data, static_cast<grove::api::DType>(a.dtype), {a.shape, a.shape + a.rank}, {}};
      if (a.strides) d.strides.assign(a.strides, a.strides + a.rank);
      if (!named.emplace(a.name, std::move(d)).second)
        bad_argument("grove_launch: two arrays are named '" + std::string(a.name) + "'");
    }
    grove::api::LaunchConfig cfg;
    cfg.mapping = mapping ? mapping : "";
    cfg.scalars = scalars_of("grove_launch", scalars, n_scalars);
    cfg.stream = stream;
    std::string name;
    for (const char* c = dynamic ? dynamic : "";; ++c) { // "M, K" -> {M, K}
      if (*c && *c != ',') {
        if (*c != ' ') name += *c;
        continue;
      }
      if (!name.empty()) cfg.dynamic.insert(name);
      name.clear();
      if (!*c) break;
    }
    p->program.launch(named, cfg);
    return 0;
  });
}

char* grove_cuda(const grove_program* p, const char* mapping, const char* sizes, char** error) {
  return guarded(error, static_cast<char*>(nullptr), [&] {
    if (!p) bad_argument("grove_cuda: program is NULL");
    return copy_string(p->program.cuda(mapping ? mapping : "", parse_sizes(sizes)));
  });
}

void grove_free(void* s) {
  std::free(s);
}

} // extern "C"
