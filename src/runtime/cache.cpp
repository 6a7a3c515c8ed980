#include "runtime/cache.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace grove::runtime {

namespace fs = std::filesystem;

std::string default_cache_dir() {
  if (const char* d = std::getenv("GROVE_CACHE_DIR"); d && *d) return d;
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d) return std::string(d) + "/grove";
  if (const char* d = std::getenv("HOME"); d && *d) return std::string(d) + "/.cache/grove";
  return (fs::temp_directory_path() / ("grove-cache-" + std::to_string(getuid()))).string();
}

std::string hash_key(const std::vector<std::string_view>& parts) {
  __extension__ using u128 = unsigned __int128;
  const u128 prime = (static_cast<u128>(0x0000000001000000ULL) << 64) | 0x000000000000013BULL;
  u128 h = (static_cast<u128>(0x6c62272e07bb0142ULL) << 64) | 0x62b821756295c58dULL;
  auto eat = [&](unsigned char c) {
    h ^= c;
    h *= prime;
  };
  for (std::string_view p : parts) {
    uint64_t n = p.size();
    for (int i = 0; i < 8; ++i) eat(static_cast<unsigned char>(n >> (8 * i)));
    for (char c : p) eat(static_cast<unsigned char>(c));
  }
  static const char* hex = "0123456789abcdef";
  std::string s(32, '0');
  for (int i = 0; i < 32; ++i)
    s[static_cast<size_t>(31 - i)] = hex[static_cast<int>(h >> (4 * i)) & 15];
  return s;
}

std::string KernelCache::path(const std::string& stem, const std::string& key) const {
  return (fs::path(dir_) / (stem + "-" + key + ".cubin")).string();
}

namespace {

std::string log_path(const std::string& cubin_path) {
  return fs::path(cubin_path).replace_extension(".log").string();
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes a temporary file and renames it into place.
bool write_file(const std::string& path, const std::string& bytes) {
  std::error_code ec;
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return false;
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) return false;
  }
  fs::rename(tmp, path, ec);
  if (!ec) return true;
  fs::remove(tmp, ec);
  return false;
}

} // namespace

std::optional<CacheEntry> KernelCache::load(const std::string& stem, const std::string& key) const {
  std::string cubin = path(stem, key);
  std::optional<std::string> image = read_file(cubin);
  if (!image || image->size() < 4 ||
      image->compare(0, 4,
                     "\x7f"
                     "ELF") != 0)
    return std::nullopt;
  std::optional<std::string> log = read_file(log_path(cubin));
  if (!log) return std::nullopt;
  return CacheEntry{std::move(*image), std::move(*log)};
}

bool KernelCache::store(const std::string& stem, const std::string& key,
                        const CacheEntry& entry) const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return false;
  std::string cubin = path(stem, key);
  // The log first: an entry is whole once its CUBIN is in place.
  return write_file(log_path(cubin), entry.log) && write_file(cubin, entry.image);
}

} // namespace grove::runtime
