// Decoding of ELF32 and ELF64 little-endian headers into plain structs, and the ELF name tables.
#include "loader/elf_bytes.h"

#include <cstdio>
#include <cstring>

#include "loader/elf_defs.h"
#include "util/format.h"

namespace execmap::elf {

uint64_t read_word(const uint8_t* b, ElfClass c) {
  return c == ElfClass::Elf32 ? read_le32(b) : read_le64(b);
}

bool class_from_ident(const uint8_t* e_ident, ElfClass* out) {
  if (e_ident[4] == 1) *out = ElfClass::Elf32;
  else if (e_ident[4] == 2) *out = ElfClass::Elf64;
  else return false;
  return true;
}

// Elf32_Ehdr and Elf64_Ehdr share e_ident, e_type, e_machine and e_version; from e_entry on the
// addresses and offsets are words of the class, and the trailing halves follow them.
Ehdr decode_ehdr(const uint8_t* b, ElfClass c) {
  Ehdr e;
  e.cls = c;
  std::memcpy(e.e_ident, b, 16);
  e.e_type = read_le16(b + 16);
  e.e_machine = read_le16(b + 18);
  e.e_version = read_le32(b + 20);
  const uint64_t w = addr_size(c);
  e.e_entry = read_word(b + 24, c);
  e.e_phoff = read_word(b + 24 + w, c);
  e.e_shoff = read_word(b + 24 + 2 * w, c);
  const uint8_t* t = b + 24 + 3 * w;
  e.e_flags = read_le32(t);
  e.e_ehsize = read_le16(t + 4);
  e.e_phentsize = read_le16(t + 6);
  e.e_phnum = read_le16(t + 8);
  e.e_shentsize = read_le16(t + 10);
  e.e_shnum = read_le16(t + 12);
  e.e_shstrndx = read_le16(t + 14);
  return e;
}

// Elf32_Phdr puts p_flags after p_memsz; Elf64_Phdr right after p_type, for alignment.
Phdr decode_phdr(const uint8_t* b, ElfClass c) {
  Phdr p;
  p.p_type = read_le32(b);
  if (c == ElfClass::Elf32) {
    p.p_offset = read_le32(b + 4);
    p.p_vaddr = read_le32(b + 8);
    p.p_paddr = read_le32(b + 12);
    p.p_filesz = read_le32(b + 16);
    p.p_memsz = read_le32(b + 20);
    p.p_flags = read_le32(b + 24);
    p.p_align = read_le32(b + 28);
    return p;
  }
  p.p_flags = read_le32(b + 4);
  p.p_offset = read_le64(b + 8);
  p.p_vaddr = read_le64(b + 16);
  p.p_paddr = read_le64(b + 24);
  p.p_filesz = read_le64(b + 32);
  p.p_memsz = read_le64(b + 40);
  p.p_align = read_le64(b + 48);
  return p;
}

// The same field order in both classes; sh_flags, sh_addr, sh_offset, sh_size, sh_addralign and
// sh_entsize are words of the class.
Shdr decode_shdr(const uint8_t* b, ElfClass c) {
  Shdr s;
  const uint64_t w = addr_size(c);
  s.sh_name = read_le32(b);
  s.sh_type = read_le32(b + 4);
  s.sh_flags = read_word(b + 8, c);
  s.sh_addr = read_word(b + 8 + w, c);
  s.sh_offset = read_word(b + 8 + 2 * w, c);
  s.sh_size = read_word(b + 8 + 3 * w, c);
  const uint8_t* t = b + 8 + 4 * w;
  s.sh_link = read_le32(t);
  s.sh_info = read_le32(t + 4);
  s.sh_addralign = read_word(t + 8, c);
  s.sh_entsize = read_word(t + 8 + w, c);
  return s;
}

std::vector<Phdr> decode_phdrs(const uint8_t* b, uint64_t count, ElfClass c) {
  std::vector<Phdr> out;
  out.reserve(count);
  const uint64_t n = phdr_size(c);
  for (uint64_t i = 0; i < count; ++i) out.push_back(decode_phdr(b + i * n, c));
  return out;
}

namespace {
struct NameEntry {
  uint64_t value;
  const char* name;
};
constexpr NameEntry kEt[] = {{ET_NONE, "ET_NONE"}, {ET_REL, "ET_REL"}, {ET_EXEC, "ET_EXEC"},
                             {ET_DYN, "ET_DYN"},   {ET_CORE, "ET_CORE"}};
constexpr NameEntry kPt[] = {
    {PT_NULL, "PT_NULL"},           {PT_LOAD, "PT_LOAD"},
    {PT_DYNAMIC, "PT_DYNAMIC"},     {PT_INTERP, "PT_INTERP"},
    {PT_NOTE, "PT_NOTE"},           {PT_SHLIB, "PT_SHLIB"},
    {PT_PHDR, "PT_PHDR"},           {PT_TLS, "PT_TLS"},
    {PT_GNU_EH_FRAME, "PT_GNU_EH_FRAME"}, {PT_GNU_STACK, "PT_GNU_STACK"},
    {PT_GNU_RELRO, "PT_GNU_RELRO"}, {PT_GNU_PROPERTY, "PT_GNU_PROPERTY"}};
constexpr NameEntry kAt[] = {
    {AT_NULL, "AT_NULL"},         {AT_IGNORE, "AT_IGNORE"},
    {AT_EXECFD, "AT_EXECFD"},     {AT_PHDR, "AT_PHDR"},
    {AT_PHENT, "AT_PHENT"},       {AT_PHNUM, "AT_PHNUM"},
    {AT_PAGESZ, "AT_PAGESZ"},     {AT_BASE, "AT_BASE"},
    {AT_FLAGS, "AT_FLAGS"},       {AT_ENTRY, "AT_ENTRY"},
    {AT_NOTELF, "AT_NOTELF"},     {AT_UID, "AT_UID"},
    {AT_EUID, "AT_EUID"},         {AT_GID, "AT_GID"},
    {AT_EGID, "AT_EGID"},         {AT_PLATFORM, "AT_PLATFORM"},
    {AT_HWCAP, "AT_HWCAP"},       {AT_CLKTCK, "AT_CLKTCK"},
    {AT_SECURE, "AT_SECURE"},     {AT_BASE_PLATFORM, "AT_BASE_PLATFORM"},
    {AT_RANDOM, "AT_RANDOM"},     {AT_HWCAP2, "AT_HWCAP2"},
    {AT_RSEQ_FEATURE_SIZE, "AT_RSEQ_FEATURE_SIZE"}, {AT_RSEQ_ALIGN, "AT_RSEQ_ALIGN"},
    {AT_HWCAP3, "AT_HWCAP3"},     {AT_HWCAP4, "AT_HWCAP4"},
    {AT_EXECFN, "AT_EXECFN"},     {AT_SYSINFO, "AT_SYSINFO"},
    {AT_SYSINFO_EHDR, "AT_SYSINFO_EHDR"}, {AT_MINSIGSTKSZ, "AT_MINSIGSTKSZ"}};

template <size_t N>
std::string lookup(const NameEntry (&table)[N], uint64_t v, const char* prefix) {
  for (const auto& e : table)
    if (e.value == v) return e.name;
  return prefix + util::hex(v);
}
}  // namespace

std::string et_name(uint16_t v) { return lookup(kEt, v, "ET_"); }
std::string pt_name(uint32_t v) { return lookup(kPt, v, "PT_"); }
std::string at_name(uint64_t v) { return lookup(kAt, v, "AT_"); }
bool at_from_name(const std::string& name, uint64_t* out) {
  for (const auto& e : kAt)
    if (name == e.name) {
      *out = e.value;
      return true;
    }
  return false;
}

}  // namespace execmap::elf
