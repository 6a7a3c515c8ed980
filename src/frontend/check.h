// Static checks: the program (names, types, ranks, privileges, partitions, leaf/inner rules) and
// each mapping (instances, tunables, memories, levels, launches). Errors go to `diags`.
#pragma once
#include "frontend/ast.h"

namespace grove {

void check_program(const Program& prog, Diagnostics& diags);
void check_mapping(const Program& prog, const MappingDecl& mapping, Diagnostics& diags);

// Built-in names the checker and the interpreter agree on.
bool is_elementwise_function(const std::string& name);
// Parses an MMA shape such as m64n256k16; returns false when it is not of that form.
bool parse_mma_shape(const std::string& s, int& m, int& n, int& k);
// Why WGMMA lacks the shape, or empty when it has it (for 16-bit operands).
std::string wgmma_shape_problem(int m, int n, int k);
// Closest name among candidates for "did you mean" hints; empty when nothing is close.
std::string closest_name(const std::string& name, const std::vector<std::string>& candidates);
// "did you mean 'a'?" or "did you mean 'a' or 'b'?" for the closest candidates; empty if none.
std::string did_you_mean(const std::string& name, const std::vector<std::string>& candidates);

} // namespace grove
