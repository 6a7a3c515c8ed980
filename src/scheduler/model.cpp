#include "scheduler/model.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#ifndef GROVE_SCHED_DATA_DIR
#define GROVE_SCHED_DATA_DIR "data"
#endif

namespace grove::sched {

using nlohmann::json;

const Unit* Machine::unit(const std::string& n) const {
  for (const Unit& u : units)
    if (u.name == n) return &u;
  return nullptr;
}

int Machine::unit_index(const std::string& n) const {
  for (size_t i = 0; i < units.size(); ++i)
    if (units[i].name == n) return static_cast<int>(i);
  return -1;
}

const Rate* Machine::rate(const std::string& w) const {
  for (const Rate& r : rates)
    if (r.work == w) return &r;
  return nullptr;
}

int Graph::op_index(const std::string& n) const {
  for (size_t i = 0; i < ops.size(); ++i)
    if (ops[i].name == n) return static_cast<int>(i);
  return -1;
}

namespace {

[[noreturn]] void fail(const std::string& origin, const std::string& what) {
  throw std::runtime_error(origin + ": " + what);
}

json parse_text(const std::string& text, const std::string& origin) {
  try {
    return json::parse(text, nullptr, true, /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    fail(origin, std::string("invalid JSON: ") + e.what());
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A figure is either a bare number or {"value": N, "source": "..."}; the source is kept.
template <typename T>
T figure(const json& j, const std::string& key, const std::string& origin, T fallback,
         bool required, std::string* source = nullptr) {
  if (!j.contains(key)) {
    if (required) fail(origin, "missing field '" + key + "'");
    return fallback;
  }
  const json& v = j.at(key);
  if (v.is_number()) return v.get<T>();
  if (v.is_object() && v.contains("value") && v.at("value").is_number()) {
    if (source && v.contains("source")) *source = v.at("source").get<std::string>();
    return v.at("value").get<T>();
  }
  fail(origin, "field '" + key + "' must be a number or {value, source}");
}

std::string str(const json& j, const std::string& key, const std::string& fallback = "") {
  return j.contains(key) && j.at(key).is_string() ? j.at(key).get<std::string>() : fallback;
}

} // namespace

Machine parse_machine(const std::string& text, const std::string& origin) {
  json j = parse_text(text, origin);
  Machine m;
  m.name = str(j, "name");
  if (m.name.empty()) fail(origin, "missing field 'name'");
  m.description = str(j, "description");
  m.clock_ghz = figure<double>(j, "clock_ghz", origin, 1.0, true, &m.sources["clock_ghz"]);
  if (!j.contains("units") || !j["units"].is_object()) fail(origin, "missing object 'units'");
  for (auto& [name, u] : j["units"].items()) {
    Unit unit{name, figure<int>(u, "count", origin + ": unit " + name, 1, true), str(u, "source")};
    if (unit.count < 1) fail(origin, "unit " + name + ": count must be >= 1");
    m.units.push_back(unit);
  }
  if (!j.contains("rates") || !j["rates"].is_object()) fail(origin, "missing object 'rates'");
  for (auto& [work, r] : j["rates"].items()) {
    Rate rate{work, str(r, "unit"),
              figure<double>(r, "per_clock", origin + ": rate " + work, 1, true), str(r, "source")};
    if (!m.unit(rate.unit)) fail(origin, "rate " + work + ": unknown unit '" + rate.unit + "'");
    if (rate.per_clock <= 0) fail(origin, "rate " + work + ": per_clock must be > 0");
    m.rates.push_back(rate);
  }
  if (!j.contains("kinds") || !j["kinds"].is_object()) fail(origin, "missing object 'kinds'");
  for (auto& [name, k] : j["kinds"].items()) {
    std::string where = origin + ": kind " + name;
    OpKind kind;
    kind.name = name;
    kind.async = k.value("async", false);
    kind.variable_latency = k.value("variable_latency", false);
    kind.issue_cycles = figure<int64_t>(k, "issue_cycles", where, 0, false);
    kind.latency = figure<int64_t>(k, "latency", where, 0, false);
    kind.combine = str(k, "combine", "sum");
    if (kind.combine != "sum" && kind.combine != "max") fail(where, "combine must be sum or max");
    kind.source = str(k, "source");
    m.kinds[name] = kind;
  }
  auto& s = m.sources;
  m.smem_bytes = figure<int64_t>(j, "smem_bytes", origin, 0, true, &s["smem_bytes"]);
  m.regs_per_thread_max =
      figure<int>(j, "regs_per_thread_max", origin, 255, true, &s["regs_per_thread_max"]);
  m.register_file = figure<int>(j, "register_file", origin, 65536, true, &s["register_file"]);
  m.threads_per_role =
      figure<int>(j, "threads_per_role", origin, 128, false, &s["threads_per_role"]);
  m.max_roles = figure<int>(j, "max_roles", origin, 4, false, &s["max_roles"]);
  m.base_regs = figure<int>(j, "base_regs", origin, 32, false, &s["base_regs"]);
  m.producer_regs = figure<int>(j, "producer_regs", origin, 24, false, &s["producer_regs"]);
  m.reg_granule = figure<int>(j, "reg_granule", origin, 8, false, &s["reg_granule"]);
  m.cross_role_latency =
      figure<int64_t>(j, "cross_role_latency", origin, 0, false, &s["cross_role_latency"]);
  m.reg_transfer_latency =
      figure<int64_t>(j, "reg_transfer_latency", origin, 0, false, &s["reg_transfer_latency"]);
  m.barrier_bytes = figure<int64_t>(j, "barrier_bytes", origin, 8, false, &s["barrier_bytes"]);
  if (m.max_roles < 1 || m.reg_granule < 1 || m.threads_per_role < 1)
    fail(origin, "max_roles, reg_granule and threads_per_role must be >= 1");
  return m;
}

Graph parse_graph(const std::string& text, const std::string& origin) {
  json j = parse_text(text, origin);
  Graph g;
  g.name = str(j, "name");
  if (g.name.empty()) fail(origin, "missing field 'name'");
  g.description = str(j, "description");
  g.fixed_smem_bytes = figure<int64_t>(j, "fixed_smem_bytes", origin, 0, false);
  if (!j.contains("ops") || !j["ops"].is_array()) fail(origin, "missing array 'ops'");
  for (const json& o : j["ops"]) {
    Op op;
    op.name = str(o, "name");
    if (op.name.empty()) fail(origin, "an op has no name");
    std::string where = origin + ": op " + op.name;
    if (g.op_index(op.name) >= 0) fail(where, "duplicate op name");
    op.kind = str(o, "kind");
    if (op.kind.empty()) fail(where, "missing field 'kind'");
    if (o.contains("work"))
      for (auto& [k, v] : o["work"].items()) op.work[k] = v.get<double>();
    if (o.contains("cycles"))
      for (auto& [k, v] : o["cycles"].items()) op.cycles[k] = v.get<int64_t>();
    if (o.contains("latency")) op.latency = o["latency"].get<int64_t>();
    op.regs = o.value("regs", 0);
    op.smem_bytes = o.value("smem_bytes", int64_t{0});
    op.accumulator = o.value("accumulator", false);
    op.note = str(o, "note");
    if (op.regs < 0 || op.smem_bytes < 0) fail(where, "negative footprint");
    g.ops.push_back(op);
  }
  if (j.contains("edges")) {
    for (const json& e : j["edges"]) {
      Edge edge;
      std::string from = str(e, "from"), to = str(e, "to");
      edge.src = g.op_index(from);
      edge.dst = g.op_index(to);
      if (edge.src < 0 || edge.dst < 0) fail(origin, "edge " + from + " -> " + to + ": unknown op");
      edge.distance = e.value("distance", 0);
      if (edge.distance < 0) fail(origin, "edge " + from + " -> " + to + ": negative distance");
      if (e.contains("latency")) edge.latency = e["latency"].get<int64_t>();
      edge.data = e.value("data", true);
      g.edges.push_back(edge);
    }
  }
  return g;
}

Machine load_machine_file(const std::string& path) {
  return parse_machine(read_file(path), path);
}
Graph load_graph_file(const std::string& path) {
  return parse_graph(read_file(path), path);
}

std::string data_dir() {
  if (const char* env = std::getenv("GROVE_DATA_DIR"); env && *env) return env;
  return GROVE_SCHED_DATA_DIR;
}

Machine load_machine(const std::string& name_or_path) {
  const std::string& s = name_or_path;
  if (s.size() > 5 && s.substr(s.size() - 5) == ".json") return load_machine_file(s);
  return load_machine_file(data_dir() + "/machines/" + s + ".json");
}

} // namespace grove::sched
