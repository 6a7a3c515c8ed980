// What every `grove` command starts with: the program loaded and checked, the mapping picked,
// and errors reported in the one format of docs/diagnostics.md.
#pragma once
#include <map>
#include <memory>
#include <ostream>
#include <string>

#include "frontend/ast.h"
#include "runtime/driver.h"
#include "taskir/interpreter.h"

namespace grove {

struct Loaded {
  SourceManager sm;
  Program prog;
};

// Parses and checks the file and every mapping in it; prints diagnostics. Null on any error.
// `types` set type parameters (`type T = f16;`) to other element types; each must name one.
std::unique_ptr<Loaded> load(const std::string& file, std::ostream& err,
                             const TypeArgs& types = {});
// The same for source text; `name` stands for its file in messages.
std::unique_ptr<Loaded> load_text(const std::string& name, const std::string& text,
                                  std::ostream& err, const TypeArgs& types = {});
void report(const Loaded& l, const GroveError& e, std::ostream& err);
void report(const runtime::Error& e, std::ostream& err);
// Runs `body` (which returns the exit status), reporting the Grove and runtime errors it throws
// as diagnostics with status 1.
template <typename Body> int reporting_errors(const Loaded& l, std::ostream& err, Body&& body) {
  try {
    return body();
  } catch (const GroveError& e) {
    report(l, e, err);
  } catch (const runtime::Error& e) {
    report(e, err);
  }
  return 1;
}
// The named mapping, or the file's first; prints why when there is none.
const MappingDecl* pick_mapping(const Loaded& l, const std::string& name, std::ostream& err);

// Uniform random values in [-1, 1], rounded to each tensor's type. With `poison_outputs`,
// write-only tensors start as NaN instead, so an element never written shows in a check.
void fill_inputs(const TaskDecl& task, EntryArgs& args, uint64_t seed, bool poison_outputs);

std::string fmt(const char* f, double v);

// Parses "M=512,N=256" into `out`; returns an error message or empty.
std::string parse_assignments(const std::string& text, std::map<std::string, double>& out);
// Sets out[name] to the element type `type` names (f16, bf16, f32, e4m3 or e5m2); returns an
// error or empty.
std::string add_type_arg(const std::string& name, const std::string& type, TypeArgs& out);
// Parses "T=bf16,U=f32" (type arguments) into `out`; returns an error message or empty.
std::string parse_type_args(const std::string& text, TypeArgs& out);

// The task's reference variant (`variant T.NAME leaf reference`), or null.
const VariantDecl* reference_variant(const Program& prog, const TaskDecl& task);
std::string sizes_str(const std::map<std::string, int64_t>& sizes);
// "; T=bf16 U=f32": the program's type parameters as set, for a command's header; empty if none.
std::string types_str(const Program& prog);

} // namespace grove
