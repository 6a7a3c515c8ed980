// Input types of the scheduler: the machine model of one SM and the dependence graph of a loop
// body at tile level. Both are plain data, loaded from JSON (see data/machines and data/graphs).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace grove::sched {

// A functional unit of the SM that operations occupy (tensor cores, MUFU/SFU, FP32 pipes, TMA).
// `count` copies can serve operations at the same time.
struct Unit {
  std::string name;
  int count = 1;
  std::string source;
};

// How much work of one kind a unit retires per clock, e.g. 2048 fp16 FMAs per clock on "tensor".
struct Rate {
  std::string work; // key used in an operation's "work" map
  std::string unit; // the unit that does this work
  double per_clock = 1;
  std::string source;
};

// Properties shared by every operation of one kind (tma_load, wgmma, alu, ...).
struct OpKind {
  std::string name;
  // Async ops (TMA, WGMMA) occupy the issuing warp only for `issue_cycles`; the unit runs on.
  // Synchronous ops (CUDA-core work) occupy the issuing warp for their whole duration.
  bool async = false;
  // Completion time not known statically (memory). Such ops get a warp of their own.
  bool variable_latency = false;
  int64_t issue_cycles = 0;
  // Cycles from the end of the unit work to the result being usable (pipeline drain, memory
  // latency). For variable-latency ops this is the planning latency (a loaded, not idle, figure).
  int64_t latency = 0;
  // How a synchronous op's unit times combine into warp time: "sum" (phases serialise in one
  // instruction stream) or "max" (phases overlap perfectly).
  std::string combine = "sum";
  std::string source;
};

// One SM of a GPU as the scheduler sees it. Every figure has a source string.
struct Machine {
  std::string name;
  std::string description;
  double clock_ghz = 1.0;
  std::vector<Unit> units;
  std::vector<Rate> rates;
  std::map<std::string, OpKind> kinds;
  int64_t smem_bytes = 0;           // shared memory one block may use
  int regs_per_thread_max = 255;    // architectural limit per thread
  int register_file = 65536;        // 32-bit registers per SM, shared by the block's warps
  int threads_per_role = 128;       // a role is one warpgroup (setmaxnreg works per warpgroup)
  int max_roles = 4;                // warpgroups per block the scheduler may use
  int base_regs = 32;               // registers a compute warpgroup needs besides its values
  int producer_regs = 24;           // registers of a warpgroup that only issues data movement
  int reg_granule = 8;              // setmaxnreg granularity
  int64_t cross_role_latency = 0;   // mbarrier arrive -> waiting warp released
  int64_t reg_transfer_latency = 0; // register value to another warpgroup through shared memory
  int64_t barrier_bytes = 8;        // one mbarrier
  std::map<std::string, std::string> sources; // source per scalar figure above

  const Unit* unit(const std::string& n) const;
  int unit_index(const std::string& n) const;
  const Rate* rate(const std::string& work) const;
};

// One operation of the loop body.
struct Op {
  std::string name;
  std::string kind;                      // key into Machine::kinds
  std::map<std::string, double> work;    // work amount per Rate::work key
  std::map<std::string, int64_t> cycles; // explicit unit cycles (override work)
  std::optional<int64_t> latency;        // explicit start->result latency (override)
  // The value this op defines, if any: per-thread registers (register value) or bytes of
  // shared memory (shared value). An accumulator is updated in place every iteration: one copy,
  // live for the whole loop, never moved between warps.
  int regs = 0;
  int64_t smem_bytes = 0;
  bool accumulator = false;
  std::string note;
};

// Dependence: `dst` of iteration i+distance needs `src` of iteration i. `data` edges carry src's
// value (its storage stays live until dst has finished reading it); order edges do not.
struct Edge {
  int src = 0;
  int dst = 0;
  int distance = 0;
  std::optional<int64_t> latency; // default: src's latency
  bool data = true;
};

struct Graph {
  std::string name;
  std::string description;
  std::vector<Op> ops;
  std::vector<Edge> edges;
  int64_t fixed_smem_bytes = 0; // tiles resident for the whole loop (e.g. the Q tile)

  int op_index(const std::string& n) const;
};

// Loading. Errors throw std::runtime_error naming the file and the field.
Machine load_machine_file(const std::string& path);
Graph load_graph_file(const std::string& path);
Machine parse_machine(const std::string& json_text, const std::string& origin = "<string>");
Graph parse_graph(const std::string& json_text, const std::string& origin = "<string>");

// Directory holding machines/ and graphs/ (the repository's data/ unless GROVE_DATA_DIR is set).
std::string data_dir();
// "h100" -> data/machines/h100.json; a path ending in .json is used as is.
Machine load_machine(const std::string& name_or_path);

} // namespace grove::sched
