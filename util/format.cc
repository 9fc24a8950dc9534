// Formatting and bounded parsing of numbers and permissions (see format.h).
#include "util/format.h"

namespace execmap::util {

namespace {
constexpr char kDigits[] = "0123456789abcdef";

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string hex(uint64_t v) {
  char buf[18];
  size_t at = sizeof buf;
  do {
    buf[--at] = kDigits[v & 0xf];
    v >>= 4;
  } while (v != 0);
  buf[--at] = 'x';
  buf[--at] = '0';
  return std::string(buf + at, sizeof buf - at);
}

std::string hex_bytes(const uint8_t* p, size_t n) {
  std::string s;
  s.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    s += kDigits[p[i] >> 4];
    s += kDigits[p[i] & 15];
  }
  return s;
}

std::string rwx(uint32_t prot) {
  std::string s = "---";
  if (prot & kProtRead) s[0] = 'r';
  if (prot & kProtWrite) s[1] = 'w';
  if (prot & kProtExec) s[2] = 'x';
  return s;
}

std::string perms_string(uint32_t prot, bool shared) { return rwx(prot) + (shared ? 's' : 'p'); }

bool parse_rwx(std::string_view s, uint32_t* prot) {
  if (s.size() != 3) return false;
  const char letter[3] = {'r', 'w', 'x'};
  const uint32_t bit[3] = {kProtRead, kProtWrite, kProtExec};
  uint32_t p = 0;
  for (size_t i = 0; i < 3; ++i) {
    if (s[i] == letter[i])
      p |= bit[i];
    else if (s[i] != '-')
      return false;
  }
  *prot = p;
  return true;
}

bool parse_hex_u64(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 16) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d = hex_digit(c);
    if (d < 0) return false;
    v = v << 4 | static_cast<uint64_t>(d);
  }
  *out = v;
  return true;
}

bool parse_dec_u64(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

}  // namespace execmap::util
