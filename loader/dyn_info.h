// What rtld reads from a shared object before and while mapping it: open_verify()'s ELF header
// checks, the program headers, and the dynamic section's DT_NEEDED / DT_SONAME / DT_RPATH /
// DT_RUNPATH / DT_FLAGS_1 / DT_INIT / DT_INIT_ARRAY. Bounded, checked reads of untrusted files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "loader/elf_bytes.h"
#include "loader/exec_file.h"

namespace execmap::loader {

constexpr int64_t DT_NULL = 0, DT_NEEDED = 1, DT_STRTAB = 5, DT_STRSZ = 10, DT_INIT = 12,
                  DT_SONAME = 14, DT_RPATH = 15, DT_INIT_ARRAY = 25, DT_INIT_ARRAYSZ = 27,
                  DT_RUNPATH = 29, DT_PREINIT_ARRAY = 32, DT_PREINIT_ARRAYSZ = 33,
                  DT_FLAGS_1 = 0x6ffffffb, DT_TEXTREL = 22, DT_FLAGS = 30,
                  DT_VERDEF = 0x6ffffffc, DT_VERNEED = 0x6ffffffe;
constexpr uint64_t DF_TEXTREL = 0x4;
constexpr uint64_t DF_1_NODEFLIB = 0x800;

// Limits on what a hostile file can make us allocate.
constexpr uint64_t kMaxDynEntries = 1u << 16;
constexpr uint64_t kMaxDynString = 4096;
constexpr uint64_t kMaxPhnum = 4096;

struct DynInfo {
  // open_verify(): Ok; OtherClass/OtherMachine make rtld skip the file silently and keep
  // searching; Fatal is a _dl_signal_error (the load fails with error).
  enum class Verify { Ok, OtherClass, OtherMachine, Fatal };
  Verify verify = Verify::Fatal;
  std::string error;  // Verify::Fatal, or a damaged dynamic section (then ok but partial)
  elf::Ehdr ehdr;
  std::vector<elf::Phdr> phdrs;
  bool has_dynamic = false;
  std::vector<std::string> needed;  // DT_NEEDED in order
  std::optional<std::string> soname, rpath, runpath;
  uint64_t flags_1 = 0;
  bool has_init = false, has_init_array = false, has_preinit_array = false;
  // For the start stage (sim/rtld_start.h):
  uint64_t ldnum = 0;        // l_ldnum: PT_DYNAMIC p_memsz / sizeof (ElfW(Dyn))
  bool has_strtab = false;   // l_info[DT_STRTAB]
  bool textrel = false;      // DT_TEXTREL or DF_TEXTREL: _dl_relocate_object mprotects text
  // _dl_check_map_versions(): the highest version index in DT_VERNEED (vna_other) and
  // DT_VERDEF (vd_ndx), 0 when there is none; nullopt when the tables cannot be read.
  std::optional<uint32_t> version_ndx_high = 0;
  // Raw tables for loader/dyn_symbols.h (virtual addresses; 0 when absent).
  uint64_t strtab = 0, strsz = 0, symtab = 0, hash = 0, gnu_hash = 0;
  uint64_t rela = 0, relasz = 0, jmprel = 0, pltrelsz = 0;
  uint64_t rel = 0, relsz = 0;  // DT_REL, DT_RELSZ (i386 uses REL, not RELA)
  bool plt_rel = false;         // DT_PLTREL is DT_REL: DT_JMPREL entries are ElfN_Rel
};

// The file offset that holds virtual address v (via the PT_LOAD that maps it from the file).
bool vaddr_to_offset(const std::vector<elf::Phdr>& phdrs, uint64_t v, uint64_t* off);

// Reads and checks one object as rtld's open_verify() and _dl_map_object_from_fd() do, for the
// ld.so of class cls: x86_64's ld.so (Elf64, EM_X86_64) or i386's ld-linux.so.2 (Elf32,
// EM_386). A file of the other class is Verify::OtherClass, which rtld skips.
DynInfo read_dyn_info(const ExecFile& f, elf::ElfClass cls = elf::ElfClass::Elf64);

}  // namespace execmap::loader
