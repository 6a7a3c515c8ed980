// Tensors as the interpreter sees them: buffers, strided views into them, and partitions.
//
// A tile keeps its nominal shape at a ragged edge, as a TMA box does on the GPU: elements outside
// the tensor read as zero and writes to them are dropped. Each view carries the box of buffer
// coordinates it may touch, so a ragged piece never reaches into its neighbour.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "support/numeric.h"

namespace grove {

struct Buffer {
  std::string name;
  ElemType elem = ElemType::F32;
  std::vector<int64_t> shape; // row-major
  std::vector<double> data;   // values already rounded to `elem` (unless running exactly)
  // Without `allocate` the buffer has its shape but no elements: enough to elaborate a mapping.
  Buffer(std::string n, ElemType e, std::vector<int64_t> s, double fill, bool allocate = true);
  int64_t size() const { return static_cast<int64_t>(data.size()); }
};

struct ViewDim {
  int axis;       // buffer axis this dimension moves along
  int64_t step;   // buffer coordinates per index
  int64_t extent; // number of indices
};

struct View {
  std::shared_ptr<Buffer> buf;
  std::vector<int64_t> origin; // buffer coordinate of index (0, ..., 0), per buffer axis
  std::vector<ViewDim> dims;
  std::vector<int64_t> lo, hi; // valid box of buffer coordinates, per buffer axis

  static View whole(std::shared_ptr<Buffer> b);
  int rank() const { return static_cast<int>(dims.size()); }
  std::vector<int64_t> shape() const;
  int64_t count() const;
  ElemType elem() const { return buf->elem; }

  // The sub-view with leading indices fixed (T[b] in a program).
  View select(const std::vector<int64_t>& idx) const;
  // Dense row-major copy of the view; elements outside the valid box read as 0.
  void gather(std::vector<double>& out) const;
  // Writes a dense row-major array back; elements outside the valid box are dropped. Values are
  // rounded to the buffer's type unless `exact`.
  void scatter(const std::vector<double>& in, bool exact) const;
  // Whether two views may touch a common valid element (conservative: bounding boxes).
  bool may_overlap(const View& o) const;
};

std::string shape_str(const std::vector<int64_t>& s);

} // namespace grove
