// One thread block under emulation: its agents (role instances), the asynchronous operations in
// flight, shared memory and barriers, and the seeded scheduler that interleaves them.
#pragma once
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "emulator/barriers.h"
#include "emulator/box.h"
#include "emulator/emulator.h"
#include "emulator/smem.h"
#include "emulator/vclock.h"

namespace grove::emu {

struct Frame {
  const kir::Body* body = nullptr;
  size_t pc = 0;
  const kir::Op* loop = nullptr; // null for the role's body
  int64_t extent = 0, iter = 0;
};

// A role instance: the producer warp or one consumer warpgroup.
struct Agent {
  int role = 0, wg = 0, tid = 0, threads = 32;
  int cta = 0;       // its block's rank in the cluster
  std::string label; // "producer", "consumer wg 1"
  std::vector<Frame> frames;
  bool done = false;
  Env env;
  VClock vc;
  std::vector<std::vector<double>> regs; // per kernel register tensor, logical row-major
  std::vector<bool> regs_unfenced;       // written by compute/copy since the last wgmma.fence
  bool group_fenced = false; // a wgmma.fence since the last commit: the open group may issue
  std::vector<int> open_wgmma, open_stores;                // issued, not yet in a committed group
  std::deque<std::vector<int>> wgmma_groups, store_groups; // committed, not yet waited
  std::vector<Box> unfenced_smem; // smem written by compute/copy since its last fence.proxy.async
  std::map<std::pair<int, int64_t>, int64_t> synced_phase; // mbarrier slot -> phase it waited on
  bool at_bar = false; // arrived at the named barrier of the current op, waiting for release
  int64_t bar_gen = 0;

  const kir::Op* current() const {
    return done ? nullptr : &(*frames.back().body)[frames.back().pc];
  }
  Epoch epoch() const { return {tid, vc[static_cast<size_t>(tid)]}; }
};

struct AsyncOp {
  enum Kind { Load, Store, Mma } kind = Load;
  const kir::Op* op = nullptr;
  int agent = 0, tid = 0;
  VClock vc; // the issuer's clock at issue, plus this op's own entry
  Env env;   // the issuer's variables at issue
  int64_t ready_at = 0;
  bool done = false, retired = false; // retired: a wait made its completion known to the issuer
  std::vector<Box> smem_reads;        // Store: its source; Mma: smem operands
  Box smem_write;                     // Load: its destination
  Box global;                         // Load: source; Store: destination
  int64_t bar_slot = 0, bytes = 0;
  std::vector<int> ctas; // Load: the blocks whose smem_write place and barrier it fills (more
                         // than one: a multicast)
  std::string issued_at; // the issuer's loop iteration, e.g. "kt=2"
  Epoch epoch() const { return {tid, 1}; }
};

using Tensors = std::map<std::string, std::shared_ptr<Buffer>>;

class Block {
public:
  Block(const kir::Kernel& k, const std::vector<Buffer*>& globals,
        const std::vector<std::vector<int64_t>>& global_shapes,
        const std::map<std::string, double>& float_params, const EmulatorOptions& opts,
        std::mt19937_64& rng, EmulatorReport& report);
  // Runs the blocks of one cluster (one block without clusters) together; `envs` binds each
  // block's grid variables (and the sizes). Returns false when it found an error.
  bool run(const std::vector<Env>& envs, const std::string& label);

private:
  struct Fatal : std::runtime_error {
    using std::runtime_error::runtime_error;
  };
  // block.cpp: scheduling and control flow
  void normalize(Agent& a);
  void finish(Agent& a);
  void deadlock();
  std::string where(const Agent& a, const kir::Op* op) const;
  static std::string loops(const Agent& a); // "kt=2, j=0" of the enclosing loops
  void error(const Agent& a, const kir::Op* op, const std::string& msg);
  std::string waiting_on(Agent& a);
  // ops.cpp: synchronization and asynchronous operations
  bool ready(Agent& a, const kir::Op& op);
  bool exec(Agent& a, const kir::Op& op); // false: the op has more to do (named barrier)
  void issue(Agent& a, const kir::Op& op);
  void complete(AsyncOp& op);
  void retire(Agent& a, std::deque<std::vector<int>>& groups, size_t keep);
  bool groups_done(const std::deque<std::vector<int>>& groups, size_t keep) const;
  void check_smem_in_flight(const Agent& a, const kir::Op& op, const Box& b, bool write);
  void check_smem_unfenced(const Agent& a, const kir::Op& op, const Box& b);
  void check_regs_in_flight(const Agent& a, const kir::Op& op, int reg, bool write);
  // compute.cpp: synchronous data movement and leaf statements
  Box box(const Agent& a, const kir::Ref& r, const Env& env) const;
  std::vector<double> read(Agent& a, const kir::Op& op, const kir::Ref& r, const Box& b);
  void write(Agent& a, const kir::Op& op, const kir::Ref& r, const Box& b,
             const std::vector<double>& v);
  void compute(Agent& a, const kir::Op& op);
  void copy(Agent& a, const kir::Op& op);
  void mma(AsyncOp& op); // a wgmma's arithmetic at completion

  const kir::Kernel& k_;
  const std::vector<Buffer*>& globals_;
  const std::vector<std::vector<int64_t>>& global_shapes_;
  const std::map<std::string, double>& float_params_;
  const EmulatorOptions& opts_;
  std::mt19937_64& rng_;
  EmulatorReport& report_;
  std::set<std::string> seen_;

  std::string label_;
  std::vector<Agent> agents_;
  std::vector<AsyncOp> ops_;    // every async op issued in this block, by id
  std::vector<int> live_;       // ids not yet done (loads) or not yet retired (readers)
  std::vector<SmemModel> smem_; // per block of the cluster
  std::vector<Mbarriers> bars_;
  // Named barriers are per block: key cta * 32 + id; the cluster barrier is key -1.
  std::map<int, NamedBarrier> named_;
  std::map<int, int> bar_threads_; // key -> threads of the agents whose code uses it
  static int named_key(const Agent& a, const kir::Op& op);
  std::vector<int> targets(const Agent& a, const kir::Op& op) const; // blocks an op signals
  void check_alive(const Agent& a, const kir::Op& op, int cta);
  void release_cluster(); // completes barrier.cluster once every live thread has arrived
  int64_t now_ = 0;
  int next_tid_ = 0;
  bool failed_ = false;
};

} // namespace grove::emu
