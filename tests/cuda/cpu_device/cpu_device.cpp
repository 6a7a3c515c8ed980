#include "cpu_device.h"

#include <ucontext.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include "support/numeric.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define GROVE_ASAN_FIBERS 1
#endif

namespace grove::cpu {
namespace {

// Under AddressSanitizer (the printed kernels' memory check), every switch between stacks is
// announced, or ASan takes the fibers' frames for overflows.
#ifdef GROVE_ASAN_FIBERS
const void* g_sched_bottom = nullptr;
size_t g_sched_size = 0;
void* g_sched_fake = nullptr;
void to_fiber(const char* stack, size_t size) {
  __sanitizer_start_switch_fiber(&g_sched_fake, stack, size);
}
void back_in_scheduler() {
  __sanitizer_finish_switch_fiber(g_sched_fake, nullptr, nullptr);
}
void to_scheduler(void** fake) { // fake null: this fiber is done for good
  __sanitizer_start_switch_fiber(fake, g_sched_bottom, g_sched_size);
}
void in_fiber(void* fake) {
  __sanitizer_finish_switch_fiber(fake, &g_sched_bottom, &g_sched_size);
}
#else
void to_fiber(const char*, size_t) {}
void back_in_scheduler() {}
void to_scheduler(void**) {}
void in_fiber(void*) {}
#endif

struct Mbar {
  u32 expected = 0, pending = 0;
  long long tx = 0;
  u64 phases = 0; // completed phases
};

struct Counter { // a barrier that releases when `arrived` reaches its count
  u32 arrived = 0;
  u64 gen = 0;
};

// One wgmma instruction of a warpgroup, from its first thread's issue to its last's.
struct Mma {
  std::vector<float> a, b; // the shared-memory operands at the first issue (a: none if registers)
  u64 desc_a = 0, desc_b = 0;
  bool reg_a = false;
  unsigned issued = 0;
  float* d[128] = {};    // each thread's accumulator fragment
  u32 regs[128][4] = {}; // each thread's A registers (A from registers)
};
struct Warpgroup {
  std::map<u64, Mma> inflight; // by instruction number, until every thread has issued it
};

struct Block {
  unsigned index = 0;
  int rank = 0;
  std::unique_ptr<unsigned char[]> store;
  unsigned char* smem = nullptr; // 1024-byte aligned
  size_t bytes = 0; // the carve-up: what was launched less the 1024 bytes kept for alignment
  std::map<u32, Mbar> mbars;
  Counter named[16];
  Warpgroup warpgroups[8];
  u32 live = 0; // threads not exited
};

// An mbarrier wait of a warp that not every lane has passed: the barrier and parity, the count
// of completed phases that passes it, and the lanes still to pass.
struct WarpWait {
  u32 bar = 0, parity = 0;
  u64 target = 0;
  u32 left = 32;
};

struct Warp {
  bool stalled = false; // skipped this round
  u32 arrived = 0;
  u64 gen = 0;
  unsigned char buf[2][32][64];
  std::map<u64, WarpWait> waits; // by the wait's number in each lane's sequence of waits
};

// Tensor maps: what cuTensorMapEncodeTiled was given, in the 128 bytes of a CUtensorMap.

struct Map {
  const unsigned char* base;
  int dtype;
  u32 rank;
  int swizzle_bytes; // 0, 32, 64 or 128
  int elem;
  u64 dims[5];
  u64 strides[5]; // bytes; strides[0] = elem
  u32 box[5];
};
static_assert(sizeof(Map) <= 128, "a CUtensorMap is 128 bytes");

// A TMA store in flight, whose shared-memory reads wait for its issuing thread's wait for its
// bulk group (or its exit).
struct Store {
  Map map;
  u32 src;
  std::array<int, 5> coords;
};

void perform(const Store& st);

struct Fiber {
  ucontext_t ctx;
  std::unique_ptr<char[]> stack;
  Block* block = nullptr;
  Warp* warp = nullptr;
  unsigned tid = 0;
  bool done = false;
  std::string waiting;                   // what it waits for, for a deadlock report
  void* fake_stack = nullptr;            // AddressSanitizer's, while switched away
  u64 mbar_waits = 0;                    // mbarrier waits begun
  u64 wgmmas = 0;                        // wgmma instructions issued
  std::deque<u64> wgmma_groups;          // committed groups not waited for: their ends
  std::vector<Store> open_group;         // TMA stores since the last commit
  std::deque<std::vector<Store>> groups; // committed bulk groups not yet waited for
};

constexpr size_t kStack = 256 * 1024;

// The launch in progress (one at a time; single-threaded).
struct Launch {
  unsigned blocks = 0, threads = 0, cluster = 1;
  std::vector<std::unique_ptr<Block>> cl; // the cluster's blocks
  std::vector<std::unique_ptr<Warp>> warps;
  std::vector<std::unique_ptr<Fiber>> fibers;
  Counter cluster_bar;
  u32 cluster_live = 0;
  const std::function<void()>* kernel = nullptr;
  ucontext_t sched;
  Fiber* cur = nullptr;
  u64 progress = 0;
  std::string error;
  std::mt19937_64 rng;
};
Launch* g = nullptr;
std::string g_last_error;

Fiber& self() {
  return *g->cur;
}
Block& block_of(int cta) {
  if (cta < 0) return *self().block;
  if (cta >= static_cast<int>(g->cl.size()))
    fail("cluster rank " + std::to_string(cta) + " outside a cluster of " +
         std::to_string(g->cl.size()));
  return *g->cl[static_cast<size_t>(cta)];
}

void yield() {
  Fiber& f = self();
  to_scheduler(&f.fake_stack);
  swapcontext(&f.ctx, &g->sched);
  in_fiber(f.fake_stack);
}

template <class P> void wait_until(P ready, const std::string& what) {
  while (!ready()) {
    self().waiting = what;
    yield();
  }
  self().waiting.clear();
  ++g->progress;
}

// A counter barrier: arrive, then (if `wait`) wait until `count` arrivals released it.
void arrive_counter(Counter& c, u32 count, bool wait, const std::string& what) {
  u64 gen = c.gen;
  ++g->progress;
  if (++c.arrived >= count) {
    c.arrived = 0;
    ++c.gen;
    return;
  }
  if (wait) wait_until([&] { return c.gen != gen; }, what);
}

// Exited threads no longer count for __syncthreads or the cluster barrier.
void release_after_exit(Block& b) {
  Counter& s = b.named[0];
  if (s.arrived > 0 && s.arrived >= b.live) {
    s.arrived = 0;
    ++s.gen;
  }
  if (g->cluster_bar.arrived > 0 && g->cluster_bar.arrived >= g->cluster_live) {
    g->cluster_bar.arrived = 0;
    ++g->cluster_bar.gen;
  }
}

void fiber_main() {
  in_fiber(nullptr);
  Fiber& f = self();
  (*g->kernel)();
  // Stores still in flight complete (the kernels wait for them before they exit).
  for (const auto& group : f.groups)
    for (const Store& st : group) perform(st);
  for (const Store& st : f.open_group) perform(st);
  f.done = true;
  --f.block->live;
  --g->cluster_live;
  ++g->progress;
  release_after_exit(*f.block);
  to_scheduler(nullptr);
  swapcontext(&f.ctx, &g->sched);
}

// (Its own function: getcontext in the launch loop would make g++ warn that the loop's variables
// might be clobbered, as after setjmp.)
[[gnu::noinline]] std::unique_ptr<Fiber> make_fiber(Block* b, Warp* w, unsigned tid) {
  auto f = std::make_unique<Fiber>();
  f->block = b;
  f->warp = w;
  f->tid = tid;
  f->stack = std::make_unique<char[]>(kStack);
  getcontext(&f->ctx);
  f->ctx.uc_stack.ss_sp = f->stack.get();
  f->ctx.uc_stack.ss_size = kStack;
  f->ctx.uc_link = nullptr;
  makecontext(&f->ctx, fiber_main, 0);
  return f;
}

// Each launch's thread order: from GROVE_CPU_DEVICE_SEED when set, else fresh.
uint64_t schedule_seed() {
  if (const char* s = std::getenv("GROVE_CPU_DEVICE_SEED"); s && *s)
    return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

Mbar& mbar(u32 bar, int cta) {
  Block& b = block_of(cta);
  auto it = b.mbars.find(bar);
  if (it == b.mbars.end())
    fail("mbarrier at shared address " + std::to_string(bar) + " used before mbar_init");
  return it->second;
}

void maybe_complete(Mbar& m) {
  if (m.pending == 0 && m.tx == 0) {
    ++m.phases;
    m.pending = m.expected;
  }
}

int dtype_bytes(int dtype) {
  switch (dtype) {
  case 0: // UINT8
    return 1;
  case 6: // FLOAT16
  case 9: // BFLOAT16
    return 2;
  case 7: // FLOAT32
    return 4;
  }
  return 0;
}

Map decode(const void* p) {
  Map m;
  std::memcpy(&m, p, sizeof m);
  return m;
}

// The byte an access at `addr` swizzled over `span` bytes reaches: the 16-byte chunk bits (4-6 for
// 128, 4-5 for 64, 4 for 32) xor the bits above them from 7 (none when span is 0).
u32 swizzle(u32 addr, int span) {
  return span ? addr ^ (((addr >> 7) & (static_cast<u32>(span) / 16u - 1u)) << 4) : addr;
}

// Visits every element of the map's box at `coords`: f(smem byte offset in the box, global
// address or null when outside the tensor).
template <class F> void for_box(const Map& m, const int* coords, F&& f) {
  u64 n = 1;
  for (u32 d = 0; d < m.rank; ++d) n *= m.box[d];
  for (u64 i = 0; i < n; ++i) {
    u64 rest = i;
    bool inside = true;
    const unsigned char* gaddr = m.base;
    for (u32 d = 0; d < m.rank; ++d) {
      long long c = coords[d] + static_cast<long long>(rest % m.box[d]);
      rest /= m.box[d];
      if (c < 0 || static_cast<u64>(c) >= m.dims[d])
        inside = false;
      else
        gaddr += static_cast<u64>(c) * m.strides[d];
    }
    u64 off = i * static_cast<u64>(m.elem);
    f(off, inside ? gaddr : nullptr);
  }
}

// A TMA store's copy of its box, out of this block's shared memory (clipped to the tensor).
void perform(const Store& st) {
  for_box(st.map, st.coords.data(), [&](u64 off, const unsigned char* dst) {
    u32 a = swizzle(st.src + static_cast<u32>(off), st.map.swizzle_bytes);
    const unsigned char* p = smem_at(a, static_cast<size_t>(st.map.elem));
    if (dst) std::memcpy(const_cast<unsigned char*>(dst), p, static_cast<size_t>(st.map.elem));
  });
}

float to_f32(int type, u32 bits) {
  switch (type) {
  case 0:
    return f16_bits_to_f32(static_cast<uint16_t>(bits));
  case 1:
    return bf16_bits_to_f32(static_cast<uint16_t>(bits));
  case 2:
    return e4m3_bits_to_f32(static_cast<uint8_t>(bits));
  default:
    return e5m2_bits_to_f32(static_cast<uint8_t>(bits));
  }
}

// Element (mn, k) of a wgmma operand in shared memory, through its descriptor, whose swizzle mode
// (1, 2, 3) spans W = 128, 64 or 32 bytes. K-major: rows of the M (N) dimension, W bytes apart,
// 8-row groups SBO apart; M/N-major: rows of K, W bytes apart, 8-row groups SBO apart, W-byte
// panels of M (N) LBO apart.
float operand(u64 desc, int mn, int k, int type, bool mn_major) {
  const u32 start = static_cast<u32>(desc & 0x3fffu) << 4;
  const u32 lbo = static_cast<u32>((desc >> 16) & 0x3fffu) << 4;
  const u32 sbo = static_cast<u32>((desc >> 32) & 0x3fffu) << 4;
  const u32 mode = static_cast<u32>(desc >> 62);
  if (mode == 0) fail("a wgmma descriptor without swizzle (layout type 0)");
  const u32 w = 256u >> mode; // 1: 128, 2: 64, 3: 32
  // With base offset 0 (bits 49-51), the hardware takes the start to lie where the swizzle
  // pattern's row bits (7 and up) are 0: in the first 128 bytes of an 8 W-byte atom (a k step
  // moves it along a row, 32 bytes at a time).
  if ((desc >> 49) & 7u) fail("a wgmma descriptor with a base offset");
  if ((start >> 7) & (w / 16u - 1u))
    fail("a wgmma descriptor starting at " + std::to_string(start) + ", not in the first 128 " +
         "bytes of a " + std::to_string(8 * w) + "-byte swizzle atom");
  const u32 eb = type < 2 ? 2u : 1u;
  const u32 umn = static_cast<u32>(mn), uk = static_cast<u32>(k);
  if (!mn_major && uk * eb >= w) fail("a K-major wgmma k step wider than its swizzle span");
  u32 addr = mn_major ? start + (umn / (w / eb)) * lbo + (uk / 8) * sbo + (uk % 8) * w +
                            (umn % (w / eb)) * eb
                      : start + (umn / 8) * sbo + (umn % 8) * w + uk * eb;
  const unsigned char* p = smem_at(swizzle(addr, static_cast<int>(w)), eb);
  u32 bits = eb == 2 ? static_cast<u32>(p[0] | (p[1] << 8)) : p[0];
  return to_f32(type, bits);
}

} // namespace

// ---------------------------------------------------------------------------------------------

std::string launch(unsigned blocks, unsigned threads, unsigned cluster, size_t smem_bytes,
                   const std::function<void()>& kernel) {
  if (cluster == 0 || blocks % cluster != 0)
    return g_last_error = "a grid of " + std::to_string(blocks) +
                          " blocks is not a whole number of clusters of " + std::to_string(cluster);
  if (threads % 32 != 0 || threads == 0 || threads > 1024)
    return g_last_error = "blocks of " + std::to_string(threads) + " threads";
  if (smem_bytes > 232448)
    return g_last_error = std::to_string(smem_bytes) + " bytes of dynamic shared memory";
  Launch l;
  const uint64_t seed = schedule_seed();
  l.rng.seed(seed);
  l.blocks = blocks;
  l.threads = threads;
  l.cluster = cluster;
  l.kernel = &kernel;
  g = &l;
  for (unsigned first = 0; first < blocks && l.error.empty(); first += cluster) {
    l.cl.clear();
    l.warps.clear();
    l.fibers.clear();
    l.cluster_bar = {};
    l.cluster_live = cluster * threads;
    for (unsigned r = 0; r < cluster; ++r) {
      auto b = std::make_unique<Block>();
      b->index = first + r;
      b->rank = static_cast<int>(r);
      // The window starts 1024-byte aligned, so the launch's alignment slack is not needed.
      b->bytes = smem_bytes >= 1024 ? smem_bytes - 1024 : smem_bytes;
      const size_t store = b->bytes + 2048;
      b->store = std::make_unique<unsigned char[]>(store);
      std::memset(b->store.get(), 0xa5, store); // not zero: unwritten reads show
      auto raw = reinterpret_cast<uintptr_t>(b->store.get());
      b->smem = b->store.get() + ((1024 - raw % 1024) % 1024);
#ifdef GROVE_ASAN_FIBERS
      // Past the carve-up (and before the window) is no kernel's.
      ASAN_POISON_MEMORY_REGION(b->store.get(), static_cast<size_t>(b->smem - b->store.get()));
      ASAN_POISON_MEMORY_REGION(b->smem + b->bytes,
                                store - static_cast<size_t>(b->smem - b->store.get()) - b->bytes);
#endif
      b->live = threads;
      for (unsigned w = 0; w < threads / 32; ++w) l.warps.push_back(std::make_unique<Warp>());
      for (unsigned t = 0; t < threads; ++t) {
        l.fibers.push_back(make_fiber(b.get(), l.warps[r * (threads / 32) + t / 32].get(), t));
      }
      l.cl.push_back(std::move(b));
    }
    // Rounds until every thread exits, each thread running until it waits; a round in which no
    // thread got anywhere is a deadlock. The order of the threads in a round is shuffled (seeded),
    // so that a read of shared memory another thread writes without a barrier between them sees
    // the write missing in one order or another: the races inside a warpgroup, which the
    // emulator (a warpgroup is one agent there) cannot see.
    std::vector<size_t> order(l.fibers.size());
    std::iota(order.begin(), order.end(), size_t{0});
    // In three rounds of four, each warp sits the round out with probability one half, so that
    // warps drift apart (a warp that reads shared memory another overwrites without a barrier
    // gets overtaken); every fourth round runs them all and is the one a deadlock is judged by.
    for (unsigned round = 0, live = 1; live && l.error.empty(); ++round) {
      live = 0;
      const bool full = round % 4 == 3;
      const u64 before = l.progress;
      for (auto& w : l.warps) w->stalled = !full && (l.rng() & 1);
      std::shuffle(order.begin(), order.end(), l.rng);
      for (size_t i : order) {
        auto& f = l.fibers[i];
        if (f->done) continue;
        live = 1;
        if (f->warp->stalled) continue;
        l.cur = f.get();
        to_fiber(f->stack.get(), kStack);
        swapcontext(&l.sched, &f->ctx);
        back_in_scheduler();
        if (!l.error.empty()) break;
      }
      if (!full) continue;
      if (live && l.error.empty() && l.progress == before) {
        // One line per run of threads of a block waiting for the same thing.
        std::string where;
        for (size_t i = 0; i < l.fibers.size();) {
          const Fiber& f = *l.fibers[i];
          size_t j = i + 1;
          while (j < l.fibers.size() && l.fibers[j]->block == f.block &&
                 l.fibers[j]->done == f.done && l.fibers[j]->waiting == f.waiting)
            ++j;
          if (!f.done)
            where += "\n  block " + std::to_string(f.block->index) + " threads " +
                     std::to_string(f.tid) + ".." + std::to_string(l.fibers[j - 1]->tid) + ": " +
                     f.waiting;
          i = j;
        }
        l.error = "deadlock: no thread can go on" + where;
      }
    }
  }
  g = nullptr;
  if (!l.error.empty())
    l.error += " (thread order seed " + std::to_string(seed) +
               ": GROVE_CPU_DEVICE_SEED=" + std::to_string(seed) + " runs the same order)";
  return g_last_error = l.error;
}

const std::string& last_error() {
  return g_last_error;
}

Coord3 thread_idx() {
  return {self().tid, 0, 0};
}
Coord3 block_idx() {
  return {self().block->index, 0, 0};
}
Coord3 grid_dim() {
  return {g->blocks, 1, 1};
}
Coord3 block_dim() {
  return {g->threads, 1, 1};
}

unsigned char* dynamic_smem() {
  return self().block->smem;
}

u32 smem_addr(const void* p) {
  const Block& b = *self().block;
  auto d = static_cast<const unsigned char*>(p) - b.smem;
  if (d < 0 || static_cast<size_t>(d) >= b.bytes) fail("a generic pointer outside shared memory");
  return static_cast<u32>(d);
}

unsigned char* smem_at(u32 addr, size_t bytes, int cta) {
  Block& b = block_of(cta);
  if (addr + bytes > b.bytes)
    fail("shared-memory access at " + std::to_string(addr) + " (+" + std::to_string(bytes) +
         ") outside the kernel's " + std::to_string(b.bytes) + " bytes");
  return b.smem + addr;
}

int cluster_rank() {
  return self().block->rank;
}

void fail(const std::string& what) {
  Fiber& f = self();
  g->error =
      "block " + std::to_string(f.block->index) + " thread " + std::to_string(f.tid) + ": " + what;
  to_scheduler(nullptr);
  swapcontext(&f.ctx, &g->sched); // never resumed
  __builtin_unreachable();
}

void sync_threads() {
  Block& b = *self().block;
  arrive_counter(b.named[0], b.live, true, "__syncthreads");
}

void named_barrier(u32 id, u32 threads, bool wait) {
  if (id == 0 || id > 15) fail("named barrier id " + std::to_string(id));
  if (threads == 0 || threads % 32)
    fail("a named barrier for " + std::to_string(threads) + " threads (a multiple of 32)");
  arrive_counter(self().block->named[id], threads, wait,
                 "named barrier " + std::to_string(id) + " (" + std::to_string(threads) +
                     " threads)");
}

void cluster_barrier() {
  arrive_counter(g->cluster_bar, g->cluster_live, true, "cluster barrier");
}

void mbar_init(u32 bar, u32 arrivals) {
  if (bar % 8) fail("mbarrier at an address that is not 8-byte aligned");
  smem_at(bar, 8);
  Mbar& m = self().block->mbars[bar];
  m = Mbar{arrivals, arrivals, 0, 0};
  ++g->progress;
}

void mbar_arrive(u32 bar, int cta, u32 expect_tx) {
  Mbar& m = mbar(bar, cta);
  m.tx += expect_tx;
  if (m.pending == 0) fail("an arrival on a completed mbarrier phase");
  --m.pending;
  ++g->progress;
  maybe_complete(m);
}

void mbar_complete_tx(u32 bar, int cta, u32 bytes) {
  Mbar& m = mbar(bar, cta);
  m.tx -= bytes;
  ++g->progress;
  maybe_complete(m);
}

void mbar_wait(u32 bar, u32 parity) {
  // The lanes of a warp wait on an mbarrier together on the hardware (converged: the generated
  // code has every lane of a warp wait and one elected lane issue), so they all see the phase
  // complete. Here each lane runs on its own: a lane that looked late, after the barrier had
  // completed the phase and come round to the same parity again, would wait forever (a deadlock
  // the hardware cannot have). So the first lane of the warp to reach its n-th wait fixes how many
  // completed phases pass it, and every lane's n-th wait passes from then on.
  Fiber& f = self();
  Mbar& m = mbar(bar, -1);
  auto [it, first] = f.warp->waits.try_emplace(f.mbar_waits++);
  WarpWait& w = it->second;
  if (first) {
    w.bar = bar;
    w.parity = parity;
    w.target = m.phases % 2 != parity ? m.phases : m.phases + 1;
  } else if (w.bar != bar || w.parity != parity) {
    fail("the lanes of a warp wait on different mbarriers (shared address " +
         std::to_string(w.bar) + " parity " + std::to_string(w.parity) + ", and " +
         std::to_string(bar) + " parity " + std::to_string(parity) + ")");
  }
  if (m.phases >= w.target) {
    // A lane that finds the phase complete lets the others have their turn before it goes on.
    ++g->progress;
    yield();
  } else {
    wait_until([&] { return m.phases >= w.target; },
               "mbarrier at " + std::to_string(bar) + ", parity " + std::to_string(parity));
  }
  if (--w.left == 0) f.warp->waits.erase(it);
}

void warp_exchange(const void* in, size_t bytes, void* out) {
  Warp& w = *self().warp;
  const u64 gen = w.gen;
  const unsigned lane = self().tid % 32;
  std::memcpy(w.buf[gen % 2][lane], in, bytes);
  ++g->progress;
  if (++w.arrived == 32) {
    w.arrived = 0;
    ++w.gen;
  } else {
    wait_until([&] { return w.gen != gen; }, "a warp collective (shfl, stmatrix, wgmma)");
  }
  for (unsigned l = 0; l < 32; ++l)
    std::memcpy(static_cast<unsigned char*>(out) + l * bytes, w.buf[gen % 2][l], bytes);
}

void tma_load(u32 dst, const void* map, u32 bar, const int* coords, int rank, u32 mask) {
  const Map m = decode(map);
  if (static_cast<u32>(rank) != m.rank) fail("a TMA load with coordinates of another rank");
  if (dst % 128) fail("a TMA load into shared memory not 128-byte aligned");
  u32 total = m.elem;
  for (u32 d = 0; d < m.rank; ++d) total *= m.box[d];
  std::vector<int> targets;
  if (mask == 0)
    targets.push_back(cluster_rank());
  else
    for (int r = 0; r < 16; ++r)
      if (mask & (1u << r)) targets.push_back(r);
  for (int t : targets) {
    for_box(m, coords, [&](u64 off, const unsigned char* src) {
      u32 a = swizzle(dst + static_cast<u32>(off), m.swizzle_bytes);
      unsigned char* p = smem_at(a, static_cast<size_t>(m.elem), t);
      if (src)
        std::memcpy(p, src, static_cast<size_t>(m.elem));
      else
        std::memset(p, 0, static_cast<size_t>(m.elem));
    });
    mbar_complete_tx(bar, t, total);
  }
}

void tma_store(const void* map, u32 src, const int* coords, int rank) {
  const Map m = decode(map);
  if (static_cast<u32>(rank) != m.rank) fail("a TMA store with coordinates of another rank");
  if (src % 128) fail("a TMA store from shared memory not 128-byte aligned");
  Store st{m, src, {}};
  for (int d = 0; d < rank; ++d) st.coords[static_cast<size_t>(d)] = coords[d];
  // Hardware reads the tile any time from the issue to the wait: here either at once (a write
  // not yet barriered in shows) or at the wait (a write the wait should have held back shows).
  if (g->rng() & 1)
    perform(st);
  else
    self().open_group.push_back(st);
  ++g->progress;
}

void tma_store_commit() {
  Fiber& f = self();
  f.groups.push_back(std::move(f.open_group));
  f.open_group.clear();
}

void tma_store_wait_read(int pending) {
  Fiber& f = self();
  while (static_cast<int>(f.groups.size()) > pending) {
    for (const Store& st : f.groups.front()) perform(st);
    f.groups.pop_front();
  }
}

int encode_tiled(void* out, int dtype, u32 rank, void* base, const uint64_t* dims,
                 const uint64_t* strides, const uint32_t* box, const uint32_t* elem_strides,
                 int interleave, int swizzle) {
  Map m{};
  m.base = static_cast<const unsigned char*>(base);
  m.dtype = dtype;
  m.rank = rank;
  m.elem = dtype_bytes(dtype);
  if (m.elem == 0 || rank < 1 || rank > 5 || interleave != 0) return 1;
  if (reinterpret_cast<uintptr_t>(base) % 16) return 1; // globalAddress: 16-byte aligned
  if (swizzle < 0 || swizzle > 3) return 1;             // NONE, 32B, 64B or 128B
  m.swizzle_bytes = swizzle ? 16 << swizzle : 0;
  m.strides[0] = static_cast<u64>(m.elem);
  for (u32 d = 0; d < rank; ++d) {
    m.dims[d] = dims[d];
    m.box[d] = box[d];
    if (dims[d] == 0 || box[d] == 0 || box[d] > 256 || elem_strides[d] != 1) return 1;
    if (d > 0) {
      m.strides[d] = strides[d - 1];
      if (strides[d - 1] % 16 || strides[d - 1] >= (1ull << 40)) return 1;
    }
  }
  const u64 inner = static_cast<u64>(box[0]) * static_cast<u64>(m.elem);
  if (inner % 16) return 1;
  if (m.swizzle_bytes && inner > static_cast<u64>(m.swizzle_bytes)) return 1;
  // (A swizzled box narrower than its span is legal, but its shared-memory layout is not
  // modelled here; Grove's printer never asks for one.)
  if (m.swizzle_bytes && inner != static_cast<u64>(m.swizzle_bytes)) return 1;
  std::memcpy(out, &m, sizeof m);
  return 0;
}

void wgmma(float* d, int n, int a_type, int b_type, u64 desc_a, const u32* a_regs, u64 desc_b,
           int trans_a, int trans_b, int scale_d) {
  // wgmma.mma_async is one operation of the warpgroup's 128 threads, each issuing it in turn (the
  // k-th wgmma of every thread is the same instruction). It may read its shared-memory operands
  // from the first issue on: taken then, so a write by another thread that no barrier ordered
  // before shows. It completes once all 128 have issued it (what wgmma_wait waits for).
  Fiber& f = self();
  Warpgroup& wg = f.block->warpgroups[f.tid / 128 % 8];
  const u64 index = f.wgmmas++;
  const int k_elems = a_type < 2 ? 16 : 32;
  auto [it, first] = wg.inflight.try_emplace(index);
  Mma& m = it->second;
  if (first) {
    m.desc_a = desc_a;
    m.desc_b = desc_b;
    m.reg_a = a_regs != nullptr;
    m.a.assign(a_regs ? 0 : static_cast<size_t>(64 * k_elems), 0.0f);
    m.b.assign(static_cast<size_t>(n * k_elems), 0.0f);
    for (int k = 0; k < k_elems; ++k) {
      if (!a_regs)
        for (int r = 0; r < 64; ++r)
          m.a[static_cast<size_t>(r * k_elems + k)] = operand(desc_a, r, k, a_type, trans_a);
      for (int c = 0; c < n; ++c)
        m.b[static_cast<size_t>(c * k_elems + k)] = operand(desc_b, c, k, b_type, trans_b);
    }
  } else if (m.desc_a != desc_a || m.desc_b != desc_b || m.reg_a != (a_regs != nullptr)) {
    fail("the threads of a warpgroup issued one wgmma with different operands");
  }
  const unsigned me = f.tid % 128;
  m.d[me] = d;
  if (a_regs) std::copy(a_regs, a_regs + 4, m.regs[me]);
  ++g->progress;
  // This thread's fragment (A from shared memory), or every thread's once the last has given its
  // A registers (the quad of a row holds them; 16-bit m64k16: thread q columns 2q, 2q + 1 and 8
  // more, a pair a register; 8-bit m64k32: columns 4q..4q+3 and 16 more, a byte each).
  auto fragment = [&](unsigned t) {
    const unsigned lane = t % 32, warp = t / 32;
    auto a_at = [&](int row, int k) -> float {
      if (!a_regs)
        return m.a[static_cast<size_t>((static_cast<int>(warp) * 16 + row) * k_elems + k)];
      const unsigned uk = static_cast<unsigned>(k), half = static_cast<unsigned>(k_elems) / 2;
      const unsigned per = half / 4; // columns a thread holds in a row before the next quad's
      const unsigned src = warp * 32 + (static_cast<unsigned>(row) % 8) * 4 + (uk % half) / per;
      const u32 word = m.regs[src][(row >= 8 ? 1 : 0) + (uk >= half ? 2 : 0)];
      const unsigned bits = 32 / per; // 16: a pair a register, 8: four bytes
      return to_f32(a_type, (word >> (bits * (uk % per))) & ((1u << bits) - 1u));
    };
    for (int j = 0; j < n / 8; ++j)
      for (int rh = 0; rh < 2; ++rh)
        for (int e = 0; e < 2; ++e) {
          const int row = static_cast<int>(lane / 4) + 8 * rh;
          const int col = 8 * j + 2 * static_cast<int>(lane % 4) + e;
          double acc = 0;
          for (int k = 0; k < k_elems; ++k)
            acc += static_cast<double>(a_at(row, k)) *
                   static_cast<double>(m.b[static_cast<size_t>(col * k_elems + k)]);
          float& o = m.d[t][j * 4 + rh * 2 + e];
          o = static_cast<float>(acc) + (scale_d ? o : 0.0f);
        }
  };
  if (!a_regs) fragment(me);
  if (++m.issued < 128) return;
  if (a_regs)
    for (unsigned t = 0; t < 128; ++t) fragment(t);
  wg.inflight.erase(it);
}

void wgmma_commit() {
  Fiber& f = self();
  f.wgmma_groups.push_back(f.wgmmas);
}

void wgmma_wait(int pending) {
  Fiber& f = self();
  Warpgroup& wg = f.block->warpgroups[f.tid / 128 % 8];
  while (static_cast<int>(f.wgmma_groups.size()) > pending) {
    const u64 end = f.wgmma_groups.front(); // one past the group's last instruction
    wait_until([&] { return wg.inflight.empty() || wg.inflight.begin()->first >= end; },
               "the warpgroup's other threads to issue a wgmma this thread waits for");
    f.wgmma_groups.pop_front();
  }
}

void stmatrix_x4(u32 row_addr, const u32* regs) {
  struct Lane {
    u32 addr, r[4];
  } mine{row_addr, {regs[0], regs[1], regs[2], regs[3]}}, all[32];
  warp_exchange(&mine, sizeof mine, all);
  // This lane gave the address of row (lane % 8) of matrix (lane / 8), whose 8 elements lanes
  // 4 * row .. 4 * row + 3 hold, two each, in register (lane / 8).
  const unsigned lane = self().tid % 32, mat = lane / 8, row = lane % 8;
  if (row_addr % 16) fail("stmatrix row address not 16-byte aligned");
  unsigned char* p = smem_at(row_addr, 16);
  for (unsigned q = 0; q < 4; ++q) std::memcpy(p + 4 * q, &all[4 * row + q].r[mat], 4);
}

} // namespace grove::cpu
