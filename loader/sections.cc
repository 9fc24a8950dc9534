// Section headers and their names, read with checked arithmetic and hard size caps.
#include "loader/sections.h"

#include <cstring>

#include "loader/checked.h"
#include "loader/elf_bytes.h"
#include "loader/elf_defs.h"

namespace execmap::loader {
namespace {
constexpr uint64_t kMaxSections = 1u << 16;
constexpr uint64_t kMaxStrtab = 4u << 20;

bool read_exact(const ExecFile& f, uint64_t off, uint64_t len, std::vector<uint8_t>* out) {
  uint64_t end;
  if (!checked_add(off, len, &end) || end > f.size()) return false;
  out->assign(len, 0);
  // An empty read (a zero-sized string table) must not hand read_at() the null data() of an
  // empty vector: found by fuzz/fuzz_exec (memcpy to nullptr in MemFile::read_at).
  if (len == 0) return true;
  return f.read_at(off, out->data(), len) == static_cast<int64_t>(len);
}
}  // namespace

std::vector<Section> read_alloc_sections(const ExecFile& f, std::string* why) {
  std::vector<uint8_t> hdr;
  elf::ElfClass cls = elf::ElfClass::Elf64;
  if (!read_exact(f, 0, 16, &hdr) || !elf::class_from_ident(hdr.data(), &cls) ||
      !read_exact(f, 0, elf::ehdr_size(cls), &hdr)) {
    *why = "no ELF header";
    return {};
  }
  elf::Ehdr eh = elf::decode_ehdr(hdr.data(), cls);
  const uint64_t shent = elf::shdr_size(cls);
  if (eh.e_shoff == 0) {
    *why = "no section header table";
    return {};
  }
  if (eh.e_shentsize != shent) {
    *why = "e_shentsize is not " + std::to_string(shent);
    return {};
  }
  std::vector<uint8_t> first;
  if (!read_exact(f, eh.e_shoff, shent, &first)) {
    *why = "section header table past the end of the file";
    return {};
  }
  elf::Shdr s0 = elf::decode_shdr(first.data(), cls);
  uint64_t shnum = eh.e_shnum ? eh.e_shnum : s0.sh_size;  // extended numbering
  uint64_t shstrndx = eh.e_shstrndx == 0xffff ? s0.sh_link : eh.e_shstrndx;
  uint64_t bytes;
  if (shnum == 0 || shnum > kMaxSections || !checked_mul(shnum, shent, &bytes)) {
    *why = "implausible section count";
    return {};
  }
  std::vector<uint8_t> table;
  if (!read_exact(f, eh.e_shoff, bytes, &table)) {
    *why = "section header table past the end of the file";
    return {};
  }
  std::vector<elf::Shdr> sh;
  sh.reserve(shnum);
  for (uint64_t i = 0; i < shnum; ++i) sh.push_back(elf::decode_shdr(table.data() + i * shent, cls));
  std::vector<uint8_t> strtab;
  if (shstrndx < shnum && sh[shstrndx].sh_size <= kMaxStrtab)
    if (!read_exact(f, sh[shstrndx].sh_offset, sh[shstrndx].sh_size, &strtab)) strtab.clear();
  std::vector<Section> out;
  for (const auto& s : sh) {
    if (!(s.sh_flags & elf::SHF_ALLOC) || s.sh_type == elf::SHT_NULL) continue;
    Section sec;
    if (s.sh_name < strtab.size()) {
      const char* p = reinterpret_cast<const char*>(strtab.data()) + s.sh_name;
      sec.name.assign(p, strnlen(p, strtab.size() - s.sh_name));
    }
    sec.type = s.sh_type;
    sec.flags = s.sh_flags;
    sec.addr = s.sh_addr;
    sec.offset = s.sh_offset;
    sec.size = s.sh_size;
    out.push_back(std::move(sec));
  }
  return out;
}

}  // namespace execmap::loader
