// TMA copies and wgmma: which tensor map and how many boxes each copy takes (plan_tma), and the
// printed issue of each (tma, wgmma). Part of the CUDA printer (printer.h).
#include <algorithm>

#include "cuda/printer.h"

namespace grove::cuda::detail {

void Printer::plan_tma(const Op& o) {
  const Ref& g = o.kind == Op::TmaLoad ? o.src : o.dst;
  const Ref& s = o.kind == Op::TmaLoad ? o.dst : o.src;
  if (g.kind != Ref::Global || s.kind != Ref::Smem)
    unsupported(o.loc, std::string(op_name(o.kind)) + " needs a global and a shared box");
  const GlobalTensor& t = k_.tensors.at(static_cast<size_t>(g.index));
  const SmemBuffer& b = k_.smem.at(static_cast<size_t>(s.index));
  if (g.shape != s.shape || g.shape.empty() || g.shape.size() > t.shape.size() ||
      t.shape.size() > 4)
    unsupported(o.loc, std::string(op_name(o.kind)) + " of '" + t.name +
                           "': the global and shared boxes must have one shape, of rank 1 to 4");
  if (t.elem != b.elem)
    unsupported(o.loc, "TMA copies do not convert: '" + t.name + "' and '" + b.name +
                           "' have different element types");
  if (s.swizzle != b.swizzle)
    unsupported(o.loc, "the op assumes a different swizzle than buffer '" + b.name + "' has");
  int64_t eb = elem_bytes(b.elem);
  TmaPlan p;
  for (size_t i = 0; i < g.shape.size(); ++i) {
    bool inner = i + 1 == g.shape.size();
    int64_t limit = 256;
    const int64_t w = swizzle_bytes(b.swizzle);
    if (inner && w) {
      limit = w / eb;
      if (g.shape[i] % limit != 0)
        unsupported(o.loc, "a " + std::to_string(w) + "B-swizzled TMA box must be whole " +
                               std::to_string(w) + "-byte panels wide; '" + b.name + "' gets " +
                               std::to_string(g.shape[i] * eb) + " bytes");
    }
    if (inner && b.swizzle == Swizzle::None) {
      // Part of a vector (a warpgroup's rows of a block's row scales) is contiguous too, where it
      // starts on the 128 bytes TMA needs in shared memory.
      bool part_of_vector = b.shape.size() == 1 && g.shape[i] < b.shape.back() &&
                            multiple_of(s.origin.empty() ? cst(0) : s.origin[0], 128 / eb);
      if ((g.shape[i] != b.shape.back() && !part_of_vector) || (g.shape[i] * eb) % 16 != 0 ||
          g.shape[i] > 256)
        unsupported(o.loc, "an unswizzled TMA box must cover whole rows of '" + b.name +
                               "' (at most 256 elements, a multiple of 16 bytes), or start a "
                               "vector's part on 128 bytes");
    }
    int64_t c = std::min(g.shape[i], limit);
    if (g.shape[i] % c != 0)
      unsupported(o.loc, "TMA box dimension " + std::to_string(g.shape[i]) +
                             " is not a multiple of " + std::to_string(c));
    p.chunk.push_back(c);
    p.count.push_back(g.shape[i] / c);
  }
  std::vector<int64_t> box(t.shape.size() - g.shape.size(), 1);
  box.insert(box.end(), p.chunk.begin(), p.chunk.end());
  p.map = maps_.size();
  for (size_t i = 0; i < maps_.size(); ++i)
    if (maps_[i].tensor == g.index && maps_[i].box == box && maps_[i].swizzle == b.swizzle)
      p.map = i;
  if (p.map == maps_.size()) {
    TmaMap m;
    m.tensor = g.index;
    m.box = box;
    m.swizzle = b.swizzle;
    m.name = "tmap_" + sanitize(t.name) + "_" + dims_text(p.chunk, "x") +
             (b.swizzle == Swizzle::None ? "" : "_sw" + std::to_string(swizzle_bytes(b.swizzle)));
    maps_.push_back(m);
  }
  plans_[&o] = p;
}

void Printer::collect(const Body& b) {
  walk(b, [&](const Op& o) {
    if (o.kind == Op::TmaLoad || o.kind == Op::TmaStore) plan_tma(o);
  });
}

void Printer::tma(const Op& o) {
  const TmaPlan& p = plans_.at(&o);
  bool load = o.kind == Op::TmaLoad;
  const Ref& g = load ? o.src : o.dst;
  const Ref& s = load ? o.dst : o.src;
  const GlobalTensor& t = k_.tensors.at(static_cast<size_t>(g.index));
  const SmemBuffer& b = k_.smem.at(static_cast<size_t>(s.index));
  w_->comment(std::string(op_name(o.kind)) + " " + ref_text(k_, load ? s : g) + " <- " +
              ref_text(k_, load ? g : s) +
              (load ? "; completes on " + k_.barriers.at(static_cast<size_t>(o.barrier)).name +
                          "[" + c_expr(o.slot) + "]"
                    : "") +
              (o.note.empty() ? "" : "  (" + o.note + ")"));
  const TmaMap* m = &maps_.at(p.map);
  size_t n = p.chunk.size();
  std::vector<int64_t> at(n, 0);
  int64_t total = 1;
  for (int64_t c : p.count) total *= c;
  std::string base = slot_base(s);
  for (int64_t it = 0; it < total; ++it) {
    int64_t rest = it;
    for (size_t d = n; d-- > 0;) {
      at[d] = (rest % p.count[d]) * p.chunk[d];
      rest /= p.count[d];
    }
    std::vector<IExprP> local;
    for (int64_t a : at) local.push_back(cst(a));
    IExprP soff = smem_start_offset(b, full_index(s, b.shape.size(), local));
    std::vector<IExprP> gidx = full_index(g, t.shape.size(), local);
    std::string coords;
    for (size_t d = gidx.size(); d-- > 0;) coords += ", " + c_expr(gidx[d]);
    std::string addr = base + (is_const(soff) && soff->value == 0 ? "" : " + " + c_expr(soff));
    std::string rank = std::to_string(t.shape.size());
    if (load && !o.cluster_groups.empty())
      w_->line("grove::tma_load_" + rank + "d_multicast(" + addr + ", &" + m->name + ", " +
               bar_addr(o) + ", " + cluster_mask(k_, o.cluster_groups) + coords + ");");
    else if (load)
      w_->line("grove::tma_load_" + rank + "d(" + addr + ", &" + m->name + ", " + bar_addr(o) +
               coords + ");");
    else
      w_->line("grove::tma_store_" + rank + "d(&" + m->name + ", " + addr + coords + ");");
  }
}

void Printer::wgmma(const Op& o) {
  w_->comment("wgmma " + ref_text(k_, o.dst) + " += " + (o.trans_a ? "T " : "") +
              ref_text(k_, o.src) + " * " + (o.trans_b ? "T " : "") + ref_text(k_, o.src2) +
              (o.note.empty() ? "" : "  (" + o.note + ")"));
  if (!ctx_.consumer) unsupported(o.loc, "wgmma runs in consumer warpgroups only");
  if (o.dst.kind != Ref::Reg || o.src2.kind != Ref::Smem)
    unsupported(o.loc, "wgmma needs a register accumulator and B in shared memory");
  const RegTensor& acc = k_.regs.at(static_cast<size_t>(o.dst.index));
  if (acc.elem != ElemType::F32 || acc.shape.size() != 2)
    unsupported(o.loc, "the wgmma accumulator '" + acc.name + "' must be a rank-2 f32 tensor");
  const SmemBuffer& bb = k_.smem.at(static_cast<size_t>(o.src2.index));
  // WGMMA reads shared-memory operands in a swizzled layout, which the buffer gets when its rows
  // are whole 32-, 64- or 128-byte spans (kernel_ir.cpp; the lowering refuses tiles that are not,
  // kernel_ir_checks.cpp).
  auto unswizzled = [&](const SmemBuffer& b, const char* what) {
    unsupported(o.loc, std::string("wgmma ") + what + " '" + b.name +
                           "' is not in a swizzled layout WGMMA reads");
  };
  if (bb.swizzle == Swizzle::None) unswizzled(bb, "operand B");
  ElemType ab = bb.elem;
  const bool fp8 = is_fp8(ab);
  if (!is_16bit(ab) && !fp8) unsupported(o.loc, "wgmma operands must be f16, bf16, e4m3 or e5m2");
  const int64_t eb = elem_bytes(ab), kstep = wgmma_k(ab);
  int64_t M = o.dst.shape.at(0), N = o.dst.shape.at(1);
  bool a_reg = o.src.kind == Ref::Reg;
  int64_t K = o.trans_a && !a_reg ? o.src.shape.at(0) : o.src.shape.at(1);
  int64_t am = o.trans_a && !a_reg ? o.src.shape.at(1) : o.src.shape.at(0);
  int64_t bk = o.trans_b ? o.src2.shape.at(1) : o.src2.shape.at(0);
  int64_t bn = o.trans_b ? o.src2.shape.at(0) : o.src2.shape.at(1);
  if (am != M || bk != K || bn != N || M % 64 != 0 || K % kstep != 0 || N % 8 != 0)
    unsupported(o.loc, "wgmma shapes do not agree: [" + std::to_string(M) + ", " +
                           std::to_string(N) + "] += [" + std::to_string(am) + ", " +
                           std::to_string(K) + "] * [" + std::to_string(bk) + ", " +
                           std::to_string(bn) + "] (M a multiple of 64, K of " +
                           std::to_string(kstep) + ", N of 8)");
  if (fp8 && (o.trans_a || !o.trans_b))
    unsupported(o.loc, "wgmma reads 8-bit operands K-major (A [M, K], B stored [N, K])");
  // The instruction's type suffix: f16 or bf16 for both; for 8-bit types A's and B's (they mix).
  std::string ty = elem_name(ab);
  // Byte offset inside a swizzled tile from its first element to (row, col) for constant row/col
  // deltas (where a descriptor starting there starts).
  auto delta = [&](const SmemBuffer& buf, int64_t row, int64_t col) {
    return sw_start(buf, row, col * eb);
  };
  // A descriptor of `buf`'s swizzle: K-major (rows of M or N) or M/N-major (rows of K, panels of
  // M or N `lbo` apart); SBO is 8 rows either way.
  auto desc = [&](const SmemBuffer& buf, const std::string& tile, int64_t start, int64_t lbo) {
    const int64_t w = swizzle_bytes(buf.swizzle);
    return "grove::wgmma_desc<" + std::to_string(w) + ">(" + tile + " + " + std::to_string(start) +
           ", " + std::to_string(lbo) + ", " + std::to_string(8 * w) + ")";
  };
  w_->open("");
  // Tile start addresses (slot base + the box origin); per-instruction offsets are constants.
  const SmemBuffer* ab_buf = nullptr;
  if (!a_reg) {
    if (o.src.kind != Ref::Smem) unsupported(o.loc, "wgmma A must be in registers or smem");
    ab_buf = &k_.smem.at(static_cast<size_t>(o.src.index));
    if (fp8 ? !is_fp8(ab_buf->elem) : ab_buf->elem != ab)
      unsupported(o.loc,
                  "wgmma A '" + ab_buf->name + "' must be " + (fp8 ? "8-bit" : ty) + ", as B is");
    if (fp8) ty = std::string(elem_name(ab_buf->elem)) + "_" + ty;
    if (ab_buf->swizzle == Swizzle::None) unswizzled(*ab_buf, "operand A");
    IExprP a0 =
        smem_start_offset(*ab_buf, full_index(o.src, ab_buf->shape.size(), {cst(0), cst(0)}));
    w_->line("const grove::u32 a_tile = " + slot_base(o.src) +
             (is_const(a0) && a0->value == 0 ? "" : " + " + c_expr(a0)) + ";");
  } else {
    const RegTensor& ar = k_.regs.at(static_cast<size_t>(o.src.index));
    if ((fp8 ? !is_fp8(ar.elem) : ar.elem != ab) || ar.shape.size() != 2)
      unsupported(o.loc, "wgmma A '" + ar.name + "' in registers must be a rank-2 " +
                             (fp8 ? "8-bit" : ty) + " tensor");
    if (fp8) ty = std::string(elem_name(ar.elem)) + "_" + ty;
    if (o.trans_a) unsupported(o.loc, "wgmma A from registers cannot be transposed");
  }
  IExprP b0 = smem_start_offset(bb, full_index(o.src2, bb.shape.size(), {cst(0), cst(0)}));
  w_->line("const grove::u32 b_tile = " + slot_base(o.src2) +
           (is_const(b0) && b0->value == 0 ? "" : " + " + c_expr(b0)) + ";");
  // N chunks from the instruction shapes the header provides.
  std::vector<std::pair<int64_t, int64_t>> chunks; // (n0, n)
  for (int64_t n0 = 0; n0 < N;) {
    int64_t left = N - n0, pick = 0;
    for (int s : kWgmmaShapes)
      if (s <= left) {
        pick = s;
        break;
      }
    chunks.push_back({n0, pick});
    n0 += pick;
  }
  const RegTensor& acc_t = acc;
  int64_t acc_C = acc_t.shape[1];
  int64_t oi = 0, oj = 0;
  if (!is_const(o.dst.origin.empty() ? cst(0) : o.dst.origin[0], &oi) ||
      (o.dst.origin.size() > 1 && !is_const(o.dst.origin[1], &oj)) || oi % 64 || oj % 8)
    unsupported(o.loc, "the wgmma accumulator box must start at constant multiples of (64, 8)");
  const int64_t b_span = swizzle_bytes(bb.swizzle), b_panel = smem_rows(bb) * b_span;
  for (int64_t mi = 0; mi < M / 64; ++mi) {
    for (int64_t ks = 0; ks < K / kstep; ++ks) {
      for (auto [n0, n] : chunks) {
        // The first k-step overwrites the accumulator where a zero fill was folded in.
        const std::string scale_d = ks == 0 && zero_init_.count(&o) ? ", 0" : "";
        int64_t d_off = (oi / 64 + mi) * (acc_C / 2) + (oj + n0) / 2;
        std::string bdesc;
        if (o.trans_b) { // B stored [N, K]: K-major, rows are N
          bdesc = desc(bb, "b_tile", delta(bb, n0, kstep * ks), 16);
        } else { // B stored [K, N]: N-major, rows are K, LBO = the panel stride along N
          if ((n0 * eb) % b_span != 0)
            unsupported(o.loc, "an N-major wgmma B must be split at " +
                                   std::to_string(b_span / eb) + "-column panels");
          bdesc = desc(bb, "b_tile", delta(bb, kstep * ks, n0), b_panel);
        }
        std::string fn =
            "grove::wgmma_m64n" + std::to_string(n) + "k" + std::to_string(kstep) + "_" + ty;
        std::string d = sanitize(acc.name) + " + " + std::to_string(d_off);
        if (a_reg) {
          const RegTensor& ar = k_.regs.at(static_cast<size_t>(o.src.index));
          int64_t ai = 0, aj = 0;
          if (!is_const(o.src.origin.empty() ? cst(0) : o.src.origin[0], &ai) ||
              (o.src.origin.size() > 1 && !is_const(o.src.origin[1], &aj)) || ai % 64 || aj % kstep)
            unsupported(o.loc, "a register A box must start at constant multiples of (64, " +
                                   std::to_string(kstep) + ")");
          // u32 index of the four A registers of k-step ks: see kir.h's layout (16-bit: two
          // elements a register; 8-bit: four, in <name>_a, fp8_afrag's layout).
          int64_t a_off = fp8 ? (ai / 64 + mi) * (ar.shape[1] / 8) + (aj / 32 + ks) * 4
                              : (ai / 64 + mi) * (ar.shape[1] / 4) + (aj / 8 + 2 * ks) * 2;
          w_->line(fn + "_rs<" + (o.trans_b ? "0" : "1") + scale_d + ">(" + d + ", " +
                   sanitize(ar.name) + (fp8 ? "_a" : "") + " + " + std::to_string(a_off) + ", " +
                   bdesc + ");");
        } else {
          std::string adesc;
          if (o.trans_a) // A stored [K, M]: M-major
            adesc = desc(*ab_buf, "a_tile", delta(*ab_buf, kstep * ks, 64 * mi),
                         smem_rows(*ab_buf) * swizzle_bytes(ab_buf->swizzle));
          else
            adesc = desc(*ab_buf, "a_tile", delta(*ab_buf, 64 * mi, kstep * ks), 16);
          w_->line(fn + "_ss<" + (o.trans_a ? "1" : "0") + ", " + (o.trans_b ? "0" : "1") +
                   scale_d + ">(" + d + ", " + adesc + ", " + bdesc + ");");
        }
      }
    }
  }
  w_->close();
}

} // namespace grove::cuda::detail
