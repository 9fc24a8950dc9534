// Reads .dynsym (sized by DT_HASH's nchain or by walking DT_GNU_HASH, as glibc's dl-hash
// users do) and the symbol indices of DT_RELA and DT_JMPREL relocations.
#include "loader/dyn_symbols.h"

#include "loader/checked.h"
#include "loader/elf_bytes.h"

namespace execmap::loader {
namespace {

constexpr uint64_t kMaxSyms = 1u << 22;      // 4 Mi symbols
constexpr uint64_t kMaxRelocs = 1u << 24;    // 16 Mi relocations
constexpr uint64_t kMaxStrtab = 1u << 28;    // 256 MiB of names

bool read_vaddr(const ExecFile& f, const std::vector<elf::Phdr>& ph, uint64_t v, uint64_t len,
                std::vector<uint8_t>* out) {
  uint64_t off, end;
  if (!vaddr_to_offset(ph, v, &off) || !checked_add(off, len, &end) || end > f.size())
    return false;
  out->resize(len);
  return len == 0 || f.read_at(off, out->data(), len) == int64_t(len);
}

// The number of .dynsym entries.
bool symbol_count(const ExecFile& f, const DynInfo& d, uint64_t* n) {
  std::vector<uint8_t> b;
  if (d.hash) {
    if (!read_vaddr(f, d.phdrs, d.hash, 8, &b)) return false;
    *n = elf::read_le32(&b[4]);  // nchain
    return *n <= kMaxSyms;
  }
  if (!d.gnu_hash) return false;
  if (!read_vaddr(f, d.phdrs, d.gnu_hash, 16, &b)) return false;
  uint64_t nbuckets = elf::read_le32(&b[0]), symoffset = elf::read_le32(&b[4]);
  uint64_t bloom = elf::read_le32(&b[8]);
  if (nbuckets > kMaxSyms || bloom > kMaxSyms) return false;
  // The bloom filter is ELFCLASS_BITS-wide words: 4 or 8 bytes.
  uint64_t buckets_at = d.gnu_hash + 16 + bloom * elf::addr_size(d.ehdr.cls);
  if (!read_vaddr(f, d.phdrs, buckets_at, nbuckets * 4, &b)) return false;
  uint64_t last = 0;
  for (uint64_t i = 0; i < nbuckets; ++i) last = std::max<uint64_t>(last, elf::read_le32(&b[i * 4]));
  if (last < symoffset) {
    *n = symoffset;
    return true;
  }
  uint64_t chain_at = buckets_at + nbuckets * 4;
  std::vector<uint8_t> c;
  for (uint64_t i = last; i < kMaxSyms; ++i) {
    if (!read_vaddr(f, d.phdrs, chain_at + (i - symoffset) * 4, 4, &c)) return false;
    if (elf::read_le32(c.data()) & 1) {
      *n = i + 1;
      return true;
    }
  }
  return false;
}

}  // namespace

uint64_t symbol_name_hash(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  return h;
}

SymbolFacts read_symbol_facts(const ExecFile& f, const DynInfo& d) {
  SymbolFacts out;
  if (!d.symtab || !d.has_strtab || d.strsz > kMaxStrtab) return out;
  uint64_t nsyms = 0;
  if (!symbol_count(f, d, &nsyms)) return out;
  // ElfN_Sym: 16 bytes with st_info at 12 and st_shndx at 14 for ELF32, 24 bytes with them at
  // 4 and 6 for ELF64.
  const bool is32 = d.ehdr.cls == elf::ElfClass::Elf32;
  const uint64_t sym_size = elf::sym_size(d.ehdr.cls);
  const uint64_t info_at = is32 ? 12 : 4, shndx_at = is32 ? 14 : 6;
  std::vector<uint8_t> syms, strtab;
  if (!read_vaddr(f, d.phdrs, d.symtab, nsyms * sym_size, &syms)) return out;
  if (!read_vaddr(f, d.phdrs, d.strtab, d.strsz, &strtab)) return out;
  auto name_at = [&](uint32_t idx) {
    std::string s;
    for (uint64_t i = idx; i < strtab.size() && strtab[i]; ++i) s += char(strtab[i]);
    return s;
  };
  std::vector<uint64_t> hashes(nsyms, 0);
  for (uint64_t i = 1; i < nsyms; ++i) {
    const uint8_t* s = &syms[i * sym_size];
    uint32_t st_name = elf::read_le32(s);
    uint8_t bind = s[info_at] >> 4;
    uint16_t shndx = elf::read_le16(s + shndx_at);
    std::string name = name_at(st_name);
    hashes[i] = symbol_name_hash(name);
    if (shndx == 0 || bind == 0) continue;  // undefined or STB_LOCAL
    if (bind == 10) out.unique_defined.push_back(name);  // STB_GNU_UNIQUE
    out.defined.insert(hashes[i]);
  }
  // The relocation tables: ElfN_Rela (x86_64: 24 bytes, r_info at 8, symbol in the high 32
  // bits) or ElfN_Rel (i386: 8 bytes, r_info at 4, symbol in the high 24 bits). DT_JMPREL has
  // the kind DT_PLTREL names.
  struct Table {
    uint64_t at, size;
    bool rel;
  };
  const uint64_t w = elf::addr_size(d.ehdr.cls);
  std::vector<uint8_t> r;
  for (const Table& t : {Table{d.rela, d.relasz, false}, Table{d.rel, d.relsz, true},
                         Table{d.jmprel, d.pltrelsz, d.plt_rel}}) {
    if (!t.at || !t.size) continue;
    const uint64_t ent = t.rel ? 2 * w : 3 * w;
    uint64_t n = t.size / ent;
    if (n > kMaxRelocs || !read_vaddr(f, d.phdrs, t.at, n * ent, &r)) return out;
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t info = elf::read_word(&r[i * ent + w], d.ehdr.cls);
      uint32_t type = is32 ? uint32_t(info & 0xff) : uint32_t(info);
      uint32_t sym = is32 ? uint32_t(info >> 8) : uint32_t(info >> 32);
      // R_X86_64_NONE, RELATIVE (8) and IRELATIVE (37); R_386_NONE, RELATIVE (8) and
      // IRELATIVE (42): no symbol is looked up.
      if (sym == 0 || type == 0 || type == 8 || type == (is32 ? 42u : 37u) || sym >= nsyms)
        continue;
      const uint8_t* s = &syms[uint64_t(sym) * sym_size];
      if ((s[info_at] >> 4) == 0) continue;  // STB_LOCAL: resolved in place, no lookup
      out.referenced.insert(hashes[sym]);
    }
  }
  out.ok = true;
  return out;
}

}  // namespace execmap::loader
