// Pass 6, lowering to kernel IR (see kernel_ir.cpp): the emitter of one block program's kernel.
// Private to the pass, whose files hold its parts by meaning; this header only declares them.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "lowering/passes.h"

namespace grove::lower {

class KernelIrEmitter {
public:
  KernelIrEmitter(const BlockProgram& b, const RolePlan& plan, const Lowered& l)
      : b_(b), plan_(plan), l_(l) {}
  kir::Kernel run();

private:
  using Body = kir::Body;
  using IExprP = kir::IExprP;
  using Kernel = kir::Kernel;
  using Op = kir::Op;
  using Ref = kir::Ref;
  using Scalar = kir::Scalar;

  // kernel_ir.cpp: buffers, barriers and the two roles; the refs, slots and phases every op uses.
  void own_tiles(Body& body);
  IExprP count_of(const std::string& it);
  IExprP iterations_before(const std::string& it, const IExprP& extent) const;
  static std::string carry_name(const std::string& it);
  bool carried(const std::string& it) const; // k_.tile_carries counts loop `it`
  Op op(Op::Kind kind, const Event* e = nullptr);
  Op set_regs(int n);
  IExprP slot_of(int ring, const std::string& it);
  IExprP parity_of(int ring, const std::string& it, int flip);
  Op ring_wait(int barrier, int r, const std::string& it, int flip, const Event& e,
               const std::string& note);
  Ref ref(const View& v, const std::string& it);

  // kernel_ir_checks.cpp: what a mapping asks that the kernel cannot honour.
  void check_alternate_tiles();
  void check_persistent();
  void check_registers();
  void check_wgmma_operands();

  // kernel_ir_producer.cpp: the producer's loads, and the cluster groups that share them.
  void producer(const Events& evs, Body& out, const std::string& it);
  std::vector<unsigned> release_groups(int r) const;
  std::pair<IExprP, int64_t> slice_in_group(unsigned group) const;
  Op release(int r, const Event& e, IExprP slot, const std::string& note);

  // kernel_ir_consumer.cpp: the consumers' waits, releases, compute, wgmma groups and stores.
  bool reads_tensor(const Event& e, int t) const;
  void note_wgmma_operands(const Events& evs);
  bool reads_what_consumers_rewrite(const Event& e, const Events& evs) const;
  bool consumer(const Events& evs, Body& out, int loop_id, const std::string& it);
  void wait_up_front(const Event& e, Body& out);
  void sync_aliases(const Event& e, Body& out);
  static bool only_mma(const Event& e);
  void leaf(const Event& e, Body& out, const std::string& it, int in_flight = 0);
  int64_t eval_dim(const Expr& d, const std::map<std::string, Scalar>& scalars, SourceLoc loc);
  void before_smem_writes(const Op& compute, Body& out);
  void wait_for_stores(const std::set<int>& staging, Body& out);
  int staging_loop_of(int smem) const;
  Op store_wait(const Event* e, const std::string& note);
  void copy(const Event& e, Body& out, const std::string& it);
  void fence_for_async_proxy(const std::set<int>& written, const Event* e, Body& out);

  const BlockProgram& b_;
  const RolePlan& plan_;
  const Lowered& l_;
  Kernel k_;
  std::map<int, int> smem_index_, reg_index_, full_, empty_, ring_of_copy_, ring_of_tensor_;
  std::set<int> ready_waited_; // up-front rings consumers already waited for
  std::set<int> wgmma_smem_;   // smem buffers some wgmma reads
  std::set<int> aliased_synced_;
  bool persistent_ = false;
  ClusterPlan cluster_;
  int tile_done_ = -1;                        // persistent with aliasing: consumers end a tile
  std::set<int> store_sources_;               // smem buffers TMA stores read
  bool defer_store_waits_ = false;            // wait for a store only before reuse and exit
  bool stored_ = false;                       // a consumer issued a TMA store
  std::map<std::string, IExprP> loop_extent_; // pipelined loop variable -> its extent
  std::map<int, const Event*> loops_;         // loop event id -> the loop
  // The consumers' iteration of a loop whose staging tiles have a slot per parity: its stores
  // (TMA store groups) per iteration, and those issued so far in this one and of which tiles.
  struct StagingIteration {
    int loop = -1;
    int stores_per_iteration = 0;
    int stores = 0;
    std::set<int> stored;
  } staging_;
};

} // namespace grove::lower
