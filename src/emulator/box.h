// Boxes of tensor elements: what a kir::Ref names once its index expressions are evaluated.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kernel/kir.h"

namespace grove::emu {

using Env = std::map<std::string, int64_t>;

// The elements [lo, hi) per dimension of a tensor of the given shape; `slot` for shared memory.
struct Box {
  int index = -1; // the buffer (kernel smem, regs or tensors index)
  int cta = 0;    // shared memory: which block of the cluster
  int64_t slot = 0;
  std::vector<int64_t> lo, hi;
  int64_t count() const;
  std::vector<int64_t> shape() const; // hi - lo per dimension
};

// Evaluates a Ref over a tensor of `tensor_shape`: the box's dimensions are the trailing ones of
// the tensor; leading dimensions are fixed at the origin. Throws std::runtime_error on a rank
// mismatch and std::out_of_range for an unbound variable.
Box eval_box(const kir::Ref& r, const std::vector<int64_t>& tensor_shape, const Env& env);

// Whether the box lies inside the tensor.
bool inside(const Box& b, const std::vector<int64_t>& tensor_shape);

bool overlaps(const Box& a, const Box& b);
bool contains(const Box& outer, const Box& inner);

// Row-major linear indices of the box's elements in a tensor of `shape`, in the box's row-major
// order; -1 for elements outside the tensor.
std::vector<int64_t> box_indices(const Box& b, const std::vector<int64_t>& shape);

std::string box_str(const Box& b);

} // namespace grove::emu
