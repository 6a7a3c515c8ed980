#include "cuda/print_cuda.h"

#include <algorithm>
#include <functional>
#include <set>

#include "cuda/emit.h"
#include "cuda/print_leaf.h"

namespace grove::cuda {

using namespace kir;

namespace {

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

const char* tma_dtype(ElemType t) {
  switch (t) {
  case ElemType::F16:
    return "CU_TENSOR_MAP_DATA_TYPE_FLOAT16";
  case ElemType::BF16:
    return "CU_TENSOR_MAP_DATA_TYPE_BFLOAT16";
  case ElemType::F32:
    return "CU_TENSOR_MAP_DATA_TYPE_FLOAT32";
  case ElemType::E4M3:
    return "CU_TENSOR_MAP_DATA_TYPE_UINT8";
  }
  return "?";
}

std::string dims_text(const std::vector<int64_t>& v, const char* sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + std::to_string(v[i]);
  return s;
}

std::string ref_text(const Kernel& k, const Ref& r) {
  std::string s;
  switch (r.kind) {
  case Ref::Reg:
    s = "reg " + k.regs.at(static_cast<size_t>(r.index)).name;
    break;
  case Ref::Smem:
    s = "smem " + k.smem.at(static_cast<size_t>(r.index)).name +
        (r.slot ? "[" + c_expr(r.slot) + "]" : "");
    break;
  case Ref::Global:
    s = "global " + k.tensors.at(static_cast<size_t>(r.index)).name;
    break;
  }
  if (!r.origin.empty()) {
    s += " @(";
    for (size_t i = 0; i < r.origin.size(); ++i) s += (i ? ", " : "") + c_expr(r.origin[i]);
    s += ")";
  }
  return s + " [" + dims_text(r.shape, ", ") + "]";
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
  // Kernel IR ops are warpgroup-wide, but a compute or copy is spread over the warpgroup's 128
  // threads: shared memory one thread writes another may read next, and an elected thread's
  // release must follow every thread's reads. Set while ordinary loads of smem are unsynced.
  bool wg_smem_read_ = false;
  void order_generic_smem(const Op& o);
  bool fence_first_ = false; // the op being printed is followed by a proxy fence, printed with it
  void warpgroup_sync_before_release();

  void check();
  void collect(const Body& b);
  void plan_tma(const Op& op);
  void prologue();
  void kernel();
  void roles();
  void role_body(const Role& r);
  void body(const Body& b, size_t from = 0);
  void op(const Op& o);
  void tma(const Op& o);
  void wgmma(const Op& o);
  void launcher();
  std::string bar_addr(const Op& o) const;
  std::string slot_base(const Ref& r) const;
  int entry_regs() const;
};

// Kernel IR is issued by one elected thread for these ops; everything else by all threads.
bool is_issue_op(Op::Kind k) {
  return k == Op::MbarArrive || k == Op::MbarArriveExpectTx || k == Op::TmaLoad ||
         k == Op::TmaStore || k == Op::TmaStoreCommit || k == Op::TmaStoreWait;
}

template <class F> void walk(const Body& b, F&& f) {
  for (const Op& o : b) {
    f(o);
    if (o.kind == Op::Loop) walk(o.body, f);
  }
}

void Printer::check() {
  if (k_.roles.empty()) unsupported({}, "kernel '" + k_.name + "' has no roles");
  if (launch_smem_bytes(k_) > kMaxDynamicSmem)
    unsupported({}, "kernel '" + k_.name + "' needs " + std::to_string(k_.smem_bytes) +
                        " bytes of shared memory (+1024 for alignment); a block may have " +
                        std::to_string(kMaxDynamicSmem - 1024));
  for (const SmemBuffer& b : k_.smem)
    if (b.offset % 1024 != 0)
      unsupported({}, "shared buffer '" + b.name + "' is not 1024-byte aligned");
  static const std::set<std::string> reserved = {
      "smem_raw", "smem", "tid", "frag_row", "frag_col", "elected", "warpgroup", "block",
      "rb",       "rh",   "cb",  "e",        "v",        "rcb",     "re",        "col0",
      "off",      "in0",  "in1", "idx",      "dst",      "a_tile",  "b_tile"};
  auto check_name = [&](const std::string& n) {
    if (reserved.count(n))
      unsupported({}, "kernel IR name '" + n + "' collides with a name of the generated code");
  };
  for (const std::string& v : k_.size_vars) check_name(v);
  for (const std::string& v : k_.grid_vars) check_name(v);
  for (const Role& r : k_.roles)
    walk(r.body, [&](const Op& o) {
      if (o.kind == Op::Loop) check_name(o.var);
      for (const auto& let : o.lets) check_name(let.first);
    });
}

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
    if (inner && b.swizzle == Swizzle::B128) {
      limit = 128 / eb;
      if (g.shape[i] % limit != 0)
        unsupported(o.loc, "a 128B-swizzled TMA box must be whole 128-byte panels wide; '" +
                               b.name + "' gets " + std::to_string(g.shape[i] * eb) + " bytes");
    }
    if (inner && b.swizzle == Swizzle::None) {
      if (g.shape[i] != b.shape.back() || (g.shape[i] * eb) % 16 != 0 || g.shape[i] > 256)
        unsupported(o.loc, "an unswizzled TMA box must cover whole rows of '" + b.name +
                               "' (at most 256 elements, a multiple of 16 bytes)");
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
             (b.swizzle == Swizzle::B128 ? "_sw128" : "");
    maps_.push_back(m);
  }
  plans_[&o] = p;
}

void Printer::collect(const Body& b) {
  walk(b, [&](const Op& o) {
    if (o.kind == Op::TmaLoad || o.kind == Op::TmaStore) plan_tma(o);
  });
}

// Elements of a register tensor each thread of the warpgroup holds (kir.h's layouts).
int64_t reg_elems_per_thread(const RegTensor& t) {
  if (t.shape.size() == 1) return t.shape[0] / 32; // two rows per 64-row block
  int64_t n = 1;
  for (int64_t d : t.shape) n *= d;
  return n / 128;
}

int Printer::entry_regs() const {
  int per = 65536 / k_.threads();
  return std::min(255, per / 8 * 8);
}

std::string Printer::bar_addr(const Op& o) const {
  const Barrier& b = k_.barriers.at(static_cast<size_t>(o.barrier));
  return "grove::smem_u32(&" + mbar_name(b) + "[" + c_expr(o.slot) + "])";
}

// u32 shared address of the slot a smem Ref names.
std::string Printer::slot_base(const Ref& r) const {
  const SmemBuffer& b = k_.smem.at(static_cast<size_t>(r.index));
  int64_t s = 0;
  if (!r.slot || (is_const(r.slot, &s) && s == 0)) return smem_addr_name(b);
  return smem_addr_name(b) + " + (" + c_expr(r.slot) + ") * " + std::to_string(b.slot_bytes()) +
         "u";
}

void Printer::prologue() {
  w_->comment("Generated by Grove's CUDA back end from kernel IR `" + k_.name + "`" +
              (k_.source.empty() ? "" : " (" + k_.source + ")") + ". Do not edit.");
  for (const std::string& n : unhonoured_options(k_)) w_->comment("NOTE: " + n);
  w_->comment("");
  w_->comment("Block: " + std::to_string(k_.threads()) + " threads, " +
              std::to_string(k_.smem_bytes) + " bytes of shared memory; roles:");
  int wg = 0;
  for (const Role& r : k_.roles) {
    int n = r.kind == Role::Producer ? 1 : r.warpgroups;
    w_->comment("  warpgroup" +
                (n > 1 ? "s " + std::to_string(wg) + ".." + std::to_string(wg + n - 1)
                       : " " + std::to_string(wg)) +
                ": " + r.name + (r.kind == Role::Producer ? " (producer: " : " (consumer: ") +
                std::to_string(r.kind == Role::Producer ? r.warps : 4 * r.warpgroups) + " warp(s)" +
                (r.max_regs ? ", " + std::to_string(r.max_regs) + " registers" : "") + ")");
    wg += n;
  }
  w_->line("#include \"grove_sm90.cuh\"");
  w_->line();
}

void Printer::kernel() {
  // Signature.
  std::vector<std::string> params;
  for (const GlobalTensor& t : k_.tensors) {
    std::string shape;
    for (size_t i = 0; i < t.shape.size(); ++i) shape += (i ? ", " : "") + c_expr(t.shape[i]);
    params.push_back(std::string(t.written ? "" : "const ") + storage_type(t.elem) +
                     "* __restrict__ " + sanitize(t.name) + " /* " + elem_name(t.elem) + "[" +
                     shape + "] */");
  }
  for (const std::string& v : k_.size_vars) params.push_back("int " + v);
  for (const std::string& v : k_.float_params) params.push_back("float " + sanitize(v));
  for (const TmaMap& m : maps_)
    params.push_back("const __grid_constant__ grove::TensorMap " + m.name);
  w_->line("extern \"C\" __global__ void __launch_bounds__(" + std::to_string(k_.threads()) +
           ", 1)");
  w_->line(kernel_symbol(k_) + "(");
  for (size_t i = 0; i < params.size(); ++i)
    w_->line("    " + params[i] + (i + 1 < params.size() ? "," : ") {"));
}

void Printer::roles() {
  w_->line("  const int warpgroup = threadIdx.x / 128;");
  int wg = 0;
  for (size_t i = 0; i < k_.roles.size(); ++i) {
    const Role& r = k_.roles[i];
    int n = r.kind == Role::Producer ? 1 : r.warpgroups;
    std::string cond =
        n == 1 ? "warpgroup == " + std::to_string(wg) : "warpgroup < " + std::to_string(wg + n);
    std::string head = i == 0                     ? "if (" + cond + ")"
                       : i + 1 == k_.roles.size() ? "} else"
                                                  : "} else if (" + cond + ")";
    w_->line("  " + head + " {");
    role_body(r);
    wg += n;
  }
  w_->line("  }");
}

void Printer::role_body(const Role& r) {
  role_ = &r;
  ctx_.consumer = r.kind == Role::Consumer;
  ctx_.threads = ctx_.consumer ? 128 : 32 * r.warps;
  fenced_regs_.clear();
  const std::string indent = "    ";
  bool needs_frag = false, needs_issue = false, needs_tid = false;
  std::set<int> regs;
  walk(r.body, [&](const Op& o) {
    if (is_issue_op(o.kind)) needs_issue = true;
    for (const Ref* ref : {&o.dst, &o.src, &o.src2})
      if (ref->kind == Ref::Reg && ref->index >= 0 &&
          (o.kind == Op::Wgmma || o.kind == Op::Copy || o.kind == Op::Compute))
        regs.insert(ref->index);
    if (o.kind == Op::Compute)
      for (const auto& [n, ref] : o.tensors)
        if (ref.kind == Ref::Reg) regs.insert(ref.index);
    if (o.kind == Op::Compute || o.kind == Op::Copy) needs_frag = needs_tid = true;
    if (o.kind == Op::Wgmma) {
      fenced_regs_.insert(o.dst.index);
      if (o.src.kind == Ref::Reg) fenced_regs_.insert(o.src.index);
    }
  });
  // Body ops run at role level; leading setmaxnreg ops run in every warp of the role.
  CodeWriter& w = *w_;
  w.line(indent + "// role " + r.name + ": " +
         (ctx_.consumer ? std::to_string(r.warpgroups) + " consumer warpgroup(s)"
                        : std::to_string(r.warps) + " producer warp(s), one elected lane "
                                                    "issues"));
  size_t first = 0;
  for (; first < r.body.size() && r.body[first].kind == Op::SetMaxNReg; ++first) {
    const Op& o = r.body[first];
    int cap = entry_regs();
    if (o.count == cap) continue;
    w.line(indent + "grove::setmaxnreg_" + (o.count > cap ? "inc" : "dec") + "<" +
           std::to_string(o.count) + ">();  // " + std::to_string(cap) + " -> " +
           std::to_string(o.count) + " registers per thread" +
           (o.note.empty() ? "" : " (" + o.note + ")"));
  }
  // The rest of the role prints through a nested writer so indentation follows the structure.
  CodeWriter inner;
  CodeWriter* outer_saved = w_;
  w_ = &inner;
  int wg_begin = 0;
  for (const Role& x : k_.roles) {
    if (&x == &r) break;
    wg_begin += x.kind == Role::Producer ? 1 : x.warpgroups;
  }
  if (ctx_.consumer) {
    w_->line("const int wg = warpgroup - " + std::to_string(wg_begin) +
             ";  // this consumer warpgroup's index");
    if (needs_tid || needs_issue) w_->line("const int tid = threadIdx.x % 128;");
    if (needs_issue)
      w_->line("const bool elected = tid == 0;  // issues this warpgroup's TMA and arrivals");
    if (needs_frag) {
      // (unused where every fragment access is a wgmma or an stmatrix)
      w_->line("[[maybe_unused]] const int frag_row = 16 * (tid / 32) + (tid % 32) / 4;  // WGMMA "
               "fragment rows frag_row + {0, 8}");
      w_->line("[[maybe_unused]] const int frag_col = 2 * (tid % 4);  // and columns frag_col + "
               "{0, 1}, per 64x8 block");
    }
    for (int i : regs) {
      const RegTensor& t = k_.regs.at(static_cast<size_t>(i));
      int64_t per_thread = reg_elems_per_thread(t);
      std::string layout = t.shape.size() == 2 ? "WGMMA accumulator fragment" : "row values";
      if (is_16bit(t.elem))
        w_->line("grove::u32 " + sanitize(t.name) + "[" + std::to_string(per_thread / 2) +
                 "];  // " + elem_name(t.elem) + "[" + dims_text(t.shape, ", ") + "], " + layout +
                 ", packed in pairs");
      else
        w_->line("float " + sanitize(t.name) + "[" + std::to_string(per_thread) + "];  // " +
                 elem_name(t.elem) + "[" + dims_text(t.shape, ", ") + "], " + layout);
      if (t.shape.size() == 2 && (t.shape[0] % 64 != 0 || t.shape[1] % 8 != 0))
        unsupported({}, "register tensor '" + t.name + "' is not [64*i, 8*j]");
      if (t.shape.size() == 1 && t.shape[0] % 64 != 0)
        unsupported({}, "register tensor '" + t.name + "' is not [64*i]");
    }
    body(r.body, first);
  } else {
    if (!regs.empty()) unsupported({}, "the producer role uses register tensors");
    w_->open("if (threadIdx.x % 128 < " + std::to_string(32 * r.warps) + ")");
    if (needs_tid) w_->line("const int tid = threadIdx.x % 128;");
    if (needs_issue) w_->line("const bool elected = threadIdx.x % 32 == 0;  // lane 0 issues");
    body(r.body, first);
    w_->close();
  }
  std::string text = inner.str();
  w_ = outer_saved;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    std::string ln = text.substr(start, end - start);
    w_->line(ln.empty() ? "" : indent + ln);
    start = end + 1;
  }
}

void Printer::order_generic_smem(const Op& o) {
  if (fence_first_) // each thread fences its own writes, then the barrier below joins them
    w_->line("grove::fence_proxy_async();  // this thread's smem writes, before the async proxy "
             "(a TMA store) reads them");
  if (!role_ || role_->kind != Role::Consumer) return;
  bool writes = false, reads = false;
  if (o.kind == Op::Copy) {
    writes = o.dst.kind == Ref::Smem;
    reads = o.src.kind == Ref::Smem;
  } else {
    // Only names the statements use count: a leaf binds all its tensors, and those only its
    // wgmmas read are ordered by wgmma waits instead.
    std::function<bool(const Expr&, const std::string&)> uses = [&](const Expr& e,
                                                                    const std::string& n) {
      if (e.kind == Expr::Index && e.args[0]->kind == Expr::Name && e.args[0]->name == n)
        return true;
      for (const ExprPtr& a : e.args)
        if (uses(*a, n)) return true;
      return false;
    };
    for (const auto& [name, r] : o.tensors) {
      if (r.kind != Ref::Smem) continue;
      for (const Stmt* st : o.stmts) {
        if (st->target == name) writes = true;
        if (st->value && uses(*st->value, name)) reads = true;
      }
    }
  }
  if (writes) {
    w_->line("grove::named_barrier_sync(2 + wg, 128);  // this warpgroup's smem writes, before its "
             "threads read them");
    wg_smem_read_ = false;
  } else if (reads) {
    wg_smem_read_ = true;
  }
}

void Printer::warpgroup_sync_before_release() {
  if (!wg_smem_read_ || !role_ || role_->kind != Role::Consumer) return;
  w_->line("grove::named_barrier_sync(2 + wg, 128);  // every thread has read the slot before it "
           "is released");
  wg_smem_read_ = false;
}

void Printer::body(const Body& b, size_t from) {
  for (size_t i = from; i < b.size();) {
    if (b[i].guard) { // an op that runs only where its guard is nonzero
      if (b[i].kind == Op::MbarArrive) warpgroup_sync_before_release();
      w_->open("if (" + c_expr(b[i].guard) + " != 0)");
      if (is_issue_op(b[i].kind)) w_->open("if (elected)");
      op(b[i]);
      if (is_issue_op(b[i].kind)) w_->close();
      w_->close();
      ++i;
      continue;
    }
    if (is_issue_op(b[i].kind)) {
      if (b[i].kind == Op::MbarArrive) warpgroup_sync_before_release();
      w_->open("if (elected)");
      bool store_waited = false;
      for (; i < b.size() && is_issue_op(b[i].kind) && !b[i].guard; ++i) {
        store_waited = store_waited || (b[i].kind == Op::TmaStoreWait && !b[i].once);
        op(b[i]);
      }
      w_->close();
      if (store_waited && role_ && role_->kind == Role::Consumer)
        w_->line("grove::named_barrier_sync(2 + wg, 128);  // the warpgroup writes the staging "
                 "tile only once its last store has read it");
      continue;
    }
    // A write of shared memory followed by a proxy fence: the fence goes before the warpgroup
    // barrier, in every writing thread (write, fence, barrier, then the elected thread's TMA).
    fence_first_ = (b[i].kind == Op::Compute || b[i].kind == Op::Copy) && i + 1 < b.size() &&
                   b[i + 1].kind == Op::FenceProxyAsync && !b[i + 1].guard;
    op(b[i++]);
    if (fence_first_) {
      fence_first_ = false;
      ++i;
    }
  }
}

void Printer::op(const Op& o) {
  std::string note = o.note.empty() ? "" : "  (" + o.note + ")";
  switch (o.kind) {
  case Op::Loop:
    w_->comment("for " + o.var + " in 0.." + c_expr(o.extent) + note);
    w_->open("for (int " + o.var + " = 0; " + o.var + " < " + c_expr(o.extent) + "; ++" + o.var +
             ")");
    for (const auto& [name, value] : o.lets)
      w_->line("const int " + name + " = " + c_expr(value) + ";");
    body(o.body);
    w_->close();
    return;
  case Op::MbarWait: {
    const Barrier& b = k_.barriers.at(static_cast<size_t>(o.barrier));
    w_->line("grove::mbar_wait(" + bar_addr(o) + ", " + c_expr(o.phase) + ");  // wait " + b.name +
             "[" + c_expr(o.slot) + "]" + note);
    return;
  }
  case Op::MbarArrive: {
    const Barrier& b = k_.barriers.at(static_cast<size_t>(o.barrier));
    if (o.cluster_wide) {
      w_->line("for (int cta = 0; cta < " + std::to_string(k_.cluster) +
               "; ++cta) grove::mbar_arrive_cluster(" + bar_addr(o) + ", cta);  // arrive on " +
               b.name + " of every block of the cluster" + note);
      return;
    }
    w_->line("grove::mbar_arrive(" + bar_addr(o) + ");  // arrive " + b.name + note);
    return;
  }
  case Op::ClusterSync:
    w_->line("grove::cluster_sync();" + (note.empty() ? "" : "  //" + note));
    return;
  case Op::MbarArriveExpectTx: {
    const Barrier& b = k_.barriers.at(static_cast<size_t>(o.barrier));
    w_->line("grove::mbar_arrive_expect_tx(" + bar_addr(o) + ", " + std::to_string(o.bytes) +
             ");  // arrive " + b.name + ", expect " + std::to_string(o.bytes) + " bytes" + note);
    return;
  }
  case Op::TmaLoad:
  case Op::TmaStore:
    tma(o);
    return;
  case Op::TmaStoreCommit:
    w_->line("grove::tma_store_commit();" + (note.empty() ? "" : "  //" + note));
    return;
  case Op::TmaStoreWait:
    w_->line("grove::tma_store_wait_read<" + std::to_string(o.count) + ">();" +
             (note.empty() ? "" : "  //" + note));
    return;
  case Op::FenceProxyAsync:
    w_->line("grove::fence_proxy_async();" + (note.empty() ? "" : "  //" + note));
    return;
  case Op::WgmmaFence:
    w_->line("grove::wgmma_fence();" + (note.empty() ? "" : "  //" + note));
    return;
  case Op::Wgmma:
    wgmma(o);
    return;
  case Op::WgmmaCommit:
    w_->line("grove::wgmma_commit();" + (note.empty() ? "" : "  //" + note));
    return;
  case Op::WgmmaWait:
    w_->line("grove::wgmma_wait<" + std::to_string(o.count) + ">();" +
             (note.empty() ? "" : "  //" + note));
    for (int i : fenced_regs_) {
      const RegTensor& t = k_.regs.at(static_cast<size_t>(i));
      int64_t n = reg_elems_per_thread(t) / (is_16bit(t.elem) ? 2 : 1);
      w_->line("#pragma unroll");
      // `fence_i_`: a name no kernel variable (grid, loop, size) takes, so none is shadowed.
      w_->line("for (int fence_i_ = 0; fence_i_ < " + std::to_string(n) +
               "; ++fence_i_) grove::fence_reg(" + sanitize(t.name) +
               "[fence_i_]);  // the wgmma wrote / read these asynchronously");
    }
    return;
  case Op::Compute:
    emit_compute(*w_, k_, o, ctx_);
    order_generic_smem(o);
    return;
  case Op::Copy:
    emit_copy(*w_, k_, o, ctx_);
    order_generic_smem(o);
    return;
  case Op::NamedBarrier:
    wg_smem_read_ = false;
    w_->line("grove::named_barrier_sync(" + (o.id_expr ? c_expr(o.id_expr) : std::to_string(o.id)) +
             ", " + std::to_string(o.count) + ");" + (note.empty() ? "" : "  //" + note));
    return;
  case Op::NamedBarrierArrive:
    w_->line("grove::named_barrier_arrive(" +
             (o.id_expr ? c_expr(o.id_expr) : std::to_string(o.id)) + ", " +
             std::to_string(o.count) + ");" + (note.empty() ? "" : "  //" + note));
    return;
  case Op::SetMaxNReg: {
    int cap = entry_regs();
    w_->line("grove::setmaxnreg_" + std::string(o.count > cap ? "inc" : "dec") + "<" +
             std::to_string(o.count) + ">();" + (note.empty() ? "" : "  //" + note));
    return;
  }
  }
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
    if (load && o.cluster_wide)
      w_->line("grove::tma_load_" + rank + "d_multicast(" + addr + ", &" + m->name + ", " +
               bar_addr(o) + ", " + std::to_string((1 << k_.cluster) - 1) + coords + ");");
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
  if (bb.swizzle != Swizzle::B128)
    unsupported(o.loc, "wgmma operand '" + bb.name + "' must use the 128B swizzle");
  ElemType ab = bb.elem;
  if (!is_16bit(ab)) unsupported(o.loc, "wgmma operands must be f16 or bf16");
  int64_t M = o.dst.shape.at(0), N = o.dst.shape.at(1);
  bool a_reg = o.src.kind == Ref::Reg;
  int64_t K = o.trans_a && !a_reg ? o.src.shape.at(0) : o.src.shape.at(1);
  int64_t am = o.trans_a && !a_reg ? o.src.shape.at(1) : o.src.shape.at(0);
  int64_t bk = o.trans_b ? o.src2.shape.at(1) : o.src2.shape.at(0);
  int64_t bn = o.trans_b ? o.src2.shape.at(0) : o.src2.shape.at(1);
  if (am != M || bk != K || bn != N || M % 64 != 0 || K % 16 != 0 || N % 8 != 0)
    unsupported(o.loc, "wgmma shapes do not agree: [" + std::to_string(M) + ", " +
                           std::to_string(N) + "] += [" + std::to_string(am) + ", " +
                           std::to_string(K) + "] * [" + std::to_string(bk) + ", " +
                           std::to_string(bn) + "] (M a multiple of 64, K of 16, N of 8)");
  const char* ty = ab == ElemType::BF16 ? "bf16" : "f16";
  const int64_t eb = 2;
  // Byte offset inside a 128B-swizzled tile from its first element to (row, col) for constant
  // row/col deltas: panels of 64 columns, 128 bytes per row.
  auto delta = [&](const SmemBuffer& buf, int64_t row, int64_t col) {
    int64_t cb = col * eb;
    return (cb / 128) * smem_rows(buf) * 128 + cb % 128 + row * 128;
  };
  w_->open("");
  // Tile start addresses (slot base + the box origin); per-instruction offsets are constants.
  const SmemBuffer* ab_buf = nullptr;
  if (!a_reg) {
    if (o.src.kind != Ref::Smem) unsupported(o.loc, "wgmma A must be in registers or smem");
    ab_buf = &k_.smem.at(static_cast<size_t>(o.src.index));
    if (ab_buf->swizzle != Swizzle::B128 || ab_buf->elem != ab)
      unsupported(o.loc, "wgmma A '" + ab_buf->name + "' must be " + ty + " with 128B swizzle");
    IExprP a0 =
        smem_start_offset(*ab_buf, full_index(o.src, ab_buf->shape.size(), {cst(0), cst(0)}));
    w_->line("const grove::u32 a_tile = " + slot_base(o.src) +
             (is_const(a0) && a0->value == 0 ? "" : " + " + c_expr(a0)) + ";");
  } else {
    const RegTensor& ar = k_.regs.at(static_cast<size_t>(o.src.index));
    if (ar.elem != ab || ar.shape.size() != 2)
      unsupported(o.loc,
                  "wgmma A '" + ar.name + "' in registers must be a rank-2 " + ty + " tensor");
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
  const int64_t b_panel = smem_rows(bb) * 128; // LBO of an N-major B
  for (int64_t mi = 0; mi < M / 64; ++mi) {
    for (int64_t ks = 0; ks < K / 16; ++ks) {
      for (auto [n0, n] : chunks) {
        int64_t d_off = (oi / 64 + mi) * (acc_C / 2) + (oj + n0) / 2;
        std::string bdesc;
        if (o.trans_b) { // B stored [N, K]: K-major, rows are N
          bdesc = "grove::wgmma_desc_sw128(b_tile + " + std::to_string(delta(bb, n0, 16 * ks)) +
                  ", 16, 1024)";
        } else { // B stored [K, N]: N-major, rows are K, LBO = the panel stride along N
          if ((n0 * eb) % 128 != 0)
            unsupported(o.loc, "an N-major wgmma B must be split at 64-column panels");
          bdesc = "grove::wgmma_desc_sw128(b_tile + " + std::to_string(delta(bb, 16 * ks, n0)) +
                  ", " + std::to_string(b_panel) + ", 1024)";
        }
        std::string fn = "grove::wgmma_m64n" + std::to_string(n) + "k16_" + ty;
        std::string d = sanitize(acc.name) + " + " + std::to_string(d_off);
        if (a_reg) {
          const RegTensor& ar = k_.regs.at(static_cast<size_t>(o.src.index));
          int64_t ai = 0, aj = 0;
          if (!is_const(o.src.origin.empty() ? cst(0) : o.src.origin[0], &ai) ||
              (o.src.origin.size() > 1 && !is_const(o.src.origin[1], &aj)) || ai % 64 || aj % 16)
            unsupported(o.loc, "a register A box must start at constant multiples of (64, 16)");
          // Packed u32 index of the four A registers of k-step ks: see kir.h's layout.
          int64_t a_off = (ai / 64 + mi) * (ar.shape[1] / 4) + (aj / 8 + 2 * ks) * 2;
          w_->line(fn + "_rs<" + (o.trans_b ? "0" : "1") + ">(" + d + ", " + sanitize(ar.name) +
                   " + " + std::to_string(a_off) + ", " + bdesc + ");");
        } else {
          std::string adesc;
          if (o.trans_a) // A stored [K, M]: M-major
            adesc = "grove::wgmma_desc_sw128(a_tile + " +
                    std::to_string(delta(*ab_buf, 16 * ks, 64 * mi)) + ", " +
                    std::to_string(smem_rows(*ab_buf) * 128) + ", 1024)";
          else
            adesc = "grove::wgmma_desc_sw128(a_tile + " +
                    std::to_string(delta(*ab_buf, 64 * mi, 16 * ks)) + ", 16, 1024)";
          w_->line(fn + "_ss<" + (o.trans_a ? "1" : "0") + ", " + (o.trans_b ? "0" : "1") + ">(" +
                   d + ", " + adesc + ", " + bdesc + ");");
        }
      }
    }
  }
  w_->close();
}

void Printer::launcher() {
  w_->line();
  w_->line("#ifndef __CUDACC_RTC__");
  w_->line("#include \"grove_sm90_host.cuh\"");
  w_->line();
  std::vector<std::string> params = launch_params(k_), args;
  for (const GlobalTensor& t : k_.tensors)
    args.push_back("static_cast<" + std::string(t.written ? "" : "const ") + storage_type(t.elem) +
                   "*>(" + sanitize(t.name) + ")");
  for (const std::string& v : k_.size_vars) args.push_back(v);
  for (const std::string& v : k_.float_params) args.push_back(sanitize(v));
  for (const TmaMap& m : maps_) args.push_back(m.name);
  w_->comment("Builds the tensor maps, sets the shared-memory limit and launches " +
              kernel_symbol(k_) + " on `stream`.");
  w_->line("extern \"C\" cudaError_t " + launch_symbol(k_) + "(");
  for (size_t i = 0; i < params.size(); ++i)
    w_->line("    " + params[i] + (i + 1 < params.size() ? "," : ") {"));
  w_->line("  cudaError_t err = cudaSuccess;");
  for (const TmaMap& m : maps_) {
    const GlobalTensor& t = k_.tensors.at(static_cast<size_t>(m.tensor));
    std::string dims;
    for (size_t i = 0; i < t.shape.size(); ++i)
      dims += (i ? ", " : "") + std::string("(long long)(") + c_expr(t.shape[i]) + ")";
    w_->line("  grove::TensorMap " + m.name + ";");
    w_->line("  {");
    w_->line("    const long long dims[] = {" + dims + "};");
    w_->line("    const int box[] = {" + dims_text(m.box, ", ") + "};");
    w_->line(
        "    err = grove::encode_tensor_map(&" + m.name + ", " + sanitize(t.name) + ", " +
        tma_dtype(t.elem) + ", " + std::to_string(elem_bytes(t.elem)) + ", " +
        std::to_string(t.shape.size()) + ", dims, box, " +
        (m.swizzle == Swizzle::B128 ? "CU_TENSOR_MAP_SWIZZLE_128B" : "CU_TENSOR_MAP_SWIZZLE_NONE") +
        ");");
    w_->line("    if (err != cudaSuccess) return err;");
    w_->line("  }");
  }
  if (k_.tiles && !k_.persistent) {
    // Clusters without persistence: every group of tiles at once, one per cluster.
    w_->line("  const long long blocks = (long long)(" + c_expr(k_.tiles) + ") * " +
             std::to_string(std::max(1, k_.cluster)) + ";");
  } else if (k_.tiles) {
    // At most one block per SM; each loops over its tiles.
    w_->line("  const long long tiles = (long long)(" + c_expr(k_.tiles) + ");");
    w_->line("  int device = 0, sms = 0;");
    w_->line("  err = cudaGetDevice(&device);");
    w_->line("  if (err != cudaSuccess) return err;");
    w_->line("  err = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);");
    w_->line("  if (err != cudaSuccess) return err;");
    if (k_.cluster > 1) {
      // Whole clusters of k_.cluster blocks; `tiles` counts their groups of tiles.
      const std::string c = std::to_string(k_.cluster);
      // As many clusters as can be resident at once (fewer than sms / c where a GPC has an odd
      // number of SMs), so no cluster waits for another to finish.
      w_->line("  int resident = sms / " + c + ";");
      w_->line("  {");
      w_->line("    err = cudaFuncSetAttribute(" + kernel_symbol(k_) +
               ", cudaFuncAttributeMaxDynamicSharedMemorySize, " +
               std::to_string(launch_smem_bytes(k_)) + ");");
      w_->line("    if (err != cudaSuccess) return err;");
      w_->line("    cudaLaunchConfig_t probe = {};");
      w_->line("    probe.gridDim = dim3(" + c + ");");
      w_->line("    probe.blockDim = dim3(" + std::to_string(k_.threads()) + ");");
      w_->line("    probe.dynamicSmemBytes = " + std::to_string(launch_smem_bytes(k_)) + ";");
      w_->line("    cudaLaunchAttribute dims[1];");
      w_->line("    dims[0].id = cudaLaunchAttributeClusterDimension;");
      w_->line("    dims[0].val.clusterDim.x = " + c + ";");
      w_->line("    dims[0].val.clusterDim.y = 1;");
      w_->line("    dims[0].val.clusterDim.z = 1;");
      w_->line("    probe.attrs = dims;");
      w_->line("    probe.numAttrs = 1;");
      w_->line("    int n = 0;");
      w_->line("    if (cudaOccupancyMaxActiveClusters(&n, " + kernel_symbol(k_) +
               ", &probe) != cudaSuccess)");
      w_->line("      (void)cudaGetLastError();  // no answer: keep sms / cluster size");
      w_->line("    else if (n > 0)");
      w_->line("      resident = n;");
      w_->line("  }");
      w_->line("  const long long clusters = tiles < resident ? tiles : resident;");
      w_->line("  const long long blocks = clusters * " + c + ";");
    } else {
      w_->line("  const long long blocks = tiles < sms ? tiles : sms;");
    }
  } else {
    std::string blocks = "1LL";
    for (const IExprP& g : k_.grid) blocks += " * (long long)(" + c_expr(g) + ")";
    w_->line("  const long long blocks = " + blocks + ";");
  }
  w_->line("  if (blocks <= 0) return cudaSuccess;");
  w_->line("  if (blocks > 0x7fffffffLL) return cudaErrorInvalidConfiguration;");
  w_->line("  const int smem_bytes = " + std::to_string(launch_smem_bytes(k_)) +
           ";  // the carve-up + 1024 for alignment");
  w_->line("  err = cudaFuncSetAttribute(" + kernel_symbol(k_) +
           ", cudaFuncAttributeMaxDynamicSharedMemorySize, smem_bytes);");
  w_->line("  if (err != cudaSuccess) return err;");
  if (k_.cluster > 1) {
    w_->line("  cudaLaunchConfig_t config = {};");
    w_->line("  config.gridDim = dim3(static_cast<unsigned>(blocks));");
    w_->line("  config.blockDim = dim3(" + std::to_string(k_.threads()) + ");");
    w_->line("  config.dynamicSmemBytes = smem_bytes;");
    w_->line("  config.stream = stream;");
    w_->line("  cudaLaunchAttribute cluster[1];");
    w_->line("  cluster[0].id = cudaLaunchAttributeClusterDimension;");
    w_->line("  cluster[0].val.clusterDim.x = " + std::to_string(k_.cluster) + ";");
    w_->line("  cluster[0].val.clusterDim.y = 1;");
    w_->line("  cluster[0].val.clusterDim.z = 1;");
    w_->line("  config.attrs = cluster;");
    w_->line("  config.numAttrs = 1;");
    w_->line("  err = cudaLaunchKernelEx(&config, " + kernel_symbol(k_) + ",");
    for (size_t i = 0; i < args.size(); ++i)
      w_->line("      " + args[i] + (i + 1 < args.size() ? "," : ");"));
    w_->line("  if (err != cudaSuccess) return err;");
  } else {
    w_->line("  " + kernel_symbol(k_) + "<<<static_cast<unsigned>(blocks), " +
             std::to_string(k_.threads()) + ", smem_bytes, stream>>>(");
    for (size_t i = 0; i < args.size(); ++i)
      w_->line("      " + args[i] + (i + 1 < args.size() ? "," : ");"));
  }
  w_->line("  return cudaGetLastError();");
  w_->line("}");
  w_->line("#endif  // __CUDACC_RTC__");
}

std::string Printer::run() {
  check();
  for (const Role& r : k_.roles) collect(r.body);
  prologue();
  kernel();
  // Body of the kernel.
  w_->line("  extern __shared__ __align__(1024) unsigned char smem_raw[];");
  w_->line("  unsigned char* const smem = grove::align_1024(smem_raw);");
  std::set<int> smem_used_ptr, smem_used_addr;
  for (const Role& r : k_.roles)
    walk(r.body, [&](const Op& o) {
      auto mark = [&](const Ref& ref, bool addr) {
        if (ref.kind == Ref::Smem) (addr ? smem_used_addr : smem_used_ptr).insert(ref.index);
      };
      if (o.kind == Op::TmaLoad) mark(o.dst, true);
      if (o.kind == Op::TmaStore) mark(o.src, true);
      if (o.kind == Op::Wgmma) {
        mark(o.src, true);
        mark(o.src2, true);
      }
      if (o.kind == Op::Copy) {
        mark(o.src, false);
        mark(o.dst, false);
      }
      if (o.kind == Op::Compute)
        for (const auto& [n, ref] : o.tensors) mark(ref, false);
    });
  for (size_t i = 0; i < k_.smem.size(); ++i) {
    const SmemBuffer& b = k_.smem[i];
    int idx = static_cast<int>(i);
    if (!smem_used_ptr.count(idx) && !smem_used_addr.count(idx)) continue;
    w_->line("  // " + b.name + ": " + elem_name(b.elem) + "[" + dims_text(b.shape, ", ") + "] x " +
             std::to_string(b.slots) + " slots" +
             (b.swizzle == Swizzle::B128 ? ", 128B swizzle" : "") + ", bytes [" +
             std::to_string(b.offset) + ", " + std::to_string(b.offset + b.slot_bytes() * b.slots) +
             ")");
    w_->line("  unsigned char* const " + smem_ptr_name(b) + " = smem + " +
             std::to_string(b.offset) + ";");
    if (smem_used_addr.count(idx))
      w_->line("  const grove::u32 " + smem_addr_name(b) + " = grove::smem_u32(" +
               smem_ptr_name(b) + ");");
  }
  for (const Barrier& b : k_.barriers)
    w_->line("  __shared__ grove::u64 " + mbar_name(b) + "[" + std::to_string(b.slots) + "];  // " +
             std::to_string(b.arrivals) + " arrival(s) per phase");
  // Block coordinates: the last grid variable varies fastest.
  if (!k_.grid_vars.empty()) {
    w_->line("  // block coordinates (" + [&] {
      std::string s;
      for (size_t i = 0; i < k_.grid_vars.size(); ++i) s += (i ? ", " : "") + k_.grid_vars[i];
      return s;
    }() + "), the last one varying fastest");
    w_->line("  int block = blockIdx.x;");
    if (k_.tiles) w_->line("  const int grove_ctas = static_cast<int>(gridDim.x);");
    for (size_t i = k_.grid_vars.size(); i-- > 0;) {
      if (i == 0) {
        w_->line("  const int " + k_.grid_vars[i] + " = block;");
      } else {
        std::string ext = c_expr(k_.grid[i]);
        w_->line("  const int " + k_.grid_vars[i] + " = block % " + ext + ";");
        w_->line("  block /= " + ext + ";");
      }
    }
  }
  // One thread initializes the barriers and prefetches the tensor maps.
  w_->line("  if (threadIdx.x == 0) {");
  for (const Barrier& b : k_.barriers)
    w_->line("    for (int s = 0; s < " + std::to_string(b.slots) + "; ++s) grove::mbar_init(" +
             "grove::smem_u32(&" + mbar_name(b) + "[s]), " + std::to_string(b.arrivals) + ");");
  w_->line("    grove::fence_mbarrier_init();");
  for (const TmaMap& m : maps_) w_->line("    grove::tma_prefetch_map(&" + m.name + ");");
  w_->line("  }");
  w_->line("  __syncthreads();");
  if (k_.cluster > 1)
    w_->line("  grove::cluster_sync();  // every block's barriers are ready before any is "
             "signalled from another");
  w_->line();
  roles();
  w_->line("}");
  launcher();
  return out_.str();
}

} // namespace

std::vector<std::string> launch_params(const Kernel& k) {
  std::vector<std::string> params;
  for (const GlobalTensor& t : k.tensors)
    params.push_back(std::string(t.written ? "void* " : "const void* ") + sanitize(t.name));
  for (const std::string& v : k.size_vars) params.push_back("int " + v);
  for (const std::string& v : k.float_params) params.push_back("float " + sanitize(v));
  params.push_back("cudaStream_t stream");
  return params;
}

std::string launch_declaration(const Kernel& k) {
  std::string d = "extern \"C\" cudaError_t " + launch_symbol(k) + "(";
  std::vector<std::string> params = launch_params(k);
  for (size_t i = 0; i < params.size(); ++i) d += (i ? ", " : "") + params[i];
  return d + ");";
}

std::string kernel_symbol(const Kernel& k) {
  return sanitize(k.name) + "_kernel";
}

std::string launch_symbol(const Kernel& k) {
  return sanitize(k.name) + "_launch";
}

int64_t launch_smem_bytes(const Kernel& k) {
  return k.smem_bytes + 1024;
}

std::string print_cuda(const Kernel& k) {
  return Printer(k).run();
}

std::vector<TensorMapSpec> tensor_maps(const Kernel& k) {
  return Printer(k).maps();
}

std::vector<std::string> unhonoured_options(const Kernel& k) {
  std::vector<std::string> out;
  if (k.cluster_x * k.cluster_y > 1 && k.cluster <= 1)
    out.push_back("kernel '" + k.name + "' asks for clusters of " + std::to_string(k.cluster_x) +
                  "x" + std::to_string(k.cluster_y) +
                  " blocks, but has no grid of tiles for them to split: no clusters, no "
                  "multicast");
  return out;
}

} // namespace grove::cuda
