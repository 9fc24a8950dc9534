// The one spelling of numbers and permissions that every layer prints and reads back: "0x…"
// addresses, "r-xp" permissions as /proc/PID/maps shows them, and bounded digit parsers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace execmap::util {

// mmap(2)'s PROT_READ, PROT_WRITE and PROT_EXEC (include/uapi/asm-generic/mman-common.h).
constexpr uint32_t kProtRead = 1, kProtWrite = 2, kProtExec = 4;

// "0x7ffff7fff000"; zero is "0x0".
std::string hex(uint64_t v);
// Two lower-case hex digits a byte, no prefix: "7f454c46".
std::string hex_bytes(const uint8_t* p, size_t n);

// "r-x": show_map_vma()'s first three permission columns, from PROT_* bits.
std::string rwx(uint32_t prot);
// "r-xp", "rw-s": rwx() and then 's' for a shared mapping (VM_MAYSHARE), 'p' for a private one.
std::string perms_string(uint32_t prot, bool shared);
// The reverse of rwx(): exactly three characters, each its letter or '-'; false otherwise.
bool parse_rwx(std::string_view s, uint32_t* prot);

// 1 to 16 hex digits (either case, no "0x", no sign); false on anything else.
bool parse_hex_u64(std::string_view s, uint64_t* out);
// 1 to 20 decimal digits that fit in 64 bits; false on anything else.
bool parse_dec_u64(std::string_view s, uint64_t* out);

}  // namespace execmap::util
