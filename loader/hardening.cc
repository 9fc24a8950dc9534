// Bounded reads of the hardening markers of an ELF file: PT_GNU_RELRO and the dynamic flags
// (glibc's _dl_relocate_object decides lazy or immediate binding from DT_BIND_NOW, DF_BIND_NOW
// and DF_1_NOW), PT_GNU_STACK, the PT_LOAD split, and the x86 feature note (gABI "Program
// Property", GNU_PROPERTY_X86_FEATURE_1_AND).
#include "loader/hardening.h"

#include <algorithm>

#include "loader/checked.h"
#include "loader/elf_bytes.h"
#include "loader/elf_defs.h"

namespace execmap::loader {
namespace {

constexpr uint64_t kMaxDynamic = 1u << 20;  // 65536 entries
constexpr uint64_t kMaxNote = 1u << 16;
constexpr uint64_t DT_NULL = 0, DT_BIND_NOW = 24, DT_FLAGS = 30, DT_FLAGS_1 = 0x6ffffffb;
constexpr uint64_t DF_BIND_NOW = 0x8, DF_1_NOW = 0x1;
constexpr uint32_t NT_GNU_PROPERTY_TYPE_0 = 5;
constexpr uint32_t GNU_PROPERTY_X86_FEATURE_1_AND = 0xc0000002;
constexpr uint32_t GNU_PROPERTY_X86_FEATURE_1_IBT = 1, GNU_PROPERTY_X86_FEATURE_1_SHSTK = 2;

bool read_exact(const ExecFile& f, uint64_t off, uint64_t len, std::vector<uint8_t>* out) {
  uint64_t end;
  if (!checked_add(off, len, &end) || end > f.size()) return false;
  out->assign(len, 0);
  return len == 0 || f.read_at(off, out->data(), len) == static_cast<int64_t>(len);
}

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

// Walks the notes of one segment; returns true when a GNU property note was parsed.
bool parse_property_notes(const std::vector<uint8_t>& b, uint64_t align, Hardening* h) {
  bool found = false;
  uint64_t off = 0;
  while (off + 12 <= b.size()) {
    uint64_t namesz = elf::read_le32(&b[off]), descsz = elf::read_le32(&b[off + 4]);
    uint32_t type = elf::read_le32(&b[off + 8]);
    uint64_t name_off = off + 12;
    uint64_t desc_off = align_up(name_off + namesz, align);
    uint64_t next = align_up(desc_off + descsz, align);
    if (desc_off > b.size() || descsz > b.size() - desc_off || next <= off) break;
    bool gnu = namesz == 4 && b[name_off] == 'G' && b[name_off + 1] == 'N' &&
               b[name_off + 2] == 'U' && b[name_off + 3] == 0;
    if (gnu && type == NT_GNU_PROPERTY_TYPE_0) {
      // Properties: pr_type, pr_datasz, data padded to 8 bytes on ELF64.
      uint64_t p = desc_off, end = desc_off + descsz;
      while (p + 8 <= end) {
        uint32_t pr_type = elf::read_le32(&b[p]);
        uint64_t datasz = elf::read_le32(&b[p + 4]);
        if (datasz > end - p - 8) break;
        if (pr_type == GNU_PROPERTY_X86_FEATURE_1_AND && datasz >= 4) {
          h->property_note = true;
          h->x86_feature_1 = elf::read_le32(&b[p + 8]);
          found = true;
        }
        p += 8 + align_up(datasz, 8);
      }
    }
    if (next > b.size()) break;
    off = next;
  }
  return found;
}

}  // namespace

bool read_hardening(const ExecFile& f, Hardening* h, std::string* why) {
  std::vector<uint8_t> hdr;
  elf::ElfClass cls = elf::ElfClass::Elf64;
  // The class from e_ident (as readelf and checksec take it), then the header of that size.
  if (!read_exact(f, 0, 16, &hdr) || !elf::class_from_ident(hdr.data(), &cls) ||
      !read_exact(f, 0, elf::ehdr_size(cls), &hdr)) {
    *why = "no ELF header";
    return false;
  }
  elf::Ehdr eh = elf::decode_ehdr(hdr.data(), cls);
  const uint64_t phent = elf::phdr_size(cls);
  if (eh.e_phentsize != phent || eh.e_phnum == 0) {
    *why = "no usable program header table";
    return false;
  }
  std::vector<uint8_t> table;
  if (!read_exact(f, eh.e_phoff, uint64_t(eh.e_phnum) * phent, &table)) {
    *why = "program header table past the end of the file";
    return false;
  }
  std::vector<elf::Phdr> ph = elf::decode_phdrs(table.data(), eh.e_phnum, cls);
  h->e_type = eh.e_type;
  h->pie = eh.e_type == elf::ET_DYN;
  const uint64_t page = 4096;
  const elf::Phdr* dynamic = nullptr;
  const elf::Phdr* property = nullptr;
  std::vector<const elf::Phdr*> notes;
  for (const auto& p : ph) {
    switch (p.p_type) {
      case elf::PT_INTERP: h->has_interp = true; break;
      case elf::PT_GNU_RELRO: h->gnu_relro = true; break;
      case elf::PT_GNU_STACK:
        h->gnu_stack = true;
        h->gnu_stack_flags = p.p_flags;
        break;
      case elf::PT_DYNAMIC:
        if (!dynamic) dynamic = &p;
        break;
      case elf::PT_GNU_PROPERTY:
        if (!property) property = &p;
        break;
      case elf::PT_NOTE: notes.push_back(&p); break;
      default: break;
    }
  }

  // Separate code (ld -z separate-code): no executable mapping holds non-executable bytes.
  // An executable PT_LOAD maps whole file pages, so it must not share a file page with the
  // ELF and program headers or with a non-executable PT_LOAD (lld's default R / RX split
  // packs them into one file page), nor a virtual page with a non-executable PT_LOAD.
  auto overlaps = [](uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1) { return a0 < b1 && b0 < a1; };
  uint64_t headers_end = elf::ehdr_size(cls);
  uint64_t ph_end;
  if (checked_add(eh.e_phoff, uint64_t(eh.e_phnum) * phent, &ph_end))
    headers_end = std::max(headers_end, ph_end);
  bool any_x = false, separate = true;
  for (const auto& x : ph) {
    if (x.p_type != elf::PT_LOAD || !(x.p_flags & elf::PF_X)) continue;
    any_x = true;
    uint64_t xs = page_start(x.p_vaddr, page), xe = page_align(x.p_vaddr + x.p_memsz, page);
    uint64_t fs = page_start(x.p_offset, page), fe = page_align(x.p_offset + x.p_filesz, page);
    if (x.p_filesz && overlaps(fs, fe, 0, headers_end)) separate = false;
    for (const auto& d : ph) {
      if (d.p_type != elf::PT_LOAD || (d.p_flags & elf::PF_X)) continue;
      uint64_t ds = page_start(d.p_vaddr, page), de = page_align(d.p_vaddr + d.p_memsz, page);
      if (overlaps(ds, de, xs, xe)) separate = false;
      if (x.p_filesz && d.p_filesz && overlaps(fs, fe, d.p_offset, d.p_offset + d.p_filesz))
        separate = false;
    }
  }
  h->separate_code = any_x && separate;

  if (dynamic) {
    std::vector<uint8_t> dyn;
    const uint64_t ent = elf::dyn_size(cls), w = elf::addr_size(cls);
    uint64_t size = std::min(dynamic->p_filesz, kMaxDynamic) / ent * ent;
    if (dynamic->p_filesz > kMaxDynamic) h->problems.push_back("PT_DYNAMIC larger than 1 MiB: read in part");
    if (!read_exact(f, dynamic->p_offset, size, &dyn)) {
      h->problems.push_back("PT_DYNAMIC lies past the end of the file");
    } else {
      for (uint64_t o = 0; o + ent <= dyn.size(); o += ent) {
        uint64_t tag = elf::read_word(&dyn[o], cls), val = elf::read_word(&dyn[o + w], cls);
        if (tag == DT_NULL) break;
        if (tag == DT_BIND_NOW) h->bind_now = true;
        if (tag == DT_FLAGS && (val & DF_BIND_NOW)) h->bind_now = true;
        if (tag == DT_FLAGS_1 && (val & DF_1_NOW)) h->bind_now = true;
      }
    }
  }
  h->relro = !h->gnu_relro ? "none" : h->bind_now ? "full" : "partial";

  // The x86 feature note: PT_GNU_PROPERTY when the linker emitted one, else any PT_NOTE.
  std::vector<const elf::Phdr*> where;
  if (property) where.push_back(property);
  for (const auto* n : notes) where.push_back(n);
  for (const auto* p : where) {
    std::vector<uint8_t> b;
    if (p->p_filesz > kMaxNote) {
      h->problems.push_back("a note segment larger than 64 KiB was skipped");
      continue;
    }
    if (!read_exact(f, p->p_offset, p->p_filesz, &b)) {
      h->problems.push_back("a note segment lies past the end of the file");
      continue;
    }
    if (parse_property_notes(b, p->p_align == 8 ? 8 : 4, h)) break;
  }
  h->ibt = h->x86_feature_1 & GNU_PROPERTY_X86_FEATURE_1_IBT;
  h->shstk = h->x86_feature_1 & GNU_PROPERTY_X86_FEATURE_1_SHSTK;
  return true;
}

}  // namespace execmap::loader
