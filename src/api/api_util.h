// What the C++ API's files share (grove.cpp runs, launch.cpp launches): finding the mapping and
// its entry task, and turning every layer's errors into one api::Error.
#pragma once
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>

#include "api/grove.h"
#include "api/session.h"
#include "lowering/pipeline.h"
#include "runtime/loaded.h"

namespace grove::api {

// Runs `body`, turning the errors of every layer into one api::Error carrying the report that
// `grove` prints for them.
template <typename Body> auto reported(const Loaded& l, Body&& body) -> decltype(body()) {
  std::ostringstream err;
  decltype(body()) result{};
  if (reporting_errors(l, err, [&] {
        result = body();
        return 0;
      }) != 0)
    throw Error(err.str());
  return result;
}

// An error that no source location explains (`grove: error: ...`).
[[noreturn]] inline void fail(const std::string& what, const std::string& hint = {}) {
  throw Error("grove: error: " + what + (hint.empty() ? "" : "\n  hint: " + hint) + "\n");
}

const MappingDecl& mapping_of(const Loaded& l, const std::string& name); // "": the first
const TaskDecl& entry_of(const Loaded& l, const MappingDecl& m);
std::string type_text(const Param& p);          // "f16[M, K]"
std::string tensor_names(const TaskDecl& task); // "C, A, B"
// Throws naming a scalar the task lacks.
void check_scalars(const TaskDecl& task, const std::map<std::string, double>& scalars);
double seconds_since(std::chrono::steady_clock::time_point t0);

// A mapping lowered for launch(), with what each launch asks of it.
struct Lowering {
  lower::Lowered lowered;
  std::set<std::string> element_wise; // tensors a kernel reaches other than by TMA
};

// What launch() keeps between calls. Members go in reverse order: kernels before their GPU.
struct Program::Launches {
  std::mutex mu;
  std::map<std::string, Lowering> lowered;                               // by mapping, fixed sizes
  std::map<int, std::unique_ptr<runtime::Device>> devices;               // by ordinal
  std::map<std::string, std::unique_ptr<runtime::LoadedKernels>> loaded; // and by GPU
};

} // namespace grove::api
