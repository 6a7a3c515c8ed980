// Kernel IR: one thread block's program, explicit about every copy, barrier and asynchronous
// operation, as Hopper executes it. The lowering produces it; the emulator runs it on the CPU;
// the CUDA back end prints it. Everything the three must agree on is here.
//
// Execution model. A kernel runs a grid of blocks; each block's coordinates are the variables
// named by `Kernel::grid_vars`. A block holds `roles`: a producer (one warp that issues TMA
// loads) and consumers (warpgroups that compute), each running its own op list; the consumer body
// runs once per consumer warpgroup with the variable `wg` bound to its index. Roles talk only
// through mbarriers (full/empty rings) and shared memory.
//
// Persistent kernels launch fewer blocks than there are output tiles (one per SM): the grid is
// the single coordinate `grove_cta` < `grove_ctas` (chosen at launch), and each role's body is a
// loop over the tiles grove_cta, grove_cta + grove_ctas, ..., whose `lets` bind the tile
// coordinates `tile_vars` in a cache-friendly order. Rings keep counting across tiles.
//
// Clusters: `cluster` consecutive blocks (grove_rank = grove_cta % cluster) take a group of
// neighbouring tiles together, split along one or two tile coordinates (`cluster_dims`; rank
// r = r0 + size0 * r1, where block r takes tile size_d * group_d + r_d along dimension d). A TMA
// load that does not depend on some of those coordinates is the same for every block that differs
// only along them (its group): each of them loads a slice and multicasts it into the same place
// of every block of the group, signalling their mbarriers; so each slot is released to the
// producers of every block that filled part of it. A clustered kernel that is not persistent has
// the same tile loop, one iteration a block (one group of tiles per cluster, all launched at
// once).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "frontend/ast.h"
#include "kernel/iexpr.h"
#include "support/numeric.h"

namespace grove::kir {

// TMA / WGMMA shared-memory layouts: row-major, or the 32-, 64- or 128-byte swizzle (the span
// whose 16-byte chunks are permuted; see SmemBuffer).
enum class Swizzle { None, B32, B64, B128 };
int swizzle_bytes(Swizzle s); // 0, 32, 64 or 128

// A global tensor the kernel reads or writes: a parameter of the entry task. Row-major, with
// rows padded to a multiple of 16 bytes (row_pitch), as TMA can only stride over those.
struct GlobalTensor {
  std::string name;
  ElemType elem = ElemType::F16;
  std::vector<IExprP> shape; // row-major; sizes may be runtime variables
  bool read = false, written = false;
  // A HOST local: not the caller's but the runtime's to allocate (its contents start undefined),
  // written by one kernel of the program and read by a later one.
  bool temporary = false;
};

// Elements from one row of `t` to the next: its innermost extent rounded up to 16 bytes (equal
// to it where rows already are a multiple of 16 bytes; a tensor of rank 1 has no rows).
IExprP row_pitch(const GlobalTensor& t);

struct Kernel;
// Whether the kernel reaches global tensor `tensor` (an index into k.tensors) only through TMA
// copies, whose tensor maps the host builds: then its strides are the host's to choose, where
// element-wise reads and writes in the kernel's code step by row_pitch.
bool tma_only(const Kernel& k, int tensor);

struct Ref;
// The element type of what `r` names (a register tensor, a shared buffer or a global tensor).
ElemType elem_of(const Kernel& k, const Ref& r);

// A ring of `slots` tiles in shared memory. A slot is `shape` elements laid out with `swizzle`.
// None: row-major. Swizzled with span W (128, 64 or 32 bytes; as TMA writes it and a WGMMA
// descriptor of that swizzle mode reads it): a tile whose rows are wider than W bytes is stored as
// W-byte-wide column panels one after another (each [rows, W bytes], one TMA box each); within a
// panel, row r starts at r * W bytes and the 16-byte chunk at byte offset o is stored at chunk
// (o / 16) ^ ((o / 128) % (W / 16)): the hardware XORs address bits [4, 4 + log2(W / 16)) with bits
// [7, ...), on slots aligned to the 8-row atom (8 W bytes). For 128-byte rows: chunk c of row r is
// stored at chunk c ^ (r % 8); for 64-byte rows at c ^ ((r / 2) % 4); for 32-byte rows at
// c ^ ((r / 4) % 2). The emulator and the CUDA back end both use this layout.
struct SmemBuffer {
  std::string name;
  ElemType elem = ElemType::F16;
  std::vector<int64_t> shape;
  int slots = 1;
  Swizzle swizzle = Swizzle::None;
  int64_t offset = 0; // bytes from the start of dynamic shared memory (1024-byte aligned)
  int64_t slot_bytes() const;
};
// The layout TMA and wgmma want for `b`'s slots: the widest span (128, 64 or 32 bytes) that divides
// a row, where a slot is whole 8-row atoms (8 rows of the span); None where it is not (a bias row,
// a vector of scales), so that every slot of a ring starts on an atom.
Swizzle widest_swizzle(const SmemBuffer& b);

// A tensor in registers, one copy per consumer warpgroup: the warpgroup's piece. Its layout on the
// GPU follows from its rank. Rank 2, [R, C] with R a multiple of 64: the WGMMA accumulator fragment
// of m64nCk16 repeated R/64 times; thread t of the warpgroup holds rows 64*i + 16*(t/32) +
// (t%32)/4 + {0, 8} and columns 8*j + 2*(t%4) + {0, 1} (for 16-bit types this is also the A
// operand fragment, so P of attention feeds a wgmma from registers; an 8-bit one the CUDA back
// end also keeps in m64nNk32's A layout, see fp8_afrag). Rank 1, [R]: the values of
// the rows the thread holds in that layout, replicated over the 4 threads that share a row.
struct RegTensor {
  std::string name;
  ElemType elem = ElemType::F32;
  std::vector<int64_t> shape;
};

// An array of `slots` mbarriers, each completing a phase after `arrivals` arrivals (and, for
// barriers fed by TMA, once the expected transaction bytes have landed).
struct Barrier {
  std::string name;
  int slots = 1;
  int arrivals = 1;
};

// A box of a register tensor, a shared-memory slot or a global tensor.
struct Ref {
  enum Kind { Reg, Smem, Global } kind = Reg;
  int index = -1;             // into Kernel::regs, smem or tensors
  IExprP slot;                // Smem: which slot of the ring
  std::vector<IExprP> origin; // first element, per dimension of the underlying tensor
  std::vector<int64_t> shape; // the box; rank may be lower than the tensor's (leading dims fixed)
  Swizzle swizzle = Swizzle::None; // Smem: the layout this op assumes (must match the buffer's)
};

// A value a leaf statement may use besides tensors.
struct Scalar {
  IExprP int_value;  // set for integers (sizes, tunables, loop-derived offsets)
  std::string param; // or the name of a float kernel parameter
  double value = 0;  // or a float constant
};

struct Op;
using Body = std::vector<Op>;

struct Op {
  enum Kind {
    Loop,               // for var in [0, extent): body
    MbarArriveExpectTx, // one arrival on barrier[slot] that also expects `bytes` of TMA data
    MbarArrive,         // one arrival on barrier[slot] (an elected thread of the role); with
                        // `cluster_groups`, one on barrier[slot] of every block they name
    MbarWait,           // wait until barrier[slot]'s current phase parity differs from `phase`
                        // (PTX try_wait.parity: the phase of that parity has completed; a fresh
                        // barrier is in phase 0, so waiting on parity 1 passes at once)
    TmaLoad,            // async copy: global box `src` -> smem `dst`; elements outside the tensor
                        // are zero-filled; completes `dst`'s bytes of transactions on barrier[slot]
                        // (with `cluster_groups`: into `dst` and barrier[slot] of every block
                        // of the group, a multicast)
    TmaStore,           // async copy: smem `src` -> global box `dst` (a bulk group)
    TmaStoreCommit,     // close the current bulk group
    TmaStoreWait,       // wait until at most `count` bulk groups still read shared memory
    FenceProxyAsync,    // make generic-proxy smem writes visible to the async proxy (TMA)
    WgmmaFence,         // order register and smem writes before the wgmmas that read them
    Wgmma,              // async: dst[M, N] += src[M, K] · src2[K, N] on the tensor cores (src is
                        // [K, M] when trans_a, src2 [N, K] when trans_b); A from smem or
                        // registers, B from smem; reads its operands until a WgmmaWait retires it
    WgmmaCommit,        // close the current wgmma group
    WgmmaWait,          // wait until at most `count` wgmma groups are pending
    Compute,            // leaf statements (element-wise, reductions) on the CUDA cores, run by
                        // the whole warpgroup; `tensors` and `scalars` bind the leaf's names
    Copy,               // synchronous copy dst <- src between registers, smem and global, with
                        // conversion to dst's type; global reads outside the tensor give 0 and
                        // writes there are dropped
    NamedBarrier,       // bar.sync `id` with `count` threads: arrive and wait for the rest
    NamedBarrierArrive, // bar.arrive `id` with `count` threads: arrive without waiting
    SetMaxNReg,         // setmaxnreg: this role's registers per thread become `count`
    ClusterSync,        // every thread of every block of the cluster arrives, then waits for all
                        // (so no block exits while another may still signal or fill it)
  } kind;
  SourceLoc loc;    // the program statement this op comes from
  std::string note; // the task and instance, for readers of printed IR and generated code
  IExprP guard;     // when set, the op runs only where this evaluates to nonzero

  // Loop
  std::string var;
  IExprP extent;
  Body body;
  // Loop: names bound at the start of every iteration, in order (each may use the loop variable
  // and the names before it)
  std::vector<std::pair<std::string, IExprP>> lets;
  // Loop: running sums, each 0 in the first iteration and grown after every iteration by its
  // expression (evaluated where the iteration's lets are bound): a persistent tile loop counts
  // the iterations its tiles' pipelined loops ran, where their trip counts differ by tile
  std::vector<std::pair<std::string, IExprP>> carries;
  // Loop: its extent is at most 1 and nothing reads its variable. The CUDA printer writes an
  // `if`: as a loop of 0 or 1 iterations, ptxas keeps registers for a back edge, which the
  // FA3-sized d256 consumer lacks.
  bool at_most_once = false;
  // mbarrier ops; TmaLoad signals barrier[slot] too
  int barrier = -1;
  IExprP slot, phase;
  int64_t bytes = 0;
  // TmaLoad, TmaStore, Copy, Wgmma (dst = accumulator, src = A, src2 = B)
  Ref dst, src, src2;
  bool trans_a = false, trans_b = false;
  // WgmmaWait, TmaStoreWait, NamedBarrier(Arrive) (threads), SetMaxNReg (registers)
  int count = 0;
  int id = 0;        // NamedBarrier(Arrive): the barrier, when `id_expr` is not set
  IExprP id_expr;    // NamedBarrier(Arrive): the barrier, as an expression of `wg`
  bool once = false; // persistent kernels: runs once per block, outside the loop over tiles
  // MbarWait: the role's warpgroups wait on this barrier's phases in turns (alternate tiles),
  // each phase by one of them, instead of each on every phase.
  bool phases_in_turns = false;
  // MbarArrive, TmaLoad: the blocks of the cluster it reaches, as masks over cluster_dims (bit d:
  // dimension d). Mask m names the blocks whose rank agrees with this block's along every
  // dimension not in m (m = all ones: the whole cluster); the op reaches the union over its masks
  // (a TmaLoad has one). Empty: this block only.
  std::vector<unsigned> cluster_groups;
  // Compute: the statements of one leaf and what each of the leaf's names means here
  std::vector<const Stmt*> stmts;
  std::map<std::string, Ref> tensors;
  std::map<std::string, Scalar> scalars;
};

// Replaces variable `name` by `value` in every expression of `o` (its body included): an op of
// one loop iteration, moved to another.
void substitute(Op& o, const std::string& name, const IExprP& value);

struct Role {
  enum Kind { Producer, Consumer } kind = Consumer;
  std::string name;
  int warpgroups = 1; // Consumer: how many warpgroups run the body (variable `wg`)
  int warps = 4;      // warps per instance: 1 for the producer, 4 per consumer warpgroup
  int max_regs = 0;   // setmaxnreg target; 0 when not set
  Body body;
};

struct Kernel {
  std::string name;
  std::string source; // program file and mapping, for comments
  std::vector<GlobalTensor> tensors;
  std::vector<std::string> size_vars; // integer parameters (problem sizes)
  std::vector<std::string> float_params;
  std::vector<std::string> grid_vars; // block coordinates, outermost first
  std::vector<IExprP> grid;           // extent of each block coordinate
  std::vector<SmemBuffer> smem;
  int64_t smem_bytes = 0;
  std::vector<RegTensor> regs;
  std::vector<Barrier> barriers;
  std::vector<Role> roles;
  // Mapping options carried to the back end.
  bool persistent = false;
  // Blocks take the grid's tiles in reverse order (blockIdx.x 0 the last one), so that the tiles
  // that start last are the first ones (in causal attention, the query tiles with fewest keys).
  bool last_tiles_first = false;
  // The consumer warpgroups take alternate tiles of the persistent tile loop (warpgroup wg runs
  // iterations grove_tile_iter = 2 * grove_turn + wg), each computing a whole tile; the buffers
  // they write have a slot per warpgroup.
  bool alternate_tiles = false;
  int cluster = 1; // blocks per cluster, sharing loads (see above); 1: no clusters
  struct ClusterDim {
    std::string var; // a tile coordinate the cluster's blocks split
    int size = 1;    // into this many neighbouring tiles
  };
  std::vector<ClusterDim> cluster_dims; // rank = r0 + size0 * r1; their sizes multiply to `cluster`
  // Persistent or clustered kernels: the tile grid the blocks loop over (coordinates outermost
  // first) and its size (in groups of `cluster` tiles); `grid_vars`/`grid` are then
  // {grove_cta}/{grove_ctas}.
  std::vector<std::string> tile_vars;
  std::vector<IExprP> tile_grid;
  IExprP tiles;
  // Persistent kernels whose pipelined loop runs a number of iterations that depends on the tile
  // (causal attention): the name the ring slots and phases count this block's earlier tiles'
  // iterations by, and the loop's trip count; the tile loop carries it (Op::carries).
  std::vector<std::pair<std::string, IExprP>> tile_carries;
  int cluster_x = 1, cluster_y = 1; // as the mapping asks (`cluster` is what is generated)
  // The rings of the pipeline: the barrier the producer's loads complete (`full`), the one the
  // consumers release slots on (`empty`; -1 where nothing refills the ring) and the shared
  // buffers one fill writes. For passes that move consumer waits and releases.
  struct Ring {
    int full = -1, empty = -1;
    std::vector<int> buffers;
  };
  std::vector<Ring> rings;
  // Leaf statements a pass wrote (compute ops point at them; the others are the program's).
  std::vector<std::shared_ptr<const Stmt>> owned_stmts;

  int threads() const; // 32 per producer warp (padded to a warpgroup) + 128 per consumer warpgroup
};

// This block's coordinate along cluster_dims[d], from its rank grove_rank: (grove_rank / (size_0
// ... size_(d-1))) % size_d, or grove_rank itself where the cluster has one dimension.
IExprP cluster_coord(const Kernel& k, size_t d);

// The ranks of the blocks an op with `groups` (see Op::cluster_groups) reaches from the block of
// rank `rank`, ascending; {rank} when `groups` is empty.
std::vector<int> cluster_targets(const Kernel& k, int rank, const std::vector<unsigned>& groups);

// Readable text of the kernel, for `grove explain --after` and for tests.
std::string to_text(const Kernel& k);
const char* op_name(Op::Kind k);

} // namespace grove::kir
