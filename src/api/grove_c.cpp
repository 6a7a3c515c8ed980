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

} // namespace

extern "C" {

grove_program* grove_load(const char* path, char** error) {
  return guarded(error, static_cast<grove_program*>(nullptr), [&] {
    if (!path) bad_argument("grove_load: path is NULL");
    return wrap(grove::api::Program::load(path));
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
    if ((n_arrays > 0 && !arrays) || (n_scalars > 0 && !scalars))
      bad_argument("grove_run: arrays or scalars is NULL, but its count is not 0");
    std::map<std::string, grove::api::Array> named;
    for (int i = 0; i < n_arrays; ++i) {
      const grove_array& a = arrays[i];
      if (!a.name) bad_argument("grove_run: array " + std::to_string(i) + " has no name");
      if (a.dtype < GROVE_F16 || a.dtype > GROVE_F64)
        bad_argument("grove_run: array '" + std::string(a.name) + "' has dtype " +
                     std::to_string(a.dtype) + ", not a grove_dtype");
      if (a.rank < 0 || (a.rank > 0 && !a.shape))
        bad_argument("grove_run: array '" + std::string(a.name) + "' has no shape");
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
    for (int i = 0; i < n_scalars; ++i) {
      if (!scalars[i].name) bad_argument("grove_run: scalar " + std::to_string(i) + " has no name");
      cfg.scalars[scalars[i].name] = scalars[i].value;
    }
    p->program.run(named, cfg);
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
