#include "runtime/flops.h"

#include "runtime/launch.h"

namespace grove::runtime {

namespace {

bool has_wgmma(const kir::Body& b) {
  for (const kir::Op& o : b)
    if (o.kind == kir::Op::Wgmma || (o.kind == kir::Op::Loop && has_wgmma(o.body))) return true;
  return false;
}

double walk(const kir::Body& b, std::map<std::string, int64_t>& env) {
  double f = 0;
  for (const kir::Op& o : b) {
    if (o.kind == kir::Op::Wgmma) {
      double m = static_cast<double>(o.dst.shape.at(0)), n = static_cast<double>(o.dst.shape.at(1));
      bool a_smem_t = o.trans_a && o.src.kind == kir::Ref::Smem;
      double kk = static_cast<double>(a_smem_t ? o.src.shape.at(0) : o.src.shape.at(1));
      f += 2 * m * n * kk;
    } else if (o.kind == kir::Op::Loop && has_wgmma(o.body)) {
      int64_t extent = kir::eval(*o.extent, env);
      for (int64_t v = 0; v < extent; ++v) {
        env[o.var] = v;
        for (const auto& [name, value] : o.lets) env[name] = kir::eval(*value, env);
        f += walk(o.body, env);
      }
      env.erase(o.var);
      for (const auto& let : o.lets) env.erase(let.first);
    }
  }
  return f;
}

} // namespace

double mma_flops(const kir::Kernel& k, const std::map<std::string, int64_t>& sizes) {
  LaunchPlan p = plan_launch(k, sizes);
  std::map<std::string, int64_t> env = sizes;
  if (k.tiles) env["grove_ctas"] = p.blocks;
  double total = 0;
  for (int64_t block = 0; block < p.blocks; ++block) {
    int64_t rest = block; // the last grid variable varies fastest, as the printed kernel has it
    for (size_t i = k.grid_vars.size(); i-- > 0;) {
      int64_t ext = i == 0 ? rest + 1 : kir::eval(*k.grid[i], sizes);
      env[k.grid_vars[i]] = rest % ext;
      rest /= ext;
    }
    for (const kir::Role& r : k.roles) {
      if (r.kind != kir::Role::Consumer || !has_wgmma(r.body)) continue;
      for (int wg = 0; wg < r.warpgroups; ++wg) {
        env["wg"] = wg;
        total += walk(r.body, env);
      }
    }
  }
  return total;
}

} // namespace grove::runtime
