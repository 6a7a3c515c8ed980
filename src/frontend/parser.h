// Parses Grove source into a Program. Files named by `import "path";` are parsed too, once each.
#pragma once
#include <string>

#include "frontend/ast.h"

namespace grove {

// Parses `path` and everything it imports into `prog`. Syntax errors go to `diags`; the parser
// recovers at the next top-level item so one run reports several. Returns false if the file
// itself cannot be read (reported in `diags`). `type_args` set type parameters of those names
// (in every file that declares one); the caller checks that each names one (prog.type_params).
bool parse_file(const std::string& path, SourceManager& sm, Diagnostics& diags, Program& prog,
                const TypeArgs& type_args = {});

// Parses text already registered in `sm` as `file` (imports are resolved relative to its path).
void parse_source(int file, SourceManager& sm, Diagnostics& diags, Program& prog,
                  const TypeArgs& type_args = {});

} // namespace grove
