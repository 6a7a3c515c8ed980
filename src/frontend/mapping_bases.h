// `mapping NAME extends BASE { ... }`: a mapping written as changes to another, so variants of a
// mapping (another head dimension, pipeline depth or entry task) state only what differs.
#pragma once
#include "frontend/ast.h"

namespace grove {

// Completes every mapping that extends another: it becomes a copy of its base (completed first)
// with its own items applied on top. An `entry` line replaces the base's entry; `instance X =
// task.variant @ LEVEL { ... }` replaces the base's instance X whole, or adds one; `instance X {
// ... }` changes only the settings it names in the base's instance X (a tunable, memory or call
// by name; a block option). Unknown bases, cycles and changes to instances the base lacks go to
// `diags`.
void resolve_mapping_bases(Program& prog, Diagnostics& diags);

} // namespace grove
