// Plain host-endian copies of the ELF header, program headers and section headers, decoded once
// from ELF32 or ELF64 little-endian bytes into the same wide structs.
#pragma once

#include <cstdint>
#include <vector>

namespace execmap::elf {

// The layout a header was decoded with. The kernel picks it by e_machine (the native loader
// reads every EM_X86_64 file as ELF64, compat_binfmt_elf every EM_386 one as ELF32, neither
// looks at EI_CLASS); ld.so and the tools pick it by e_ident[EI_CLASS].
enum class ElfClass : uint8_t { Elf32 = 1, Elf64 = 2 };

// sizeof(ElfN_Ehdr), sizeof(ElfN_Phdr), sizeof(ElfN_Shdr), sizeof(ElfN_Dyn), sizeof(ElfN_Sym),
// sizeof(ElfN_Addr) (include/uapi/linux/elf.h).
constexpr uint64_t ehdr_size(ElfClass c) { return c == ElfClass::Elf32 ? 52 : 64; }
constexpr uint64_t phdr_size(ElfClass c) { return c == ElfClass::Elf32 ? 32 : 56; }
constexpr uint64_t shdr_size(ElfClass c) { return c == ElfClass::Elf32 ? 40 : 64; }
constexpr uint64_t dyn_size(ElfClass c) { return c == ElfClass::Elf32 ? 8 : 16; }
constexpr uint64_t sym_size(ElfClass c) { return c == ElfClass::Elf32 ? 16 : 24; }
constexpr uint64_t addr_size(ElfClass c) { return c == ElfClass::Elf32 ? 4 : 8; }

struct Ehdr {
  ElfClass cls = ElfClass::Elf64;  // the layout the bytes were decoded with
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

// Little-endian decoding; the caller guarantees the byte counts (ehdr_size(), phdr_size(),
// shdr_size() of the class).
Ehdr decode_ehdr(const uint8_t* b, ElfClass c = ElfClass::Elf64);
Phdr decode_phdr(const uint8_t* b, ElfClass c = ElfClass::Elf64);
Shdr decode_shdr(const uint8_t* b, ElfClass c = ElfClass::Elf64);
std::vector<Phdr> decode_phdrs(const uint8_t* b, uint64_t count, ElfClass c = ElfClass::Elf64);
// One ElfN_Addr/ElfN_Off/ElfN_Xword-sized word: 4 bytes for ELF32, 8 for ELF64.
uint64_t read_word(const uint8_t* b, ElfClass c);
// e_ident[EI_CLASS] as glibc's elf_check_arch-free readers take it: ELFCLASS32 (1) or
// ELFCLASS64 (2); false for anything else.
bool class_from_ident(const uint8_t* e_ident, ElfClass* out);

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
