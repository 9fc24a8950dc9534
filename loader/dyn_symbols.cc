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
  uint64_t buckets_at = d.gnu_hash + 16 + bloom * 8;
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
  std::vector<uint8_t> syms, strtab;
  if (!read_vaddr(f, d.phdrs, d.symtab, nsyms * 24, &syms)) return out;
  if (!read_vaddr(f, d.phdrs, d.strtab, d.strsz, &strtab)) return out;
  auto name_at = [&](uint32_t idx) {
    std::string s;
    for (uint64_t i = idx; i < strtab.size() && strtab[i]; ++i) s += char(strtab[i]);
    return s;
  };
  std::vector<uint64_t> hashes(nsyms, 0);
  for (uint64_t i = 1; i < nsyms; ++i) {
    const uint8_t* s = &syms[i * 24];
    uint32_t st_name = elf::read_le32(s);
    uint8_t bind = s[4] >> 4;
    uint16_t shndx = elf::read_le16(s + 6);
    std::string name = name_at(st_name);
    hashes[i] = symbol_name_hash(name);
    if (shndx == 0 || bind == 0) continue;  // undefined or STB_LOCAL
    if (bind == 10) out.unique_defined.push_back(name);  // STB_GNU_UNIQUE
    out.defined.insert(hashes[i]);
  }
  std::vector<uint8_t> r;
  for (auto [at, size] : {std::pair<uint64_t, uint64_t>{d.rela, d.relasz},
                          std::pair<uint64_t, uint64_t>{d.jmprel, d.pltrelsz}}) {
    if (!at || !size) continue;
    uint64_t n = size / 24;
    if (n > kMaxRelocs || !read_vaddr(f, d.phdrs, at, n * 24, &r)) return out;
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t info = elf::read_le64(&r[i * 24 + 8]);
      uint32_t type = uint32_t(info), sym = uint32_t(info >> 32);
      // R_X86_64_NONE, RELATIVE and IRELATIVE name no symbol.
      if (sym == 0 || type == 0 || type == 8 || type == 37 || sym >= nsyms) continue;
      const uint8_t* s = &syms[uint64_t(sym) * 24];
      if ((s[4] >> 4) == 0) continue;  // STB_LOCAL: resolved in place, no lookup
      out.referenced.insert(hashes[sym]);
    }
  }
  out.ok = true;
  return out;
}

}  // namespace execmap::loader
