// Human-readable views of a schedule: text (for terminals and tests) and an SVG Gantt chart of
// the steady state (one lane per warp role and per unit, one box per operation, stages coloured).
#pragma once

#include "scheduler/schedule.h"

#include <string>

namespace grove::sched {

std::string to_text(const Schedule& s);
std::string to_svg(const Schedule& s);

} // namespace grove::sched
