// Checked arithmetic on untrusted 64-bit numbers (bloaty style): every sum or product that
// involves a value read from a file goes through one of these.
#pragma once

#include <cstdint>

namespace execmap {

inline bool checked_add(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_add_overflow(a, b, out);
}
inline bool checked_mul(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}
// The kernel's page macros work modulo 2^64 (unsigned long); these do the same on purpose.
inline uint64_t page_start(uint64_t v, uint64_t page) { return v & ~(page - 1); }
inline uint64_t page_offset(uint64_t v, uint64_t page) { return v & (page - 1); }
inline uint64_t page_align(uint64_t v, uint64_t page) { return (v + page - 1) & ~(page - 1); }
inline bool is_power_of_2(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace execmap
