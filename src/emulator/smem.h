// Shared memory as the emulator stores it: each slot of each ring holds its elements in physical
// order, so the layout an op assumes (kir::Ref::swizzle) decides which element it reaches.
//
// Swizzled layouts (Swizzle::B128, B64, B32), as TMA writes them and a wgmma descriptor reads
// them (kir.h): a slot whose rows are wider than the span W is split into W-byte column panels
// stored one after another (each [rows, W bytes]); then the 16-byte chunk at bits [4, 7) of each
// byte offset is XORed with bits [7, ...) (three bits for 128, two for 64, one for 32), with the
// slot aligned to 8 W bytes. For a slot of 128-byte rows this is "chunk c of row r is stored at
// chunk c ^ (r % 8)". Swizzle::None is plain row-major.
//
// Besides the data, every slot keeps the accesses that may still conflict with later ones (with
// their vector-clock epochs), to find accesses not ordered by the kernel's synchronization.
#pragma once
#include <string>
#include <vector>

#include "emulator/box.h"
#include "emulator/vclock.h"
#include "kernel/kir.h"

namespace grove::emu {

class SmemModel {
public:
  explicit SmemModel(const kir::Kernel& k); // keeps a reference to `k`
  void reset(); // every element NaN (uninitialized), no recorded accesses

  // Throws std::runtime_error unless the box names a buffer, a slot in range and lies inside it.
  void check(const Box& b) const;
  // The box's elements in logical row-major order, through layout `sw`.
  std::vector<double> read(const Box& b, kir::Swizzle sw) const;
  // Stores (rounded to the buffer's type) through layout `sw`.
  void write(const Box& b, kir::Swizzle sw, const std::vector<double>& v);
  void poison(const Box& b, kir::Swizzle sw);

  // Records an access made at epoch `e` by a thread whose clock is `vc`, after checking it against
  // earlier conflicting accesses (a write conflicts with reads and writes, a read with writes).
  // Returns a description of each earlier access not ordered before this one.
  std::vector<std::string> access(const Box& b, bool write, Epoch e, const VClock& vc,
                                  const std::string& who);

  const kir::SmemBuffer& buffer(int i) const { return k_.smem[static_cast<size_t>(i)]; }

private:
  struct Access {
    Box box;
    bool write;
    Epoch epoch;
    std::string who;
  };
  const std::vector<int64_t>& layout(int buf, kir::Swizzle sw) const;

  const kir::Kernel& k_;
  // Logical -> physical, per buffer: row-major, and each swizzle by its kir::Swizzle value (with
  // why a buffer cannot have it, where it cannot).
  std::vector<std::vector<int64_t>> row_major_;
  std::vector<std::vector<int64_t>> swizzled_[4];
  std::vector<std::string> swizzle_error_[4];
  std::vector<std::vector<std::vector<double>>> data_; // [buffer][slot][physical element]
  std::vector<std::vector<std::vector<Access>>> log_;  // [buffer][slot]
};

} // namespace grove::emu
