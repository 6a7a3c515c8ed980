// Partitions: how an inner variant splits a tensor into pieces for its subtasks.
#pragma once
#include <string>
#include <vector>

#include "frontend/ast.h"
#include "taskir/view.h"

namespace grove {

struct Partition {
  enum Kind { Tile, MmaFrag } kind = Tile;
  View base;
  // Tile: which view dimensions are cut and the piece size along each (rows/cols cut one).
  std::vector<int> cut_dims;
  std::vector<int64_t> sizes;
  // MmaFrag: the operand role (A, B or C) of a WGMMA m{m}n{n}k{k} and the level of the pieces.
  char role = 'C';
  int m = 64, n = 8, k = 16;
  Level level = Level::Warpgroup;

  // Number of pieces along each color dimension.
  std::vector<int64_t> colors() const;
  View piece(const std::vector<int64_t>& idx) const;
};

// Each returns the partition or throws std::invalid_argument with a message that says what does
// not divide or fit; the interpreter turns it into a located diagnostic.
Partition make_tile(const View& base, std::vector<int> cut_dims, std::vector<int64_t> sizes);
Partition make_mma_frag(const View& base, char role, int m, int n, int k, Level level);

} // namespace grove
