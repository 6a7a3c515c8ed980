// The CUDA printer's internals, shared by its files: print_cuda.cpp (the kernel: roles, ops),
// print_smem_order.cpp (the warpgroup barriers around ordinary shared-memory accesses),
// print_async.cpp (TMA copies and wgmma: planning and printing) and print_launcher.cpp (the host
// launcher and the tensor maps it builds).
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cuda/emit.h"
#include "cuda/print_cuda.h"
#include "cuda/print_leaf.h"

namespace grove::cuda::detail {

using namespace kir;

constexpr int64_t kMaxDynamicSmem = 232448; // 227 KB: an H100/H200 block's opt-in limit
constexpr int kWgmmaShapes[] = {256, 192, 128, 96, 64, 32, 16, 8}; // grove_sm90_wgmma.inc

// ---------------------------------------------------------------------------------------------
// TMA tensor maps: one per (global tensor, box, swizzle). A box one panel wide at most (128
// bytes when swizzled) and 256 elements per dimension; wider ops issue several copies.

using TmaMap = TensorMapSpec;

struct TmaPlan {
  size_t map = 0;             // index into the printer's maps
  std::vector<int64_t> chunk; // box dims of one copy (trailing dims of the op's box)
  std::vector<int64_t> count; // copies per dim
};

const char* tma_dtype(ElemType t);
std::string dims_text(const std::vector<int64_t>& v, const char* sep);
// "smem B_s5[slot] @(origin) [shape]": an op's box, for comments.
std::string ref_text(const Kernel& k, const Ref& r);
// A C++ expression for the blocks an op with `groups` (Op::cluster_groups) reaches, as a mask
// over cluster ranks: a literal for the whole cluster, else a grove::cluster_group of grove_rank.
std::string cluster_mask(const Kernel& k, const std::vector<unsigned>& groups);
// Kernel IR is issued by one elected thread for these ops; everything else by all threads.
bool is_issue_op(Op::Kind k);
// Elements of a register tensor each thread of the warpgroup holds (kir.h's layouts).
int64_t reg_elems_per_thread(const RegTensor& t);

template <class F> void walk(const Body& b, F&& f) {
  for (const Op& o : b) {
    f(o);
    if (o.kind == Op::Loop) walk(o.body, f);
  }
}

class Printer {
public:
  explicit Printer(const Kernel& k) : k_(k) {}
  std::string run();
  std::vector<TmaMap> maps() {
    for (const Role& r : k_.roles) collect(r.body);
    return maps_;
  }

private:
  const Kernel& k_;
  CodeWriter out_;
  CodeWriter* w_ = &out_;
  std::vector<TmaMap> maps_;
  std::map<const Op*, TmaPlan> plans_;
  // Per role while printing it.
  const Role* role_ = nullptr;
  RoleCtx ctx_;
  std::set<int> fenced_regs_; // wgmma dst and register-A tensors of the role
  // 8-bit register tensors a wgmma reads as A: each keeps its values in the accumulator layout
  // for leaf statements and, rewritten after every op that writes it, its A registers (<name>_a).
  std::set<int> fp8_a_;
  // Those whose values array is needed: a leaf statement or copy reads it, or an op other than a
  // register copy writes it (a register copy packs its source straight into the A registers).
  std::set<int> fp8_values_;
  void fp8_afrag_after(const Op& o, const RegTensor* from = nullptr);
  // Kernel IR ops are warpgroup-wide, but a compute or copy is spread over the warpgroup's 128
  // threads: shared memory one thread writes another may read next, an elected thread's release
  // must follow every thread's reads, and so must a write of what other threads (or their
  // wgmmas) still read. The smem buffers this warpgroup read since its last barrier: with
  // ordinary loads, by wgmma, and (at the top of a loop body) by the previous iteration:
  std::set<int> smem_read_, smem_read_by_wgmma_, smem_read_before_;
  // The buffers this warpgroup wrote with ordinary stores since its last barrier. The barrier
  // that shows them to its other threads and to its async proxy is printed late, before the
  // first op that may read them (flush_writes), so that a barrier of the kernel IR on the way
  // there (a ping-pong turn) stands in for it.
  std::set<int> smem_written_;
  bool leaves_writes_pending(const Op& o) const;
  bool must_flush_before(const Op& o) const; // writes are pending and `o` may read them
  bool loop_leaves_writes_pending(const Body& b) const;
  void flush_writes();
  void order_generic_smem(const Op& o);
  void before_generic_write(const Op& o);
  void note_loop_reads(const Body& b);
  void wg_barrier(const std::string& why);
  void barrier_passed();
  bool fence_first_ = false; // the op being printed is followed by a proxy fence, printed with it
  // Wgmmas whose first k-step overwrites their accumulator (scale-d = 0): a zero fill folded in.
  std::set<const Op*> zero_init_;
  const Op* folded_zero_fill(const Body& b, size_t i) const;
  void warpgroup_sync_before_release();

  void check();
  void collect(const Body& b);
  void plan_tma(const Op& op);
  void prologue();
  void kernel();
  void roles();
  void role_body(const Role& r);
  void body(const Body& b, size_t from = 0);
  void preload(const Body& b);
  std::map<const Op*, std::map<std::string, std::string>> preloaded_;
  int preload_count_ = 0;
  void op(const Op& o);
  void tma(const Op& o);
  void wgmma(const Op& o);
  void launcher();
  std::string bar_addr(const Op& o) const;
  std::string slot_base(const Ref& r) const;
  int entry_regs() const;
};

} // namespace grove::cuda::detail
