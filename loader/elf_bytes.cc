// Decoding of ELF64 little-endian headers into plain structs, and the ELF name tables.
#include "loader/elf_bytes.h"

#include <cstdio>
#include <cstring>

#include "loader/elf_defs.h"
#include "util/format.h"

namespace execmap::elf {

Ehdr decode_ehdr(const uint8_t* b) {
  Ehdr e;
  std::memcpy(e.e_ident, b, 16);
  e.e_type = read_le16(b + 16);
  e.e_machine = read_le16(b + 18);
  e.e_version = read_le32(b + 20);
  e.e_entry = read_le64(b + 24);
  e.e_phoff = read_le64(b + 32);
  e.e_shoff = read_le64(b + 40);
  e.e_flags = read_le32(b + 48);
  e.e_ehsize = read_le16(b + 52);
  e.e_phentsize = read_le16(b + 54);
  e.e_phnum = read_le16(b + 56);
  e.e_shentsize = read_le16(b + 58);
  e.e_shnum = read_le16(b + 60);
  e.e_shstrndx = read_le16(b + 62);
  return e;
}

Phdr decode_phdr(const uint8_t* b) {
  Phdr p;
  p.p_type = read_le32(b);
  p.p_flags = read_le32(b + 4);
  p.p_offset = read_le64(b + 8);
  p.p_vaddr = read_le64(b + 16);
  p.p_paddr = read_le64(b + 24);
  p.p_filesz = read_le64(b + 32);
  p.p_memsz = read_le64(b + 40);
  p.p_align = read_le64(b + 48);
  return p;
}

Shdr decode_shdr(const uint8_t* b) {
  Shdr s;
  s.sh_name = read_le32(b);
  s.sh_type = read_le32(b + 4);
  s.sh_flags = read_le64(b + 8);
  s.sh_addr = read_le64(b + 16);
  s.sh_offset = read_le64(b + 24);
  s.sh_size = read_le64(b + 32);
  s.sh_link = read_le32(b + 40);
  s.sh_info = read_le32(b + 44);
  s.sh_addralign = read_le64(b + 48);
  s.sh_entsize = read_le64(b + 56);
  return s;
}

std::vector<Phdr> decode_phdrs(const uint8_t* b, uint64_t count) {
  std::vector<Phdr> out;
  out.reserve(count);
  for (uint64_t i = 0; i < count; ++i) out.push_back(decode_phdr(b + i * kPhdrSize));
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
