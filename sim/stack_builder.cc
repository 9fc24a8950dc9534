// Byte-exact construction of the initial process stack (fs/binfmt_elf.c create_elf_tables).
#include "sim/stack_builder.h"

#include <cstring>

#include "loader/elf_defs.h"

namespace execmap::sim {
namespace {

// One little-endian word of `word` bytes (elf_addr_t).
void put_word(std::vector<uint8_t>& img, uint64_t base, uint64_t addr, uint64_t v, uint64_t word) {
  uint64_t off = addr - base;
  for (uint64_t i = 0; i < word; ++i) img[off + i] = static_cast<uint8_t>(v >> (8 * i));
}

void put_bytes(std::vector<uint8_t>& img, uint64_t base, uint64_t addr, const void* src,
               uint64_t n) {
  if (n) std::memcpy(img.data() + (addr - base), src, n);
}

uint64_t c_len(const std::string& s) { return strnlen(s.c_str(), s.size()) + 1; }

}  // namespace

StackResult build_stack(const StackInputs& in) {
  StackResult r;
  r.end = in.stack_end;
  r.argv = in.argv;
  r.envp = in.envp;
  r.argc = in.argv.size();

  // arch_align_stack(): subtract the random offset, then round down to 16.
  uint64_t p = (in.strings_start - in.align_random) & ~uint64_t(15);
  uint64_t u_platform = 0;
  if (!in.platform.empty()) {
    p -= in.platform.size() + 1;
    u_platform = p;
  }
  p -= 16;
  uint64_t u_rand = p;

  std::vector<AuxEntry> auxv = in.auxv;
  for (auto& e : auxv) {
    if (e.type == elf::AT_RANDOM) e.value = u_rand;
    if (e.type == elf::AT_PLATFORM) e.value = u_platform;
  }
  uint64_t ei_words = 2 * (auxv.size() + 1);
  uint64_t items = (r.argc + 1) + (in.envp.size() + 1) + 1;
  // STACK_ADD(p, ei_index) then STACK_ROUND(sp, items): elf_addr_t pointer arithmetic below
  // the random bytes, then 16-byte alignment.
  const uint64_t w = in.word;
  uint64_t sp = (u_rand - w * ei_words - w * items) & ~uint64_t(15);
  r.sp = sp;
  r.at_random = u_rand;
  r.platform = u_platform;
  r.execfn = in.execfn;
  r.auxv = auxv;

  r.image.assign(in.stack_end - sp, 0);
  // Strings, as copy_strings() laid them out: argv[0..], envp[0..], then the filename.
  uint64_t s = in.strings_start;
  for (const auto& a : in.argv) {
    r.argv_ptrs.push_back(s);
    put_bytes(r.image, sp, s, a.c_str(), c_len(a));
    r.items.push_back({StackItem::Kind::ArgString, s, c_len(a), "argv[" + std::to_string(r.argv_ptrs.size() - 1) + "]"});
    s += c_len(a);
  }
  for (const auto& e : in.envp) {
    r.envp_ptrs.push_back(s);
    put_bytes(r.image, sp, s, e.c_str(), c_len(e));
    r.items.push_back({StackItem::Kind::EnvString, s, c_len(e), "envp[" + std::to_string(r.envp_ptrs.size() - 1) + "]"});
    s += c_len(e);
  }
  put_bytes(r.image, sp, in.execfn, in.filename.c_str(), c_len(in.filename));

  // Tables from sp upwards: argc, argv[], NULL, envp[], NULL, auxv pairs, AT_NULL.
  uint64_t q = sp;
  std::vector<StackItem> low;
  put_word(r.image, sp, q, r.argc, w);
  low.push_back({StackItem::Kind::Argc, q, w, "argc"});
  q += w;
  for (size_t i = 0; i < r.argv_ptrs.size(); ++i, q += w) {
    put_word(r.image, sp, q, r.argv_ptrs[i], w);
    low.push_back({StackItem::Kind::ArgvPtr, q, w, "argv[" + std::to_string(i) + "]"});
  }
  low.push_back({StackItem::Kind::Null, q, w, "argv NULL"});
  q += w;
  for (size_t i = 0; i < r.envp_ptrs.size(); ++i, q += w) {
    put_word(r.image, sp, q, r.envp_ptrs[i], w);
    low.push_back({StackItem::Kind::EnvpPtr, q, w, "envp[" + std::to_string(i) + "]"});
  }
  low.push_back({StackItem::Kind::Null, q, w, "envp NULL"});
  q += w;
  for (const auto& e : auxv) {
    put_word(r.image, sp, q, e.type, w);
    put_word(r.image, sp, q + w, e.value, w);
    low.push_back({StackItem::Kind::Auxv, q, 2 * w, elf::at_name(e.type)});
    q += 2 * w;
  }
  low.push_back({StackItem::Kind::Auxv, q, 2 * w, "AT_NULL"});
  q += 2 * w;
  if (q < u_rand) low.push_back({StackItem::Kind::Padding, q, u_rand - q, "padding"});
  put_bytes(r.image, sp, u_rand, in.random_bytes, 16);
  low.push_back({StackItem::Kind::Random, u_rand, 16, "AT_RANDOM bytes"});
  if (u_platform) {
    put_bytes(r.image, sp, u_platform, in.platform.c_str(), in.platform.size() + 1);
    low.push_back({StackItem::Kind::Platform, u_platform, in.platform.size() + 1, "platform"});
  }
  uint64_t pad_end = in.strings_start;
  uint64_t pad_start = u_platform ? u_platform + in.platform.size() + 1 : u_rand + 16;
  if (pad_start < pad_end) low.push_back({StackItem::Kind::Padding, pad_start, pad_end - pad_start, "alignment padding"});
  r.items.insert(r.items.begin(), low.begin(), low.end());
  r.items.push_back({StackItem::Kind::ExecFn, in.execfn, c_len(in.filename), "execfn (AT_EXECFN)"});
  r.items.push_back({StackItem::Kind::EndMarker, in.stack_end - 8, 8, "end marker"});
  return r;
}

}  // namespace execmap::sim
