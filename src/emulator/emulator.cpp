#include "emulator/emulator.h"

#include <algorithm>
#include <limits>
#include <random>

#include "emulator/block.h"

namespace grove {

EmulatorReport emulate(const kir::Kernel& k,
                       std::map<std::string, std::shared_ptr<Buffer>>& tensors,
                       const std::map<std::string, int64_t>& sizes,
                       const std::map<std::string, double>& float_params,
                       const EmulatorOptions& opts) {
  EmulatorReport rep;
  auto fail = [&](const std::string& msg) {
    rep.ok = false;
    rep.errors.push_back(k.name + ": " + msg);
    return rep;
  };
  emu::Env env;
  for (const std::string& s : k.size_vars) {
    auto it = sizes.find(s);
    if (it == sizes.end()) return fail("size '" + s + "' has no value");
    env[s] = it->second;
  }
  for (const std::string& p : k.float_params)
    if (!float_params.count(p)) return fail("float parameter '" + p + "' has no value");
  std::vector<Buffer*> globals;
  std::vector<std::vector<int64_t>> shapes;
  try {
    for (const kir::GlobalTensor& t : k.tensors) {
      std::vector<int64_t> shape;
      for (const kir::IExprP& d : t.shape) shape.push_back(kir::eval(*d, env));
      auto it = tensors.find(t.name);
      if (it == tensors.end() && t.temporary) { // the first kernel to name it allocates it
        if (std::any_of(shape.begin(), shape.end(), [](int64_t d) { return d < 0; }))
          return fail("the temporary '" + t.name + "' would be " + shape_str(shape) +
                      " at these sizes");
        const double nan = std::numeric_limits<double>::quiet_NaN();
        it = tensors.emplace(t.name, std::make_shared<Buffer>(t.name, t.elem, shape, nan)).first;
      }
      if (it == tensors.end() || !it->second) return fail("no buffer for tensor '" + t.name + "'");
      if (shape != it->second->shape)
        return fail("buffer '" + t.name + "' is " + shape_str(it->second->shape) +
                    " but the kernel expects " + shape_str(shape));
      if (it->second->elem != t.elem)
        return fail("buffer '" + t.name + "' holds " + elem_name(it->second->elem) +
                    " but the kernel expects " + elem_name(t.elem));
      globals.push_back(it->second.get());
      shapes.push_back(shape);
    }
    if (k.tiles) {
      // Persistent: as many blocks as the launch would pick where the GPU has fewer SMs than
      // tiles; by default 1-4 by seed, so schedules also vary how tiles fall to blocks. Otherwise
      // (clusters only) one group of tiles per cluster.
      const int64_t tiles = kir::eval(*k.tiles, env);
      int64_t want =
          opts.persistent_ctas > 0 ? opts.persistent_ctas : 1 + static_cast<int64_t>(opts.seed % 4);
      // (With clusters, `tiles` counts groups of k.cluster tiles, one group per cluster.)
      env["grove_ctas"] = (k.persistent ? std::min(tiles, want) : tiles) * std::max(1, k.cluster);
    }
    std::vector<int64_t> grid;
    int64_t blocks = 1;
    for (const kir::IExprP& g : k.grid) {
      grid.push_back(kir::eval(*g, env));
      blocks *= grid.back();
    }
    if (k.grid.size() != k.grid_vars.size())
      return fail("grid variables and extents differ in number");
    if (opts.max_blocks > 0) blocks = std::min<int64_t>(blocks, opts.max_blocks);
    std::mt19937_64 rng(opts.seed);
    emu::Block block(k, globals, shapes, float_params, opts, rng, rep);
    // The blocks of a cluster run together; clusters (and blocks without them) one after another.
    const int64_t cluster = std::max(1, k.cluster);
    for (int64_t b = 0; b < blocks; b += cluster) {
      std::vector<emu::Env> envs;
      std::string label = "block (";
      for (int64_t c = 0; c < cluster && b + c < blocks; ++c) {
        int64_t rest = b + c;
        for (size_t d = grid.size(); d-- > 0;) {
          env[k.grid_vars[d]] = rest % grid[d];
          rest /= grid[d];
        }
        envs.push_back(env);
      }
      for (size_t d = 0; d < grid.size(); ++d)
        label += (d ? ", " : "") + k.grid_vars[d] + "=" + std::to_string(envs[0][k.grid_vars[d]]);
      if (cluster > 1) label += ", cluster of " + std::to_string(cluster);
      rep.blocks += static_cast<int64_t>(envs.size());
      if (!block.run(envs, label + ")")) break;
    }
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  rep.ok = rep.errors.empty();
  return rep;
}

} // namespace grove
