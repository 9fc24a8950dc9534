// Tests of build_stack() against layouts worked out by hand from fs/binfmt_elf.c
// create_elf_tables() and fs/exec.c copy_strings(), byte by byte.
#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "sim/stack_builder.h"

namespace {

using execmap::sim::AuxEntry;
using execmap::sim::build_stack;
using execmap::sim::StackInputs;
using execmap::sim::StackItem;
using execmap::sim::StackResult;

// The auxv type numbers of include/uapi/linux/auxvec.h, spelled out here so the test does not
// share the constants it is checking.
constexpr uint64_t kAtNull = 0, kAtPagesz = 6, kAtPlatform = 15, kAtRandom = 25, kAtExecfn = 31;
constexpr uint64_t kStackEnd = 0x7ffffffff000;

uint64_t c_size(const std::string& s) { return s.size() + 1; }

// bprm_stack_limits()/copy_strings(): bprm->p starts at vm_end - sizeof(void *); the filename
// is copied first (highest), then envp, then argv, each string NUL-terminated, growing down.
StackInputs make_inputs(uint64_t stack_end, std::vector<std::string> argv,
                        std::vector<std::string> envp, std::string filename, std::string platform,
                        std::vector<AuxEntry> auxv) {
  StackInputs in;
  in.stack_end = stack_end;
  uint64_t total = c_size(filename);
  for (const auto& a : argv) total += c_size(a);
  for (const auto& e : envp) total += c_size(e);
  in.strings_start = stack_end - 8 - total;
  in.execfn = stack_end - 8 - c_size(filename);
  in.argv = std::move(argv);
  in.envp = std::move(envp);
  in.filename = std::move(filename);
  in.platform = std::move(platform);
  in.auxv = std::move(auxv);
  for (int i = 0; i < 16; ++i) in.random_bytes[i] = static_cast<uint8_t>(0xa0 + i);
  return in;
}

std::vector<AuxEntry> small_auxv(bool with_platform) {
  std::vector<AuxEntry> v = {{kAtPagesz, 4096}, {kAtRandom, 0}};
  if (with_platform) v.push_back({kAtPlatform, 0});
  v.push_back({kAtExecfn, 0x1234});  // any other value is passed through untouched
  return v;
}

uint64_t read64(const StackResult& r, uint64_t addr) {
  REQUIRE(addr >= r.sp);
  REQUIRE(addr + 8 <= r.sp + r.image.size());
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | r.image[addr - r.sp + i];
  return v;
}

uint8_t byte_at(const StackResult& r, uint64_t addr) {
  REQUIRE(addr >= r.sp);
  REQUIRE(addr < r.sp + r.image.size());
  return r.image[addr - r.sp];
}

// The NUL-terminated string at addr, which must end inside the image.
std::string cstr_at(const StackResult& r, uint64_t addr) {
  std::string s;
  for (uint64_t a = addr;; ++a) {
    uint8_t c = byte_at(r, a);
    if (!c) return s;
    s.push_back(static_cast<char>(c));
  }
}

void require_zero(const StackResult& r, uint64_t from, uint64_t to) {
  for (uint64_t a = from; a < to; ++a) {
    INFO("byte at " << std::hex << a);
    REQUIRE(byte_at(r, a) == 0);
  }
}

// Where create_elf_tables() puts everything, computed from the kernel's arithmetic.
struct Layout {
  uint64_t aligned_p, u_platform, u_rand, sp;
};

Layout expected_layout(const StackInputs& in) {
  Layout l{};
  // arch_align_stack(): p -= random; p &= ~0xf.
  l.aligned_p = (in.strings_start - in.align_random) & ~uint64_t(15);
  uint64_t p = l.aligned_p;
  if (!in.platform.empty()) {
    p -= in.platform.size() + 1;  // STACK_ALLOC(p, strlen(k_platform) + 1)
    l.u_platform = p;
  }
  p -= 16;  // STACK_ALLOC(p, sizeof(k_rand_bytes))
  l.u_rand = p;
  uint64_t ei_index = 2 * (in.auxv.size() + 1);  // the pairs plus AT_NULL
  uint64_t items = (in.argv.size() + 1) + (in.envp.size() + 1) + 1;
  // sp = STACK_ADD(p, ei_index); bprm->p = STACK_ROUND(sp, items).
  l.sp = (l.u_rand - 8 * ei_index - 8 * items) & ~uint64_t(15);
  return l;
}

// Checks every byte of the image that create_elf_tables() and copy_strings() define.
void verify(const StackInputs& in, const StackResult& r) {
  const Layout l = expected_layout(in);
  REQUIRE(r.sp % 16 == 0);
  REQUIRE(r.sp == l.sp);
  REQUIRE(r.end == in.stack_end);
  REQUIRE(r.image.size() == in.stack_end - r.sp);
  REQUIRE(r.at_random == l.u_rand);
  REQUIRE(r.platform == l.u_platform);
  REQUIRE(r.execfn == in.execfn);

  // argc, argv[], NULL, envp[], NULL from sp upwards.
  uint64_t q = r.sp;
  REQUIRE(read64(r, q) == in.argv.size());
  REQUIRE(r.argc == in.argv.size());
  q += 8;
  uint64_t s = in.strings_start;
  REQUIRE(r.argv_ptrs.size() == in.argv.size());
  for (size_t i = 0; i < in.argv.size(); ++i, q += 8) {
    INFO("argv[" << i << "]");
    REQUIRE(read64(r, q) == s);
    REQUIRE(r.argv_ptrs[i] == s);
    REQUIRE(cstr_at(r, s) == in.argv[i]);
    s += c_size(in.argv[i]);
  }
  REQUIRE(read64(r, q) == 0);
  q += 8;
  REQUIRE(r.envp_ptrs.size() == in.envp.size());
  for (size_t i = 0; i < in.envp.size(); ++i, q += 8) {
    INFO("envp[" << i << "]");
    REQUIRE(read64(r, q) == s);
    REQUIRE(r.envp_ptrs[i] == s);
    REQUIRE(cstr_at(r, s) == in.envp[i]);
    s += c_size(in.envp[i]);
  }
  REQUIRE(read64(r, q) == 0);
  q += 8;

  // The filename follows the environment strings directly; then the 8-byte end marker.
  REQUIRE(s == in.execfn);
  REQUIRE(cstr_at(r, in.execfn) == in.filename);
  REQUIRE(in.execfn + c_size(in.filename) == in.stack_end - 8);
  require_zero(r, in.stack_end - 8, in.stack_end);

  // auxv pairs in order, AT_RANDOM and AT_PLATFORM filled in, then AT_NULL.
  REQUIRE(r.auxv.size() == in.auxv.size());
  for (size_t i = 0; i < in.auxv.size(); ++i, q += 16) {
    INFO("auxv[" << i << "] type " << in.auxv[i].type);
    uint64_t want = in.auxv[i].value;
    if (in.auxv[i].type == kAtRandom) want = l.u_rand;
    if (in.auxv[i].type == kAtPlatform) want = l.u_platform;
    REQUIRE(read64(r, q) == in.auxv[i].type);
    REQUIRE(read64(r, q + 8) == want);
    REQUIRE(r.auxv[i].type == in.auxv[i].type);
    REQUIRE(r.auxv[i].value == want);
  }
  REQUIRE(read64(r, q) == kAtNull);
  REQUIRE(read64(r, q + 8) == 0);
  q += 16;

  // Never-written bytes between AT_NULL and the random bytes are zero (fresh stack pages).
  REQUIRE(q <= l.u_rand);
  REQUIRE(l.u_rand - q < 16);  // STACK_ROUND() rounds down by at most 15 bytes
  require_zero(r, q, l.u_rand);
  for (int i = 0; i < 16; ++i) REQUIRE(byte_at(r, l.u_rand + i) == in.random_bytes[i]);

  uint64_t pad_from = l.u_rand + 16;
  if (!in.platform.empty()) {
    REQUIRE(l.u_platform == l.aligned_p - c_size(in.platform));
    REQUIRE(l.u_rand + 16 == l.u_platform);
    REQUIRE(cstr_at(r, l.u_platform) == in.platform);
    pad_from = l.u_platform + c_size(in.platform);
  } else {
    REQUIRE(l.u_rand + 16 == l.aligned_p);  // random bytes right below the aligned p
  }
  REQUIRE(pad_from == l.aligned_p);
  // arch_align_stack() padding up to the first argv string is zero.
  require_zero(r, l.aligned_p, in.strings_start);

  // The annotated items tile [sp, stack_end) in ascending order without overlap.
  REQUIRE_FALSE(r.items.empty());
  REQUIRE(r.items.front().addr == r.sp);
  for (size_t i = 0; i < r.items.size(); ++i) {
    INFO("item " << i << " " << r.items[i].label);
    REQUIRE(r.items[i].size > 0);
    if (i + 1 < r.items.size()) {
      REQUIRE(r.items[i].addr + r.items[i].size <= r.items[i + 1].addr);  // no overlap
      REQUIRE(r.items[i].addr + r.items[i].size == r.items[i + 1].addr);  // no gap
    }
  }
  REQUIRE(r.items.back().addr + r.items.back().size == in.stack_end);
}

TEST_CASE("build_stack: ./a x with A=1, platform x86_64", "[stack_builder]") {
  StackInputs in = make_inputs(kStackEnd, {"./a", "x"}, {"A=1"}, "./a", "x86_64",
                               {{kAtPagesz, 4096}, {kAtRandom, 0}, {kAtPlatform, 0}});
  // Strings: "./a\0" "x\0" "A=1\0" "./a\0" = 14 bytes below the 8-byte end marker.
  REQUIRE(in.strings_start == 0x7fffffffefea);
  REQUIRE(in.execfn == 0x7fffffffeff4);
  StackResult r = build_stack(in);

  // Worked by hand:
  //   p = 0x7fffffffefea & ~15                          = 0x7fffffffefe0
  //   u_platform = p - 7                                = 0x7fffffffefd9
  //   u_rand = u_platform - 16                          = 0x7fffffffefc9
  //   sp = (u_rand - 8*2*(3+1) - 8*(2+1+1+1+1)) & ~15   = 0x7fffffffef59 & ~15 = 0x7fffffffef50
  const uint64_t strings_start = 0x7fffffffefea;
  const uint64_t u_rand = ((strings_start & ~uint64_t(15)) - 7 - 16);
  REQUIRE(u_rand == 0x7fffffffefc9);
  REQUIRE(r.sp == ((u_rand - 8 * (2 * (3 + 1)) - 8 * (2 + 1 + 1 + 1 + 1)) & ~uint64_t(15)));
  REQUIRE(r.sp == 0x7fffffffef50);
  REQUIRE(r.image.size() == 0xb0);

  // The exact words from sp upwards.
  // clang-format off
  const uint64_t words[] = {
      2,                                  // argc
      0x7fffffffefea, 0x7fffffffefee, 0,  // argv: "./a", "x", NULL
      0x7fffffffeff0, 0,                  // envp: "A=1", NULL
      kAtPagesz,   4096,                  // auxv pairs in the given order
      kAtRandom,   0x7fffffffefc9,        //   AT_RANDOM = u_rand
      kAtPlatform, 0x7fffffffefd9,        //   AT_PLATFORM = u_platform
      0,           0,                     // AT_NULL
  };
  // clang-format on

  for (size_t i = 0; i < sizeof words / sizeof words[0]; ++i) {
    INFO("word " << i);
    REQUIRE(read64(r, 0x7fffffffef50 + 8 * i) == words[i]);
  }
  require_zero(r, 0x7fffffffefc0, 0x7fffffffefc9);  // STACK_ROUND slack
  REQUIRE(std::memcmp(&r.image[0x7fffffffefd9 - r.sp], "x86_64", 7) == 0);
  require_zero(r, 0x7fffffffefe0, 0x7fffffffefea);  // alignment padding
  REQUIRE(std::memcmp(&r.image[0x7fffffffefea - r.sp], "./a\0x\0A=1\0./a\0\0\0\0\0\0\0\0\0", 22) ==
          0);
  verify(in, r);
}

TEST_CASE("build_stack: argc 1 and an empty environment", "[stack_builder]") {
  StackInputs in = make_inputs(kStackEnd, {"/bin/true"}, {}, "/bin/true", "x86_64",
                               small_auxv(/*with_platform=*/true));
  // 10 + 10 bytes of strings: strings_start = 0x7fffffffeff8 - 20 = 0x7fffffffefe4.
  REQUIRE(in.strings_start == 0x7fffffffefe4);
  StackResult r = build_stack(in);
  // u_rand = 0x7fffffffefe0 - 7 - 16 = 0x7fffffffefc9;
  // sp = (0x7fffffffefc9 - 8*2*5 - 8*(2+1+1)) & ~15 = 0x7fffffffef59 & ~15.
  REQUIRE(r.sp == 0x7fffffffef50);
  REQUIRE(read64(r, r.sp) == 1);
  REQUIRE(read64(r, r.sp + 16) == 0);  // argv NULL
  REQUIRE(read64(r, r.sp + 24) == 0);  // envp NULL: no environment at all
  REQUIRE(read64(r, r.sp + 32) == kAtPagesz);
  verify(in, r);
}

TEST_CASE("build_stack: argc 0 became argv {\"\"}", "[stack_builder]") {
  // do_execveat_common() pushes "" when argc == 0, so argv[0] points at a lone NUL.
  StackInputs in = make_inputs(kStackEnd, {""}, {"X=y"}, "/bin/prog", "x86_64",
                               small_auxv(/*with_platform=*/true));
  StackResult r = build_stack(in);
  REQUIRE(read64(r, r.sp) == 1);
  REQUIRE(read64(r, r.sp + 8) == in.strings_start);
  REQUIRE(byte_at(r, in.strings_start) == 0);
  verify(in, r);
}

TEST_CASE("build_stack: 50 arguments", "[stack_builder]") {
  std::vector<std::string> argv;
  for (int i = 0; i < 50; ++i) argv.push_back("arg" + std::to_string(i));
  StackInputs in = make_inputs(kStackEnd, argv, {"HOME=/root", "PATH=/bin"}, "/usr/bin/prog",
                               "x86_64", small_auxv(/*with_platform=*/true));
  StackResult r = build_stack(in);
  REQUIRE(r.argc == 50);
  // 10 one-digit (5 bytes) + 40 two-digit (6 bytes) = 290; env 11 + 10; filename 14: 325.
  REQUIRE(in.strings_start == kStackEnd - 8 - 325);
  // aligned p = 0x7ffffffff000 - 333 = 0x7fffffffeeb3 -> 0x7fffffffeeb0; u_rand = ...ee99;
  // sp = (0x7fffffffee99 - 8*2*5 - 8*(51+3+1)) & ~15 = 0x7fffffffec91 & ~15.
  REQUIRE(r.sp == 0x7fffffffec90);
  verify(in, r);
}

TEST_CASE("build_stack: strings_start already 16-aligned vs not", "[stack_builder]") {
  SECTION("aligned: no padding, platform ends exactly at the first string") {
    // 7 + 10 + 7 = 24 bytes: strings_start = 0x7fffffffeff8 - 24 = 0x7fffffffefe0.
    StackInputs in = make_inputs(kStackEnd, {"./prog"}, {"HOME=/roo"}, "./prog", "x86_64",
                                 small_auxv(/*with_platform=*/true));
    REQUIRE(in.strings_start % 16 == 0);
    StackResult r = build_stack(in);
    REQUIRE(r.platform == in.strings_start - 7);
    REQUIRE(cstr_at(r, r.platform) == "x86_64");
    for (const auto& item : r.items) {
      bool padding_above_random = item.kind == StackItem::Kind::Padding && item.addr > r.at_random;
      CHECK_FALSE(padding_above_random);
    }
    verify(in, r);
  }
  SECTION("not aligned: 15 zero bytes of padding") {
    // 8 + 10 + 7 = 25 bytes: strings_start = 0x7fffffffefdf, aligned down to ...efd0.
    StackInputs in = make_inputs(kStackEnd, {"./progg"}, {"HOME=/roo"}, "./prog", "x86_64",
                                 small_auxv(/*with_platform=*/true));
    REQUIRE(in.strings_start == 0x7fffffffefdf);
    StackResult r = build_stack(in);
    REQUIRE(r.platform == 0x7fffffffefd0 - 7);
    require_zero(r, 0x7fffffffefd0, 0x7fffffffefdf);
    verify(in, r);
  }
  SECTION("arch_align_stack() random subtraction") {
    StackInputs in = make_inputs(kStackEnd, {"./a", "b"}, {"C=d"}, "./a", "x86_64",
                                 small_auxv(/*with_platform=*/true));
    in.align_random = 0x1234;  // get_random_u32_below(8192)
    StackResult r = build_stack(in);
    REQUIRE(r.platform == ((in.strings_start - 0x1234) & ~uint64_t(15)) - 7);
    verify(in, r);  // includes: all bytes from the aligned p up to the strings are zero
  }
}

TEST_CASE("build_stack: no platform string", "[stack_builder]") {
  StackInputs in =
      make_inputs(kStackEnd, {"./a", "x"}, {"A=1"}, "./a", "", small_auxv(/*with_platform=*/false));
  StackResult r = build_stack(in);
  // No STACK_ALLOC for the platform: u_rand = (0x7fffffffefea & ~15) - 16.
  REQUIRE(r.platform == 0);
  REQUIRE(r.at_random == 0x7fffffffefd0);
  for (const auto& e : r.auxv) REQUIRE(e.type != kAtPlatform);
  for (const auto& item : r.items) REQUIRE(item.kind != StackItem::Kind::Platform);
  // sp = (0x7fffffffefd0 - 8*2*4 - 8*6) & ~15 = 0x7fffffffef60.
  REQUIRE(r.sp == 0x7fffffffef60);
  verify(in, r);
}

TEST_CASE("build_stack: a different stack_end", "[stack_builder]") {
  // A randomized stack top (randomize_stack_top) is just another page-aligned end.
  StackInputs in =
      make_inputs(0x7ffd12345000, {"/bin/sh", "-c", "echo hi"}, {"A=1", "BB=22", "CCC=333"},
                  "/bin/sh", "x86_64", small_auxv(/*with_platform=*/true));
  StackResult r = build_stack(in);
  verify(in, r);
}

}  // namespace
