// The on-disk cache of compiled kernels: per key, the CUBIN and beside it the compiler's log (what
// ptxas reported of registers and spills, so a cache hit can say it too). Each file is written
// atomically (a temporary file renamed into place), the log first, so concurrent runs never see a
// partial entry.
//
// Folder: $GROVE_CACHE_DIR, else $XDG_CACHE_HOME/grove, else ~/.cache/grove.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace grove::runtime {

std::string default_cache_dir();

// A 128-bit FNV-1a hash of the parts (each length-prefixed), as 32 hex digits.
std::string hash_key(const std::vector<std::string_view>& parts);

struct CacheEntry {
  std::string image; // the ELF bytes
  std::string log;   // NVRTC's log
};

class KernelCache {
public:
  explicit KernelCache(std::string dir = default_cache_dir()) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }
  // The CUBIN's file; the log's is the same with ".log" for ".cubin".
  std::string path(const std::string& stem, const std::string& key) const;
  // The cached entry, or nothing when either file is absent or the image is not an ELF image
  // (then it is recompiled).
  std::optional<CacheEntry> load(const std::string& stem, const std::string& key) const;
  // Stores the entry; a cache that cannot be written is not an error (returns false).
  bool store(const std::string& stem, const std::string& key, const CacheEntry& entry) const;

private:
  std::string dir_;
};

} // namespace grove::runtime
