// Plain host-endian copies of the ELF64 header and program headers, decoded once from bytes.
#pragma once

#include <cstdint>
#include <vector>

namespace execmap::elf {

struct Ehdr {
  uint8_t e_ident[16] = {};
  uint16_t e_type = 0, e_machine = 0;
  uint32_t e_version = 0;
  uint64_t e_entry = 0, e_phoff = 0, e_shoff = 0;
  uint32_t e_flags = 0;
  uint16_t e_ehsize = 0, e_phentsize = 0, e_phnum = 0, e_shentsize = 0, e_shnum = 0,
           e_shstrndx = 0;
};

struct Phdr {
  uint32_t p_type = 0, p_flags = 0;
  uint64_t p_offset = 0, p_vaddr = 0, p_paddr = 0, p_filesz = 0, p_memsz = 0, p_align = 0;
};

struct Shdr {
  uint32_t sh_name = 0, sh_type = 0;
  uint64_t sh_flags = 0, sh_addr = 0, sh_offset = 0, sh_size = 0;
  uint32_t sh_link = 0, sh_info = 0;
  uint64_t sh_addralign = 0, sh_entsize = 0;
};

// Little-endian decoding; the caller guarantees the byte counts (64, 56, 64).
Ehdr decode_ehdr(const uint8_t* b);
Phdr decode_phdr(const uint8_t* b);
Shdr decode_shdr(const uint8_t* b);
std::vector<Phdr> decode_phdrs(const uint8_t* b, uint64_t count);

inline uint64_t read_le64(const uint8_t* b) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | b[i];
  return v;
}
inline uint32_t read_le32(const uint8_t* b) {
  return uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
}
inline uint16_t read_le16(const uint8_t* b) { return uint16_t(b[0] | b[1] << 8); }

}  // namespace execmap::elf
