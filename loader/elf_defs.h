// ELF constants and the one name table per enum (ET_*, PT_*, AT_*) that every renderer uses.
#pragma once

#include <cstdint>
#include <string>

#include "util/format.h"

namespace execmap::elf {

constexpr uint16_t ET_NONE = 0, ET_REL = 1, ET_EXEC = 2, ET_DYN = 3, ET_CORE = 4;
constexpr uint16_t EM_386 = 3, EM_X86_64 = 62;

constexpr uint32_t PT_NULL = 0, PT_LOAD = 1, PT_DYNAMIC = 2, PT_INTERP = 3, PT_NOTE = 4,
                   PT_SHLIB = 5, PT_PHDR = 6, PT_TLS = 7;
constexpr uint32_t PT_GNU_EH_FRAME = 0x6474e550, PT_GNU_STACK = 0x6474e551,
                   PT_GNU_RELRO = 0x6474e552, PT_GNU_PROPERTY = 0x6474e553;
constexpr uint32_t PT_LOPROC = 0x70000000, PT_HIPROC = 0x7fffffff;
constexpr uint32_t PF_X = 1, PF_W = 2, PF_R = 4;

// p_flags as mmap PROT_* bits, as binfmt_elf's make_prot() and glibc's PF_TO_PROT map them.
constexpr uint32_t prot_from_p_flags(uint32_t p_flags) {
  return ((p_flags & PF_R) ? util::kProtRead : 0) | ((p_flags & PF_W) ? util::kProtWrite : 0) |
         ((p_flags & PF_X) ? util::kProtExec : 0);
}

constexpr uint64_t AT_NULL = 0, AT_IGNORE = 1, AT_EXECFD = 2, AT_PHDR = 3, AT_PHENT = 4,
                   AT_PHNUM = 5, AT_PAGESZ = 6, AT_BASE = 7, AT_FLAGS = 8, AT_ENTRY = 9,
                   AT_NOTELF = 10, AT_UID = 11, AT_EUID = 12, AT_GID = 13, AT_EGID = 14,
                   AT_PLATFORM = 15, AT_HWCAP = 16, AT_CLKTCK = 17, AT_SECURE = 23,
                   AT_BASE_PLATFORM = 24, AT_RANDOM = 25, AT_HWCAP2 = 26,
                   AT_RSEQ_FEATURE_SIZE = 27, AT_RSEQ_ALIGN = 28, AT_HWCAP3 = 29,
                   AT_HWCAP4 = 30, AT_EXECFN = 31, AT_SYSINFO = 32, AT_SYSINFO_EHDR = 33,
                   AT_MINSIGSTKSZ = 51;

constexpr uint32_t SHT_NULL = 0, SHT_PROGBITS = 1, SHT_NOBITS = 8;
constexpr uint64_t SHF_WRITE = 1, SHF_ALLOC = 2, SHF_EXECINSTR = 4, SHF_TLS = 0x400;


// "ET_DYN", "PT_LOAD", "AT_PHDR"; unknown values render as hex ("PT_0x6474e554").
std::string et_name(uint16_t v);
std::string pt_name(uint32_t v);
std::string at_name(uint64_t v);
// Inverse of at_name for the names in the table; returns false when unknown.
bool at_from_name(const std::string& name, uint64_t* out);

}  // namespace execmap::elf
