// /etc/ld.so.cache in glibc's binary formats (elf/cache.c writes it, elf/dl-cache.c reads it):
// the old "ld.so-1.7.0" table, the new "glibc-ld.so.cache1.1" table (alone or after the old
// one), and the new format's glibc-hwcaps extension. Decoded once into plain structs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace execmap::loader {

struct LdCacheEntry {
  int32_t flags = 0;
  bool key_ok = false, value_ok = false;  // _dl_cache_verify_ptr and a NUL inside the file
  std::string key, value;
  uint32_t osversion = 0;
  uint64_t hwcap = 0;
};

struct LdCache {
  bool valid = false;    // the checks _dl_load_cache_lookup makes before using the file
  bool is_new = false;   // entries come from the new format (with hwcap fields)
  std::string error;
  std::vector<LdCacheEntry> entries;     // file order (sorted by ldconfig)
  std::vector<std::string> hwcaps_names;  // the glibc-hwcaps extension section, by index
};

constexpr uint64_t kMaxLdCacheSize = 64u << 20;
constexpr int32_t kLdCacheFlagsX8664 = 0x0303;  // FLAG_ELF_LIBC6 | FLAG_X8664_LIB64
constexpr uint64_t kLdCacheHwcapExtension = 1ull << 62;  // DL_CACHE_HWCAP_EXTENSION

LdCache parse_ld_cache(const std::vector<uint8_t>& bytes);

// _dl_cache_libcmp(): digits compare numerically ("libfoo.so.10" sorts after ".so.9").
int ld_cache_libcmp(const std::string& a, const std::string& b);

}  // namespace execmap::loader
