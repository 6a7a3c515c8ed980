// `grove explain --tree`: the task tree a mapping instantiates, with processors and memories.
#pragma once
#include <ostream>

#include "frontend/ast.h"

namespace grove {

void explain_tree(const Program& prog, const MappingDecl& mapping, std::ostream& os);

} // namespace grove
