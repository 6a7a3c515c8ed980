// The on-disk cache of compiled kernels: one file per key, written atomically (a temporary file
// renamed into place), so concurrent runs never see a partial CUBIN.
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

class KernelCache {
public:
  explicit KernelCache(std::string dir = default_cache_dir()) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }
  std::string path(const std::string& stem, const std::string& key) const;
  // The cached bytes, or nothing when absent or not an ELF image (then it is recompiled).
  std::optional<std::string> load(const std::string& stem, const std::string& key) const;
  // Stores the bytes; a cache that cannot be written is not an error (returns false).
  bool store(const std::string& stem, const std::string& key, const std::string& bytes) const;

private:
  std::string dir_;
};

} // namespace grove::runtime
