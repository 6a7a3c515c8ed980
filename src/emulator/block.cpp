#include "emulator/block.h"

#include <algorithm>
#include <limits>

namespace grove::emu {
namespace {

// The named barriers an agent's code uses (ids may depend on the agent's `wg` only), by key.
void barrier_keys(const kir::Body& body, const Agent& a, std::set<int>& keys,
                  int (*key)(const Agent&, const kir::Op&)) {
  for (const kir::Op& op : body) {
    if (op.kind == kir::Op::NamedBarrier || op.kind == kir::Op::NamedBarrierArrive ||
        op.kind == kir::Op::ClusterSync)
      keys.insert(key(a, op));
    barrier_keys(op.body, a, keys, key);
  }
}

} // namespace

int Block::named_key(const Agent& a, const kir::Op& op) {
  if (op.kind == kir::Op::ClusterSync) return -1;
  Env wg;
  if (a.env.count("wg")) wg["wg"] = a.env.at("wg");
  return a.cta * 32 + named_id(op, wg);
}

std::vector<int> Block::targets(const Agent& a, const kir::Op& op) const {
  return kir::cluster_targets(k_, a.cta, op.cluster_groups);
}

// Signalling or filling a block whose agents have all finished: on the GPU it has exited.
void Block::check_alive(const Agent& a, const kir::Op& op, int cta) {
  for (const Agent& b : agents_)
    if (b.cta == cta && !b.done) return;
  error(a, &op,
        "signals block " + std::to_string(cta) +
            " of the cluster, which has already exited (a barrier.cluster.sync before the end "
            "is missing)");
}

Block::Block(const kir::Kernel& k, const std::vector<Buffer*>& globals,
             const std::vector<std::vector<int64_t>>& global_shapes,
             const std::map<std::string, double>& float_params, const EmulatorOptions& opts,
             std::mt19937_64& rng, EmulatorReport& report)
    : k_(k), globals_(globals), global_shapes_(global_shapes), float_params_(float_params),
      opts_(opts), rng_(rng), report_(report) {
  for (int c = 0; c < std::max(1, k.cluster); ++c) {
    smem_.emplace_back(k);
    bars_.emplace_back(k);
  }
}

bool Block::run(const std::vector<Env>& envs, const std::string& label) {
  label_ = label;
  agents_.clear();
  ops_.clear();
  live_.clear();
  named_.clear();
  for (SmemModel& s : smem_) s.reset();
  for (Mbarriers& b : bars_) b.reset();
  now_ = 0;
  failed_ = false;
  for (size_t cta = 0; cta < envs.size(); ++cta)
    for (size_t r = 0; r < k_.roles.size(); ++r) {
      const kir::Role& role = k_.roles[r];
      int n = role.kind == kir::Role::Producer ? 1 : role.warpgroups;
      for (int w = 0; w < n; ++w) {
        Agent a;
        a.role = static_cast<int>(r);
        a.wg = w;
        a.cta = static_cast<int>(cta);
        a.threads = 32 * role.warps;
        a.label =
            role.kind == kir::Role::Producer ? role.name : role.name + " wg " + std::to_string(w);
        if (envs.size() > 1) a.label = "block " + std::to_string(cta) + " " + a.label;
        a.env = envs[cta];
        if (role.kind == kir::Role::Consumer) a.env["wg"] = w;
        for (const kir::RegTensor& t : k_.regs) {
          int64_t n_el = 1;
          for (int64_t d : t.shape) n_el *= d;
          a.regs.emplace_back(static_cast<size_t>(n_el), std::numeric_limits<double>::quiet_NaN());
        }
        a.regs_unfenced.assign(k_.regs.size(), false);
        a.frames.push_back({&role.body, 0, nullptr, 0, 0});
        agents_.push_back(std::move(a));
      }
    }
  bar_threads_.clear();
  for (const Agent& a : agents_) {
    std::set<int> keys;
    barrier_keys(k_.roles[static_cast<size_t>(a.role)].body, a, keys, &Block::named_key);
    for (int key : keys) bar_threads_[key] += a.threads;
  }
  next_tid_ = static_cast<int>(agents_.size());
  for (Agent& a : agents_) {
    a.tid = static_cast<int>(&a - agents_.data());
    own(a.vc, a.tid) = 1;
  }
  for (Agent& a : agents_) {
    try {
      normalize(a);
    } catch (const std::exception& e) {
      error(a, nullptr, e.what());
      return false;
    }
  }

  std::vector<Agent*> runnable;
  std::vector<int> due;
  while (true) {
    if (report_.steps >= opts_.step_limit) {
      report_.errors.push_back(label_ + ": step limit of " + std::to_string(opts_.step_limit) +
                               " exceeded");
      return false;
    }
    runnable.clear();
    due.clear();
    for (Agent& a : agents_) {
      if (a.done) continue;
      try {
        if (ready(a, *a.current())) runnable.push_back(&a);
      } catch (const std::exception& e) {
        error(a, a.current(), e.what());
        return false;
      }
    }
    int64_t next = std::numeric_limits<int64_t>::max();
    for (int id : live_) {
      AsyncOp& o = ops_[static_cast<size_t>(id)];
      if (o.done) continue;
      if (o.ready_at <= now_) due.push_back(id);
      next = std::min(next, o.ready_at);
    }
    if (runnable.empty() && due.empty()) {
      if (next != std::numeric_limits<int64_t>::max()) {
        now_ = next; // nothing else can happen before the next completion
        continue;
      }
      if (std::any_of(agents_.begin(), agents_.end(), [](const Agent& a) { return !a.done; }))
        deadlock();
      break;
    }
    size_t pick = static_cast<size_t>(rng_() % (runnable.size() + due.size()));
    if (pick < runnable.size()) {
      Agent& a = *runnable[pick];
      const kir::Op& op = *a.current();
      try {
        if (exec(a, op)) {
          a.frames.back().pc++;
          normalize(a);
        }
      } catch (const std::exception& e) {
        error(a, &op, e.what());
        return false;
      }
    } else {
      AsyncOp& o = ops_[static_cast<size_t>(due[pick - runnable.size()])];
      try {
        complete(o);
      } catch (const std::exception& e) {
        error(agents_[static_cast<size_t>(o.agent)], o.op, e.what());
        return false;
      }
    }
    std::erase_if(live_, [&](int id) {
      const AsyncOp& o = ops_[static_cast<size_t>(id)];
      return o.kind == AsyncOp::Load ? o.done : o.retired;
    });
    ++now_;
    ++report_.steps;
    if (report_.errors.size() >= static_cast<size_t>(opts_.max_errors)) break;
  }
  return !failed_;
}

// A loop's per-iteration names, in order.
static void bind_lets(const kir::Op& loop, Env& env) {
  for (const auto& [name, value] : loop.lets) env[name] = kir::eval(*value, env);
}

// Moves the agent to its next op that is not a loop header, entering and leaving loops.
void Block::normalize(Agent& a) {
  while (!a.frames.empty()) {
    Frame& f = a.frames.back();
    if (f.pc >= f.body->size()) {
      if (f.loop)
        for (const auto& [name, step] : f.loop->carries) a.env[name] += kir::eval(*step, a.env);
      if (f.loop && ++f.iter < f.extent) {
        a.env[f.loop->var] = f.iter;
        bind_lets(*f.loop, a.env);
        f.pc = 0;
        continue;
      }
      if (f.loop) {
        a.env.erase(f.loop->var);
        for (const auto& let : f.loop->lets) a.env.erase(let.first);
        for (const auto& c : f.loop->carries) a.env.erase(c.first);
      }
      a.frames.pop_back();
      if (!a.frames.empty()) a.frames.back().pc++;
      continue;
    }
    const kir::Op& op = (*f.body)[f.pc];
    if (op.kind != kir::Op::Loop) return;
    int64_t extent = kir::eval(*op.extent, a.env);
    if (extent <= 0) {
      f.pc++;
      continue;
    }
    a.env[op.var] = 0;
    for (const auto& c : op.carries) a.env[c.first] = 0;
    bind_lets(op, a.env);
    a.frames.push_back({&op.body, 0, &op, extent, 0});
  }
  a.done = true;
  finish(a);
  release_cluster(); // one thread fewer for barrier.cluster to wait for
}

void Block::release_cluster() {
  NamedBarrier& nb = named_[-1];
  int live = 0;
  for (const Agent& a : agents_)
    if (!a.done) live += a.threads;
  if (nb.arrived == 0 || nb.arrived < live) return;
  nb.generation++;
  nb.arrived = 0;
  nb.released = std::move(nb.pending);
  nb.pending.clear();
}

void Block::finish(Agent& a) {
  size_t unretired = a.open_wgmma.size();
  for (const auto& g : a.wgmma_groups) unretired += g.size();
  if (!a.open_wgmma.empty())
    error(a, nullptr,
          "ends with " + std::to_string(a.open_wgmma.size()) +
              " wgmma(s) never committed to a group (wgmma.commit_group missing)");
  else if (unretired)
    error(a, nullptr,
          "ends with " + std::to_string(unretired) +
              " wgmma(s) not retired by a wgmma.wait_group (its accumulator is not safe to read)");
  if (!a.open_stores.empty() || !a.store_groups.empty())
    error(a, nullptr,
          "ends with TMA stores not waited for (tma.store.commit_group / wait_group missing)");
}

std::string Block::loops(const Agent& a) {
  std::string s;
  for (const Frame& f : a.frames)
    if (f.loop) s += (s.empty() ? "" : ", ") + f.loop->var + "=" + std::to_string(f.iter);
  return s;
}

std::string Block::where(const Agent& a, const kir::Op* op) const {
  std::string s;
  if (op && op->loc.valid() && opts_.sources)
    s += opts_.sources->path(op->loc.file) + ":" + std::to_string(op->loc.line) + ":" +
         std::to_string(op->loc.col) + ": ";
  s += label_ + ", " + a.label;
  std::string l = loops(a);
  if (!l.empty()) s += " (" + l + ")";
  if (op) {
    s += ", ";
    s += kir::op_name(op->kind);
    if (!op->note.empty()) s += " [" + op->note + "]";
  }
  return s + ": ";
}

void Block::error(const Agent& a, const kir::Op* op, const std::string& msg) {
  failed_ = true; // the block runs on (later errors give context); emulate() stops after it
  std::string key = a.label + "|" + (op ? kir::op_name(op->kind) : "") + "|" + msg;
  if (!seen_.insert(key).second) return;
  if (report_.errors.size() < static_cast<size_t>(opts_.max_errors))
    report_.errors.push_back(where(a, op) + msg);
}

std::string Block::waiting_on(Agent& a) {
  const kir::Op& op = *a.current();
  switch (op.kind) {
  case kir::Op::MbarWait: {
    int64_t slot = kir::eval(*op.slot, a.env);
    Mbarriers& bars = bars_[static_cast<size_t>(a.cta)];
    return "parity " + std::to_string(kir::eval(*op.phase, a.env) & 1) + " of mbarrier " +
           bars.name(op.barrier, slot) + ", which is in " + bars.state(op.barrier, slot);
  }
  case kir::Op::WgmmaWait:
    return std::to_string(a.wgmma_groups.size()) +
           " wgmma group(s) pending, waiting for <= " + std::to_string(op.count);
  case kir::Op::TmaStoreWait:
    return std::to_string(a.store_groups.size()) +
           " TMA store group(s) pending, waiting for <= " + std::to_string(op.count);
  case kir::Op::NamedBarrier:
  case kir::Op::ClusterSync: {
    const int key = named_key(a, op);
    const NamedBarrier& nb = named_[key];
    return (key < 0 ? "the cluster barrier" : "barrier " + std::to_string(named_id(op, a.env))) +
           ": " + std::to_string(nb.arrived) + " of " +
           std::to_string(key < 0 ? bar_threads_[key] : op.count) + " threads arrived";
  }
  default:
    return "?";
  }
}

void Block::deadlock() {
  std::string msg = "deadlock: every live agent is blocked and no asynchronous operation is in "
                    "flight:";
  for (Agent& a : agents_) {
    if (a.done) {
      msg += "\n  " + a.label + ": finished";
      continue;
    }
    msg += "\n  " + where(a, a.current()) + waiting_on(a);
  }
  failed_ = true;
  if (report_.errors.size() < static_cast<size_t>(opts_.max_errors))
    report_.errors.push_back(label_ + ": " + msg);
}

} // namespace grove::emu
