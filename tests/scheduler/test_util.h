#pragma once

#include "scheduler/model.h"

#include <string>

namespace grove::sched::testing {

inline Graph graph(const std::string& name) {
  return load_graph_file(data_dir() + "/graphs/" + name + ".json");
}

} // namespace grove::sched::testing
