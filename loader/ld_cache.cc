// Parsing of /etc/ld.so.cache with every offset checked against the file (glibc 2.36
// elf/dl-cache.c _dl_load_cache_lookup, elf/cache.c for the layout).
#include "loader/ld_cache.h"

#include <cstring>

#include "loader/checked.h"
#include "loader/elf_bytes.h"

namespace execmap::loader {
namespace {

constexpr char kOldMagic[] = "ld.so-1.7.0";           // CACHEMAGIC
constexpr char kNewMagic[] = "glibc-ld.so.cache1.1";  // CACHEMAGIC_VERSION_NEW
constexpr uint64_t kOldHeader = 16;                   // magic[11] + pad + nlibs
constexpr uint64_t kOldEntry = 12;                    // flags, key, value
constexpr uint64_t kNewHeader = 48;                   // struct cache_file_new
constexpr uint64_t kNewEntry = 24;                    // struct file_entry_new
constexpr uint32_t kExtensionMagic = 0xeaa42174;      // cache_extension_magic
constexpr uint32_t kTagGlibcHwcaps = 1;               // cache_extension_tag_glibc_hwcaps

bool has_prefix(const std::vector<uint8_t>& b, uint64_t off, const char* magic) {
  uint64_t n = std::strlen(magic);
  return off <= b.size() && b.size() - off >= n && std::memcmp(&b[off], magic, n) == 0;
}

// A string at data + off: _dl_cache_verify_ptr (off < size) plus a terminating NUL that we
// require inside the file (glibc would read past the end).
bool cache_string(const std::vector<uint8_t>& b, uint64_t data, uint64_t off, std::string* out) {
  uint64_t at;
  if (!checked_add(data, off, &at) || at >= b.size()) return false;
  const void* nul = std::memchr(&b[at], 0, b.size() - at);
  if (!nul) return false;
  out->assign(reinterpret_cast<const char*>(&b[at]),
              static_cast<const uint8_t*>(nul) - &b[at]);
  return true;
}

}  // namespace

int ld_cache_libcmp(const std::string& a, const std::string& b) {
  const char* p1 = a.c_str();
  const char* p2 = b.c_str();
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  while (*p1 != '\0') {
    if (digit(*p1)) {
      if (!digit(*p2)) return 1;
      // Must compare this numerically (glibc uses int and can overflow; saturate instead).
      uint64_t v1 = 0, v2 = 0;
      while (digit(*p1)) v1 = v1 > (1ull << 40) ? v1 : v1 * 10 + uint64_t(*p1++ - '0');
      while (digit(*p2)) v2 = v2 > (1ull << 40) ? v2 : v2 * 10 + uint64_t(*p2++ - '0');
      if (v1 != v2) return v1 < v2 ? -1 : 1;
    } else if (digit(*p2)) {
      return -1;
    } else if (*p1 != *p2) {
      return static_cast<unsigned char>(*p1) - static_cast<unsigned char>(*p2);
    } else {
      ++p1;
      ++p2;
    }
  }
  return static_cast<unsigned char>(*p1) - static_cast<unsigned char>(*p2);
}

LdCache parse_ld_cache(const std::vector<uint8_t>& b) {
  LdCache c;
  uint64_t size = b.size();
  uint64_t new_off = 0;
  bool have_new = false;
  if (size > kOldHeader && has_prefix(b, 0, kOldMagic)) {
    uint32_t nlibs = elf::read_le32(&b[12]);
    // "Check for corruption, avoiding overflow."
    if ((size - kOldHeader) / kOldEntry < nlibs) {
      c.error = "old-format cache truncated";
      return c;
    }
    c.valid = true;
    // ALIGN_CACHE: the new table follows, aligned to its header's alignment (8).
    new_off = (kOldHeader + uint64_t(nlibs) * kOldEntry + 7) & ~uint64_t(7);
    if (size >= new_off + kNewHeader && has_prefix(b, new_off, kNewMagic)) {
      have_new = true;
    } else {
      // Only the old format: strings follow the entries.
      uint64_t data = kOldHeader + uint64_t(nlibs) * kOldEntry;
      for (uint32_t i = 0; i < nlibs; ++i) {
        const uint8_t* e = &b[kOldHeader + uint64_t(i) * kOldEntry];
        LdCacheEntry ent;
        ent.flags = int32_t(elf::read_le32(e));
        ent.key_ok = cache_string(b, data, elf::read_le32(e + 4), &ent.key);
        ent.value_ok = cache_string(b, data, elf::read_le32(e + 8), &ent.value);
        c.entries.push_back(std::move(ent));
      }
      return c;
    }
  } else if (size > kNewHeader && has_prefix(b, 0, kNewMagic)) {
    have_new = true;
  } else {
    c.error = "no ld.so.cache magic";
    return c;
  }
  if (!have_new) return c;
  uint32_t nlibs = elf::read_le32(&b[new_off + 20]);
  uint8_t flags = b[new_off + 28];
  uint32_t ext_off = elf::read_le32(&b[new_off + 32]);
  // cache_file_new_matches_endian: flags bits 0-1 are unset (0), invalid (1), little (2),
  // big (3); a cache for the other byte order is not used.
  if ((flags & 3) == 1 || (flags & 3) == 3) {
    c.error = "cache byte order does not match";
    c.valid = false;
    return c;
  }
  if ((size - new_off - kNewHeader) / kNewEntry < nlibs) {
    c.error = "new-format cache truncated";
    c.valid = false;
    return c;
  }
  c.valid = true;
  c.is_new = true;
  // "This is where the strings start": offsets are relative to the new header.
  uint64_t data = new_off;
  for (uint32_t i = 0; i < nlibs; ++i) {
    const uint8_t* e = &b[new_off + kNewHeader + uint64_t(i) * kNewEntry];
    LdCacheEntry ent;
    ent.flags = int32_t(elf::read_le32(e));
    ent.key_ok = cache_string(b, data, elf::read_le32(e + 4), &ent.key);
    ent.value_ok = cache_string(b, data, elf::read_le32(e + 8), &ent.value);
    ent.osversion = elf::read_le32(e + 12);
    ent.hwcap = elf::read_le64(e + 16);
    c.entries.push_back(std::move(ent));
  }
  // The extension directory (struct cache_extension) at extension_offset, from the file start.
  uint64_t ext = uint64_t(ext_off);
  if (ext_off != 0 && ext + 8 <= size && elf::read_le32(&b[ext]) == kExtensionMagic) {
    uint32_t count = elf::read_le32(&b[ext + 4]);
    for (uint32_t i = 0; i < count && ext + 8 + uint64_t(i + 1) * 16 <= size; ++i) {
      const uint8_t* s = &b[ext + 8 + uint64_t(i) * 16];
      uint32_t tag = elf::read_le32(s), off = elf::read_le32(s + 8),
               len = elf::read_le32(s + 12);
      if (tag != kTagGlibcHwcaps || uint64_t(off) + len > size || len % 4 != 0) continue;
      for (uint32_t k = 0; k < len / 4; ++k) {
        std::string name;
        if (!cache_string(b, 0, elf::read_le32(&b[uint64_t(off) + 4u * k]), &name)) name.clear();
        c.hwcaps_names.push_back(name);
      }
    }
  }
  return c;
}

}  // namespace execmap::loader
