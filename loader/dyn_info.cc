// Bounded reading of an object's dynamic section (glibc 2.36 elf/dl-load.c open_verify and
// elf_get_dynamic_info): every offset and size from the file goes through checked arithmetic.
#include "loader/dyn_info.h"

#include "loader/checked.h"
#include "loader/elf_defs.h"

namespace execmap::loader {
namespace {

bool read_exact(const ExecFile& f, uint64_t off, uint64_t len, std::vector<uint8_t>* out) {
  uint64_t end;
  if (!checked_add(off, len, &end) || end > f.size()) return false;
  out->resize(len);
  return len == 0 || f.read_at(off, out->data(), len) == int64_t(len);
}

}  // namespace

bool vaddr_to_offset(const std::vector<elf::Phdr>& phdrs, uint64_t v, uint64_t* off) {
  for (const elf::Phdr& p : phdrs) {
    if (p.p_type != elf::PT_LOAD) continue;
    uint64_t end;
    if (!checked_add(p.p_vaddr, p.p_filesz, &end)) continue;
    if (v >= p.p_vaddr && v < end) return checked_add(p.p_offset, v - p.p_vaddr, off);
  }
  return false;
}

namespace {

// A NUL-terminated string at strtab + idx, bounded by DT_STRSZ, the file and kMaxDynString.
bool read_string(const ExecFile& f, uint64_t strtab_off, uint64_t strsz, uint64_t idx,
                 std::string* out) {
  if (idx >= strsz) return false;
  uint64_t off;
  if (!checked_add(strtab_off, idx, &off) || off >= f.size()) return false;
  uint64_t avail = strsz - idx;
  if (f.size() - off < avail) avail = f.size() - off;
  if (avail > kMaxDynString) avail = kMaxDynString;
  std::vector<uint8_t> buf(avail);
  int64_t n = f.read_at(off, buf.data(), avail);
  if (n <= 0) return false;
  for (int64_t i = 0; i < n; ++i)
    if (buf[size_t(i)] == 0) {
      out->assign(reinterpret_cast<const char*>(buf.data()), size_t(i));
      return true;
    }
  return false;
}

// _dl_check_map_versions(): walk the Verneed chain (vna_other of every Vernaux) and the
// Verdef chain (vd_ndx), each record read from the file; at most kMaxVersionRecords.
constexpr uint64_t kMaxVersionRecords = 1u << 16;
std::optional<uint32_t> version_ndx_high(const ExecFile& f, const std::vector<elf::Phdr>& ph,
                                         std::optional<uint64_t> verneed,
                                         std::optional<uint64_t> verdef) {
  uint32_t high = 0;
  uint64_t budget = kMaxVersionRecords;
  std::vector<uint8_t> b;
  auto rd = [&](uint64_t vaddr, uint64_t len) {
    uint64_t off;
    return budget-- > 0 && vaddr_to_offset(ph, vaddr, &off) && read_exact(f, off, len, &b);
  };
  if (verneed) {
    uint64_t ent = *verneed;
    while (true) {
      // Elf64_Verneed: vn_version(2) vn_cnt(2) vn_file(4) vn_aux(4) vn_next(4)
      if (!rd(ent, 16)) return std::nullopt;
      uint32_t vn_aux = elf::read_le32(&b[8]), vn_next = elf::read_le32(&b[12]);
      uint64_t aux = ent + vn_aux;
      while (true) {
        // Elf64_Vernaux: vna_hash(4) vna_flags(2) vna_other(2) vna_name(4) vna_next(4)
        if (!rd(aux, 16)) return std::nullopt;
        uint32_t other = elf::read_le16(&b[6]) & 0x7fffu, next = elf::read_le32(&b[12]);
        if (other > high) high = other;
        if (next == 0) break;
        aux += next;
      }
      if (vn_next == 0) break;
      ent += vn_next;
    }
  }
  if (verdef) {
    uint64_t ent = *verdef;
    while (true) {
      // Elf64_Verdef: vd_version(2) vd_flags(2) vd_ndx(2) vd_cnt(2) vd_hash(4) vd_aux(4)
      // vd_next(4)
      if (!rd(ent, 20)) return std::nullopt;
      uint32_t ndx = elf::read_le16(&b[4]) & 0x7fffu, next = elf::read_le32(&b[16]);
      if (ndx > high) high = ndx;
      if (next == 0) break;
      ent += next;
    }
  }
  return high;
}

}  // namespace

DynInfo read_dyn_info(const ExecFile& f, elf::ElfClass cls) {
  DynInfo d;
  std::vector<uint8_t> b;
  const bool is32 = cls == elf::ElfClass::Elf32;
  const uint64_t dyn_size = elf::dyn_size(cls), word = elf::addr_size(cls);
  // open_verify(): a file shorter than an ELF header is "file too short" (fatal).
  if (!read_exact(f, 0, elf::ehdr_size(cls), &b)) {
    d.error = "file too short";
    return d;
  }
  static const uint8_t kMag[4] = {0x7f, 'E', 'L', 'F'};
  for (int i = 0; i < 4; ++i)
    if (b[size_t(i)] != kMag[i]) {
      d.error = "invalid ELF header";
      return d;
    }
  d.ehdr = elf::decode_ehdr(b.data(), cls);
  const uint8_t* id = d.ehdr.e_ident;
  // "This is not a fatal error. On architectures where 32-bit and 64-bit binaries can be run
  // this might happen." (open_verify)
  if (id[4] != (is32 ? 1 : 2)) {
    d.verify = DynInfo::Verify::OtherClass;
    return d;
  }
  if (id[5] != 1) { d.error = "ELF file data encoding not little-endian"; return d; }
  if (id[6] != 1) { d.error = "ELF file version ident does not match current one"; return d; }
  if (id[7] != 0 && id[7] != 3) { d.error = "ELF file OS ABI invalid"; return d; }
  // VALID_ELF_ABIVERSION: GNU OSABI allows ABI versions below LIBC_ABI_MAX (glibc 2.36: 5).
  if (!(id[8] == 0 || (id[7] == 3 && id[8] < 5))) { d.error = "ELF file ABI version invalid"; return d; }
  for (int i = 9; i < 16; ++i)
    if (id[i] != 0) { d.error = "nonzero padding in e_ident"; return d; }
  if (d.ehdr.e_version != 1) { d.error = "ELF file version does not match current one"; return d; }
  if (d.ehdr.e_machine != (is32 ? elf::EM_386 : elf::EM_X86_64)) {
    d.verify = DynInfo::Verify::OtherMachine;
    return d;
  }
  if (d.ehdr.e_type != elf::ET_DYN && d.ehdr.e_type != elf::ET_EXEC) {
    d.error = "only ET_DYN and ET_EXEC can be loaded";
    return d;
  }
  if (d.ehdr.e_phentsize != elf::phdr_size(cls)) {
    d.error = "ELF file's phentsize not the expected size";
    return d;
  }
  if (d.ehdr.e_phnum > kMaxPhnum ||
      !read_exact(f, d.ehdr.e_phoff, uint64_t(d.ehdr.e_phnum) * elf::phdr_size(cls), &b)) {
    d.error = "cannot read file data";
    return d;
  }
  d.phdrs = elf::decode_phdrs(b.data(), d.ehdr.e_phnum, cls);
  d.verify = DynInfo::Verify::Ok;

  const elf::Phdr* dyn = nullptr;
  for (const elf::Phdr& p : d.phdrs)
    if (p.p_type == elf::PT_DYNAMIC) dyn = &p;
  if (!dyn) return d;
  d.has_dynamic = true;
  d.ldnum = dyn->p_memsz / dyn_size;
  uint64_t count = dyn->p_filesz / dyn_size;
  if (count > kMaxDynEntries) count = kMaxDynEntries;
  if (!read_exact(f, dyn->p_offset, count * dyn_size, &b)) {
    d.error = "PT_DYNAMIC outside the file";
    return d;
  }
  uint64_t strtab = 0, strsz = 0;
  bool have_strtab = false;
  std::vector<uint64_t> needed_idx;
  std::optional<uint64_t> soname_idx, rpath_idx, runpath_idx;
  uint64_t init_arraysz = 0, preinit_arraysz = 0;
  std::optional<uint64_t> verneed, verdef;
  bool init_array = false, preinit_array = false;
  for (uint64_t i = 0; i < count; ++i) {
    // d_tag is a signed word (Elf32_Sword, Elf64_Sxword), d_val an unsigned one.
    const uint8_t* e = &b[size_t(i * dyn_size)];
    int64_t tag = is32 ? int64_t(int32_t(elf::read_le32(e))) : int64_t(elf::read_le64(e));
    uint64_t val = elf::read_word(e + word, cls);
    if (tag == DT_NULL) break;
    // elf_get_dynamic_info keeps the last entry of each tag, DT_NEEDED are all walked.
    switch (tag) {
      case DT_NEEDED: needed_idx.push_back(val); break;
      case DT_STRTAB: strtab = val; have_strtab = true; break;
      case DT_STRSZ: strsz = val; break;
      case DT_SONAME: soname_idx = val; break;
      case DT_RPATH: rpath_idx = val; break;
      case DT_RUNPATH: runpath_idx = val; break;
      case DT_FLAGS_1: d.flags_1 = val; break;
      case DT_INIT: d.has_init = true; break;
      case DT_INIT_ARRAY: init_array = true; break;
      case DT_INIT_ARRAYSZ: init_arraysz = val; break;
      case DT_PREINIT_ARRAY: preinit_array = true; break;
      case DT_PREINIT_ARRAYSZ: preinit_arraysz = val; break;
      case DT_TEXTREL: d.textrel = true; break;
      case DT_FLAGS: if (val & DF_TEXTREL) d.textrel = true; break;
      case DT_VERNEED: verneed = val; break;
      case DT_VERDEF: verdef = val; break;
      case 6: d.symtab = val; break;             // DT_SYMTAB
      case 4: d.hash = val; break;               // DT_HASH
      case 0x6ffffef5: d.gnu_hash = val; break;  // DT_GNU_HASH
      case 7: d.rela = val; break;               // DT_RELA
      case 8: d.relasz = val; break;             // DT_RELASZ
      case 23: d.jmprel = val; break;            // DT_JMPREL
      case 2: d.pltrelsz = val; break;           // DT_PLTRELSZ
      case 17: d.rel = val; break;               // DT_REL
      case 18: d.relsz = val; break;             // DT_RELSZ
      case 20: d.plt_rel = val == 17; break;     // DT_PLTREL
      default: break;
    }
  }
  d.has_init_array = init_array && init_arraysz >= word;
  d.has_preinit_array = preinit_array && preinit_arraysz >= word;
  d.has_strtab = have_strtab;
  d.strtab = strtab;
  d.strsz = strsz;
  d.version_ndx_high = version_ndx_high(f, d.phdrs, verneed, verdef);
  uint64_t strtab_off = 0;
  if (!have_strtab || !vaddr_to_offset(d.phdrs, strtab, &strtab_off)) {
    if (!needed_idx.empty() || soname_idx || rpath_idx || runpath_idx)
      d.error = "DT_STRTAB not mapped from the file";
    return d;
  }
  auto str = [&](uint64_t idx, std::string* out) {
    if (read_string(f, strtab_off, strsz, idx, out)) return true;
    d.error = "dynamic string out of bounds";
    return false;
  };
  for (uint64_t idx : needed_idx) {
    std::string s;
    if (str(idx, &s)) d.needed.push_back(s);
  }
  std::string s;
  if (soname_idx && str(*soname_idx, &s)) d.soname = s;
  if (rpath_idx && str(*rpath_idx, &s)) d.rpath = s;
  if (runpath_idx && str(*runpath_idx, &s)) d.runpath = s;
  return d;
}

}  // namespace execmap::loader
