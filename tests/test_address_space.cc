// Table-driven tests of the simulated mm (sim/address_space): split and merge rules of
// mm/vma.c, the free-area searches of mm/mmap.c, and a randomized check against a per-page model.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cinttypes>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "sim/address_space.h"
#include "util/format.h"

namespace {

using execmap::sim::AddressSpace;
using execmap::sim::PROT_R;
using execmap::sim::PROT_W;
using execmap::sim::PROT_X;
using execmap::sim::Vma;
namespace util = execmap::util;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kGuardGap = 1 << 20;  // stack_guard_gap: 256 pages (mm/mmap.c)
constexpr uint32_t RW = PROT_R | PROT_W;
constexpr uint32_t RX = PROT_R | PROT_X;

// The VMAs below carry the flags mmap would give them. accountable_mapping() (mm/mmap.c):
// a private writable mapping is charged and gets VM_ACCOUNT.
bool accountable(uint32_t prot, bool shared) { return (prot & PROT_W) && !shared; }

// Anonymous private memory: the kernel sets vm_pgoff to the address (do_mmap: pgoff = addr >>
// PAGE_SHIFT for MAP_PRIVATE|MAP_ANONYMOUS), so neighbours always line up linearly.
Vma anon(uint64_t start, uint64_t end, uint32_t prot) {
  Vma v;
  v.start = start;
  v.end = end;
  v.prot = prot;
  v.accounted = accountable(prot, /*shared=*/false);
  v.kind = Vma::Kind::Anon;
  v.pgoff = start;
  return v;
}

Vma filemap(uint64_t start, uint64_t end, uint32_t prot, int file, uint64_t pgoff) {
  Vma v;
  v.start = start;
  v.end = end;
  v.prot = prot;
  v.accounted = accountable(prot, /*shared=*/false);
  v.kind = Vma::Kind::File;
  v.file = file;
  v.pgoff = pgoff;
  return v;
}

// __bprm_mm_init(): VM_STACK_FLAGS includes VM_ACCOUNT.
Vma stack(uint64_t start, uint64_t end) {
  Vma v = anon(start, end, RW);
  v.kind = Vma::Kind::Stack;
  v.accounted = true;
  return v;
}

// _install_special_mapping(): no VM_ACCOUNT.
Vma special(uint64_t start, uint64_t end, uint32_t prot, const std::string& name) {
  Vma v = anon(start, end, prot);
  v.kind = Vma::Kind::Special;
  v.accounted = false;
  v.name = name;
  return v;
}

Vma shared_anon(uint64_t start, uint64_t end, uint32_t prot) {
  Vma v = anon(start, end, prot);
  v.shared = true;
  v.accounted = false;
  return v;
}

Vma with_prot(Vma v, uint32_t prot) {
  v.prot = prot;
  return v;
}

const char* kind_name(Vma::Kind k) {
  switch (k) {
    case Vma::Kind::File:
      return "file";
    case Vma::Kind::Anon:
      return "anon";
    case Vma::Kind::Stack:
      return "stack";
    case Vma::Kind::Special:
      return "special";
  }
  return "?";
}

// One line per VMA, so a failing table comparison prints a readable diff.
std::string describe(const Vma& v) {
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "%" PRIx64 "-%" PRIx64 " %s%s %s file=%d pgoff=%" PRIx64 " %s", v.start, v.end,
                util::perms_string(v.prot, v.shared).c_str(), v.accounted ? " acct" : "",
                kind_name(v.kind), v.file, v.pgoff, v.name.c_str());
  return buf;
}

std::vector<std::string> describe_all(const AddressSpace& as) {
  std::vector<std::string> out;
  for (const auto& [start, v] : as.vmas()) out.push_back(describe(v));
  return out;
}

std::vector<std::string> describe_all(const std::vector<Vma>& vs) {
  std::vector<std::string> out;
  for (const auto& v : vs) out.push_back(describe(v));
  return out;
}

// ---- Table-driven operation sequences ---------------------------------------------------------

struct Op {
  enum class Type { Map, Unmap, Protect, ExpandDown } type;
  Vma vma;                // Map
  uint64_t start = 0;     // Unmap / Protect / ExpandDown (the VMA's current start)
  uint64_t end = 0;       // Unmap / Protect; ExpandDown: the new start
  uint32_t prot = 0;      // Protect
  bool expect_ok = true;  // Protect / ExpandDown return value
};

Op map_op(const Vma& v) { return Op{Op::Type::Map, v, 0, 0, 0, true}; }
Op unmap_op(uint64_t s, uint64_t e) { return Op{Op::Type::Unmap, Vma{}, s, e, 0, true}; }
Op protect_op(uint64_t s, uint64_t e, uint32_t prot, bool ok = true) {
  return Op{Op::Type::Protect, Vma{}, s, e, prot, ok};
}
Op expand_op(uint64_t vma_start, uint64_t new_start, bool ok = true) {
  return Op{Op::Type::ExpandDown, Vma{}, vma_start, new_start, 0, ok};
}

struct TableCase {
  std::string name;
  std::vector<Op> ops;
  std::vector<Vma> expected;
};

void run_case(const TableCase& tc) {
  AddressSpace as;
  size_t step = 0;
  for (const Op& op : tc.ops) {
    INFO("case: " << tc.name << ", op #" << step);
    std::vector<std::string> before = describe_all(as);
    switch (op.type) {
      case Op::Type::Map:
        as.map(op.vma);
        break;
      case Op::Type::Unmap:
        as.unmap(op.start, op.end);
        break;
      case Op::Type::Protect: {
        bool ok = as.protect(op.start, op.end, op.prot);
        REQUIRE(ok == op.expect_ok);
        break;
      }
      case Op::Type::ExpandDown: {
        bool ok = as.expand_down(op.start, op.end);
        REQUIRE(ok == op.expect_ok);
        break;
      }
    }
    REQUIRE(as.check_invariants() == "");
    // A refused protect/expand_down (the kernel's ENOMEM/EFAULT) must leave the mm untouched.
    if (!op.expect_ok) REQUIRE(describe_all(as) == before);
    ++step;
  }
  INFO("case: " << tc.name);
  REQUIRE(describe_all(as) == describe_all(tc.expected));
}

constexpr uint64_t B = 0x10000;  // base of the test window
constexpr uint64_t pg(uint64_t n) { return n * kPage; }

std::vector<TableCase> merge_cases() {
  return {
      {"adjacent anon rw- VMAs merge (after, before, and into a hole between two)",
       {map_op(anon(B, B + pg(2), RW)), map_op(anon(B + pg(2), B + pg(4), RW)),
        map_op(anon(B - pg(1), B, RW)), map_op(anon(B + pg(6), B + pg(8), RW)),
        map_op(anon(B + pg(4), B + pg(6), RW))},
       {anon(B - pg(1), B + pg(8), RW)}},
      {"different prot does not merge",
       {map_op(anon(B, B + pg(2), RW)), map_op(anon(B + pg(2), B + pg(4), PROT_R)),
        map_op(anon(B + pg(4), B + pg(5), RW))},
       {anon(B, B + pg(2), RW), anon(B + pg(2), B + pg(4), PROT_R),
        anon(B + pg(4), B + pg(5), RW)}},
      {"shared and private do not merge",
       {map_op(anon(B, B + pg(2), RW)), map_op(shared_anon(B + pg(2), B + pg(4), RW))},
       {anon(B, B + pg(2), RW), shared_anon(B + pg(2), B + pg(4), RW)}},
      {"file VMAs with same file and contiguous pgoff merge",
       {map_op(filemap(B, B + pg(1), PROT_R, 0, 0)),
        map_op(filemap(B + pg(1), B + pg(3), PROT_R, 0, pg(1))),
        map_op(filemap(B - pg(2), B, PROT_R, 0, 0x100000 - pg(2)))},  // pgoff not contiguous
       {filemap(B - pg(2), B, PROT_R, 0, 0x100000 - pg(2)), filemap(B, B + pg(3), PROT_R, 0, 0)}},
      {"file VMAs with discontiguous pgoff do not merge",
       {map_op(filemap(B, B + pg(1), PROT_R, 0, 0)),
        map_op(filemap(B + pg(1), B + pg(3), PROT_R, 0, pg(3)))},
       {filemap(B, B + pg(1), PROT_R, 0, 0), filemap(B + pg(1), B + pg(3), PROT_R, 0, pg(3))}},
      {"file VMAs of different files do not merge",
       {map_op(filemap(B, B + pg(1), PROT_R, 0, 0)),
        map_op(filemap(B + pg(1), B + pg(3), PROT_R, 1, pg(1)))},
       {filemap(B, B + pg(1), PROT_R, 0, 0), filemap(B + pg(1), B + pg(3), PROT_R, 1, pg(1))}},
      {"file and anon neighbours do not merge",
       {map_op(filemap(B, B + pg(1), RW, 0, B)), map_op(anon(B + pg(1), B + pg(2), RW))},
       {filemap(B, B + pg(1), RW, 0, B), anon(B + pg(1), B + pg(2), RW)}},
      {"Special VMAs never merge, even identical ones",
       {map_op(special(B, B + pg(1), PROT_R, "[vvar]")),
        map_op(special(B + pg(1), B + pg(2), PROT_R, "[vvar]")),
        map_op(special(B + pg(2), B + pg(4), RX, "[vdso]")),
        map_op(special(B + pg(4), B + pg(5), RX, "[vdso]"))},
       {special(B, B + pg(1), PROT_R, "[vvar]"), special(B + pg(1), B + pg(2), PROT_R, "[vvar]"),
        special(B + pg(2), B + pg(4), RX, "[vdso]"), special(B + pg(4), B + pg(5), RX, "[vdso]")}},
      {"Special does not merge with an equal anon neighbour",
       {map_op(anon(B, B + pg(1), RX)), map_op(special(B + pg(1), B + pg(2), RX, "")),
        map_op(anon(B + pg(2), B + pg(3), RX))},
       {anon(B, B + pg(1), RX), special(B + pg(1), B + pg(2), RX, ""),
        anon(B + pg(2), B + pg(3), RX)}},
      {"Stack VMAs never merge",
       {map_op(stack(B, B + pg(2))), map_op(stack(B + pg(2), B + pg(4))),
        map_op(anon(B - pg(1), B, RW)), map_op(anon(B + pg(4), B + pg(5), RW))},
       {anon(B - pg(1), B, RW), stack(B, B + pg(2)), stack(B + pg(2), B + pg(4)),
        anon(B + pg(4), B + pg(5), RW)}},
  };
}

std::vector<TableCase> unmap_cases() {
  return {
      {"unmap in the middle splits, right part gets pgoff + offset",
       {map_op(filemap(B, B + pg(16), RX, 0, pg(5))), unmap_op(B + pg(3), B + pg(5))},
       {filemap(B, B + pg(3), RX, 0, pg(5)), filemap(B + pg(5), B + pg(16), RX, 0, pg(10))}},
      {"unmap at the start and at the end trims",
       {map_op(filemap(B, B + pg(8), PROT_R, 1, pg(2))), unmap_op(B - pg(4), B + pg(1)),
        unmap_op(B + pg(7), B + pg(20))},
       {filemap(B + pg(1), B + pg(7), PROT_R, 1, pg(3))}},
      {"unmap spanning several VMAs",
       {map_op(filemap(B, B + pg(2), PROT_R, 0, 0)),
        map_op(filemap(B + pg(2), B + pg(4), RW, 0, pg(2))),
        map_op(filemap(B + pg(4), B + pg(6), RX, 0, pg(4))),
        map_op(anon(B + pg(8), B + pg(10), RW)), map_op(anon(B + pg(12), B + pg(13), RW)),
        unmap_op(B + pg(1), B + pg(9))},
       {filemap(B, B + pg(1), PROT_R, 0, 0), anon(B + pg(9), B + pg(10), RW),
        anon(B + pg(12), B + pg(13), RW)}},
      {"unmap of a hole, or of an empty range, changes nothing",
       {map_op(anon(B, B + pg(2), RW)), unmap_op(B + pg(4), B + pg(8)),
        unmap_op(B + pg(1), B + pg(1)), unmap_op(B + pg(2), B + pg(1))},
       {anon(B, B + pg(2), RW)}},
      {"unmap of everything",
       {map_op(anon(B, B + pg(2), RW)), map_op(anon(B + pg(3), B + pg(4), PROT_R)),
        unmap_op(0, B + pg(100))},
       {}},
      {"split pieces re-merge when the hole is mapped again linearly",
       {map_op(anon(B, B + pg(6), RW)), unmap_op(B + pg(2), B + pg(3)),
        map_op(anon(B + pg(2), B + pg(3), RW))},
       {anon(B, B + pg(6), RW)}},
  };
}

std::vector<TableCase> map_fixed_cases() {
  return {
      {"MAP_FIXED over the middle of a VMA replaces it (3 pieces)",
       {map_op(filemap(B, B + pg(16), PROT_R, 0, 0)), map_op(anon(B + pg(4), B + pg(6), RW))},
       {filemap(B, B + pg(4), PROT_R, 0, 0), anon(B + pg(4), B + pg(6), RW),
        filemap(B + pg(6), B + pg(16), PROT_R, 0, pg(6))}},
      {"MAP_FIXED with identical attributes merges back into one",
       {map_op(filemap(B, B + pg(16), PROT_R, 0, 0)),
        map_op(filemap(B + pg(4), B + pg(6), PROT_R, 0, pg(4)))},
       {filemap(B, B + pg(16), PROT_R, 0, 0)}},
      {"MAP_FIXED over several VMAs and holes",
       {map_op(anon(B, B + pg(2), PROT_R)), map_op(anon(B + pg(3), B + pg(5), RW)),
        map_op(anon(B + pg(6), B + pg(8), RX)), map_op(filemap(B + pg(1), B + pg(7), RW, 1, 0))},
       {anon(B, B + pg(1), PROT_R), filemap(B + pg(1), B + pg(7), RW, 1, 0),
        anon(B + pg(7), B + pg(8), RX)}},
      {"MAP_FIXED replacing a VMA exactly, merging with both neighbours",
       {map_op(anon(B, B + pg(2), RW)), map_op(anon(B + pg(2), B + pg(4), PROT_R)),
        map_op(anon(B + pg(4), B + pg(6), RW)), map_op(anon(B + pg(2), B + pg(4), RW))},
       {anon(B, B + pg(6), RW)}},
  };
}

std::vector<TableCase> protect_cases() {
  return {
      {"protect splits a VMA into 3, protect back re-merges into 1",
       {map_op(filemap(B, B + pg(16), RX, 0, pg(1))), protect_op(B + pg(3), B + pg(5), PROT_R),
        protect_op(B + pg(3), B + pg(5), RX)},
       {filemap(B, B + pg(16), RX, 0, pg(1))}},
      {"protect middle piece: 3 VMAs with correct pgoff",
       {map_op(filemap(B, B + pg(16), RX, 0, pg(1))), protect_op(B + pg(3), B + pg(5), PROT_R)},
       {filemap(B, B + pg(3), RX, 0, pg(1)), filemap(B + pg(3), B + pg(5), PROT_R, 0, pg(4)),
        filemap(B + pg(5), B + pg(16), RX, 0, pg(6))}},
      {"protect of a whole VMA merges with the matching neighbour",
       {map_op(filemap(B, B + pg(2), PROT_R, 0, 0)),
        map_op(filemap(B + pg(2), B + pg(4), RX, 0, pg(2))),
        map_op(filemap(B + pg(4), B + pg(6), PROT_R, 0, pg(4))),
        protect_op(B + pg(2), B + pg(4), PROT_R)},
       {filemap(B, B + pg(6), PROT_R, 0, 0)}},
      {"protect of a prefix merges it into the previous VMA",
       {map_op(anon(B, B + pg(2), PROT_R)), map_op(anon(B + pg(2), B + pg(6), RX)),
        protect_op(B + pg(2), B + pg(3), PROT_R)},
       {anon(B, B + pg(3), PROT_R), anon(B + pg(3), B + pg(6), RX)}},
      // mprotect_fixup(): VM_ACCOUNT is only dropped for anonymous memory without an anon_vma,
      // so a private file mapping made read-only stays apart from a never-writable neighbour
      // (the second r--p line of ld.so's RELRO in /proc/PID/maps).
      {"a private file mapping made read-only keeps VM_ACCOUNT and stays apart",
       {map_op(filemap(B, B + pg(2), PROT_R, 0, 0)),
        map_op(filemap(B + pg(2), B + pg(6), RW, 0, pg(2))),
        protect_op(B + pg(2), B + pg(3), PROT_R)},
       {filemap(B, B + pg(2), PROT_R, 0, 0),
        [] {
          Vma v = filemap(B + pg(2), B + pg(3), PROT_R, 0, pg(2));
          v.accounted = true;
          return v;
        }(),
        filemap(B + pg(3), B + pg(6), RW, 0, pg(3))}},
      {"making private memory writable charges it (VM_ACCOUNT) and it merges with accounted rw-",
       {map_op(filemap(B, B + pg(2), RW, 1, 0)),
        map_op(filemap(B + pg(2), B + pg(4), PROT_R, 1, pg(2))),
        protect_op(B + pg(2), B + pg(4), RW)},
       {filemap(B, B + pg(4), RW, 1, 0)}},
      {"making shared memory writable does not charge it",
       {map_op(shared_anon(B, B + pg(2), RW)), map_op(shared_anon(B + pg(2), B + pg(4), PROT_R)),
        protect_op(B + pg(2), B + pg(4), RW)},
       {shared_anon(B, B + pg(4), RW)}},
      {"protect across two VMAs makes them one",
       {map_op(anon(B, B + pg(2), PROT_R)), map_op(anon(B + pg(2), B + pg(4), RX)),
        protect_op(B, B + pg(4), RW)},
       {anon(B, B + pg(4), RW)}},
      {"protect to the same prot is a no-op",
       {map_op(anon(B, B + pg(4), RW)), protect_op(B + pg(1), B + pg(2), RW)},
       {anon(B, B + pg(4), RW)}},
      // AddressSpace::protect() is all-or-nothing. The kernel's mprotect(2) changes the VMAs
      // before a hole and then fails (do_mprotect_pkey: "if (vma->vm_start != tmp) { error =
      // -ENOMEM; break; }"); sim/vm.cc VmOps::mprotect() builds that on top of this primitive
      // by protecting only up to the first hole.
      {"protect on a range with a hole fails and changes nothing",
       {map_op(anon(B, B + pg(2), RW)), map_op(anon(B + pg(3), B + pg(5), RW)),
        protect_op(B + pg(1), B + pg(4), PROT_R, /*ok=*/false),
        protect_op(B + pg(4), B + pg(6), PROT_R, /*ok=*/false),
        protect_op(B + pg(2), B + pg(4), PROT_R, /*ok=*/false),
        protect_op(B - pg(1), B + pg(1), PROT_R, /*ok=*/false),
        protect_op(B + pg(5), B + pg(7), PROT_R, /*ok=*/false)},
       {anon(B, B + pg(2), RW), anon(B + pg(3), B + pg(5), RW)}},
      {"protect does not merge Special or Stack VMAs",
       {map_op(anon(B, B + pg(1), PROT_R)), map_op(special(B + pg(1), B + pg(2), RX, "[vdso]")),
        map_op(stack(B + pg(2), B + pg(4))), map_op(anon(B + pg(4), B + pg(5), RW | PROT_X)),
        protect_op(B + pg(1), B + pg(2), PROT_R), protect_op(B + pg(2), B + pg(4), RW | PROT_X)},
       {anon(B, B + pg(1), PROT_R), special(B + pg(1), B + pg(2), PROT_R, "[vdso]"),
        with_prot(stack(B + pg(2), B + pg(4)), RW | PROT_X),
        anon(B + pg(4), B + pg(5), RW | PROT_X)}},
  };
}

std::vector<TableCase> expand_cases() {
  constexpr uint64_t S = 0x7ff00000;
  Vma grown = stack(S - pg(32), S + pg(4));
  grown.pgoff = S - pg(32);  // expand_downwards(): vm_pgoff -= grow
  return {
      {"expand_down moves the start and the pgoff down",
       {map_op(stack(S, S + pg(4))), expand_op(S, S - pg(32))},
       {grown}},
      {"expand_down refuses to overlap, to grow up, or a missing VMA",
       {map_op(anon(S - pg(8), S - pg(6), RW)), map_op(stack(S, S + pg(4))),
        expand_op(S, S - pg(7), /*ok=*/false), expand_op(S, S, /*ok=*/false),
        expand_op(S, S + pg(1), /*ok=*/false), expand_op(S + pg(1), S - pg(1), /*ok=*/false)},
       {anon(S - pg(8), S - pg(6), RW), stack(S, S + pg(4))}},
  };
}

void run_cases(const std::vector<TableCase>& cases) {
  for (const auto& tc : cases) {
    SECTION(tc.name) { run_case(tc); }
  }
}

TEST_CASE("AddressSpace: merge rules", "[address_space]") { run_cases(merge_cases()); }
TEST_CASE("AddressSpace: unmap splits", "[address_space]") { run_cases(unmap_cases()); }
TEST_CASE("AddressSpace: MAP_FIXED replaces", "[address_space]") { run_cases(map_fixed_cases()); }
TEST_CASE("AddressSpace: protect split and re-merge", "[address_space]") {
  run_cases(protect_cases());
}
TEST_CASE("AddressSpace: expand_down", "[address_space]") { run_cases(expand_cases()); }

// expand_downwards() (mm/mmap.c, 6.18) refuses with -EFAULT when the VMA lacks VM_GROWSDOWN,
// and with -ENOMEM when an accessible non-growsdown prev ends within stack_guard_gap of the
// new start: "if (!(prev->vm_flags & VM_GROWSDOWN) && vma_is_accessible(prev) &&
// (address - prev->vm_end < stack_guard_gap)) return -ENOMEM;".
TEST_CASE("AddressSpace: expand_down honours expand_downwards() refusals",
          "[address_space]") {
  constexpr uint64_t S = 0x7ff00000;
  SECTION("guard gap to an accessible prev") {
    AddressSpace as;
    as.map(anon(S - kGuardGap - pg(4), S - kGuardGap, RW));
    as.map(stack(S, S + pg(4)));
    // Growing to S - pg(1) would leave only 1 MiB - 1 page above prev: ENOMEM in the kernel.
    CHECK_FALSE(as.expand_down(S, S - pg(1)));
    REQUIRE(as.check_invariants() == "");
  }
  SECTION("not a growsdown VMA") {
    AddressSpace as;
    as.map(anon(S, S + pg(4), RW));
    CHECK_FALSE(as.expand_down(S, S - pg(1)));
    REQUIRE(as.check_invariants() == "");
  }
}

// mprotect_fixup() (mm/mprotect.c, 6.18): "} else if ((oldflags & VM_ACCOUNT) &&
// vma_is_anonymous(vma) && !vma->anon_vma) { newflags &= ~VM_ACCOUNT; }". Anonymous memory
// that was never faulted (no anon_vma: nothing in a simulated exec touches it) is uncharged
// when it loses PROT_WRITE, and then merges with a never-writable neighbour.
TEST_CASE("AddressSpace: unfaulted anon memory made read-only drops VM_ACCOUNT and merges",
          "[address_space]") {
  AddressSpace as;
  as.map(anon(B, B + pg(2), PROT_R));      // not accounted
  as.map(anon(B + pg(2), B + pg(6), RW));  // accounted
  REQUIRE(as.protect(B + pg(2), B + pg(3), PROT_R));
  REQUIRE(as.check_invariants() == "");
  CHECK(describe_all(as) ==
        describe_all(std::vector<Vma>{anon(B, B + pg(3), PROT_R), anon(B + pg(3), B + pg(6), RW)}));
}

TEST_CASE("AddressSpace: find_vma / vma_at / intersects at boundaries", "[address_space]") {
  AddressSpace as;
  as.map(anon(B, B + pg(2), RW));
  as.map(anon(B + pg(4), B + pg(6), PROT_R));
  REQUIRE(as.check_invariants() == "");
  const Vma* first = as.vma_at(B);
  const Vma* second = as.vma_at(B + pg(4));
  REQUIRE(first != nullptr);
  REQUIRE(second != nullptr);
  CHECK(first->start == B);
  CHECK(second->start == B + pg(4));

  // find_vma(): the first VMA with vm_end > addr.
  CHECK(as.find_vma(0) == first);
  CHECK(as.find_vma(B - 1) == first);
  CHECK(as.find_vma(B) == first);
  CHECK(as.find_vma(B + pg(2) - 1) == first);
  CHECK(as.find_vma(B + pg(2)) == second);  // vm_end is exclusive
  CHECK(as.find_vma(B + pg(3)) == second);
  CHECK(as.find_vma(B + pg(6) - 1) == second);
  CHECK(as.find_vma(B + pg(6)) == nullptr);
  CHECK(as.find_vma(~uint64_t(0)) == nullptr);

  // vma_at(): containment only.
  CHECK(as.vma_at(B - 1) == nullptr);
  CHECK(as.vma_at(B + pg(2) - 1) == first);
  CHECK(as.vma_at(B + pg(2)) == nullptr);
  CHECK(as.vma_at(B + pg(4) - 1) == nullptr);
  CHECK(as.vma_at(B + pg(6) - 1) == second);
  CHECK(as.vma_at(B + pg(6)) == nullptr);

  CHECK_FALSE(as.intersects(B + pg(2), B + pg(4)));
  CHECK(as.intersects(B + pg(2), B + pg(4) + 1));
  CHECK(as.intersects(B + pg(2) - 1, B + pg(2)));
  CHECK_FALSE(as.intersects(0, B));
  CHECK_FALSE(as.intersects(B + pg(6), B + pg(100)));
  CHECK(as.intersects(0, ~uint64_t(0)));

  AddressSpace empty;
  CHECK(empty.find_vma(0) == nullptr);
  CHECK(empty.vma_at(B) == nullptr);
  CHECK_FALSE(empty.intersects(0, ~uint64_t(0)));
}

// ---- unmapped_area_topdown / unmapped_area ----------------------------------------------------

TEST_CASE("AddressSpace: unmapped_area_topdown", "[address_space]") {
  constexpr uint64_t low = 0x10000, high = 0x7ffff000;

  SECTION("empty space: high - len") {
    AddressSpace as;
    CHECK(as.unmapped_area_topdown(pg(3), low, high) == high - pg(3));
    CHECK(as.unmapped_area_topdown(high - low, low, high) == low);  // exactly fits
    CHECK(as.unmapped_area_topdown(high - low + kPage, low, high) == std::nullopt);
  }
  SECTION("skips an occupied top") {
    AddressSpace as;
    as.map(anon(high - pg(16), high, RW));
    CHECK(as.unmapped_area_topdown(pg(3), low, high) == high - pg(16) - pg(3));
  }
  SECTION("a VMA straddling high leaves no hole above it") {
    AddressSpace as;
    as.map(anon(high - pg(4), high + pg(4), RW));
    CHECK(as.unmapped_area_topdown(pg(1), low, high) == high - pg(4) - pg(1));
  }
  SECTION("a hole too small at the top: goes lower; an exact fit is taken") {
    AddressSpace as;
    as.map(anon(high - pg(16), high, RW));
    as.map(anon(high - pg(32), high - pg(18), PROT_R));  // 2-page hole in between
    CHECK(as.unmapped_area_topdown(pg(3), low, high) == high - pg(32) - pg(3));
    CHECK(as.unmapped_area_topdown(pg(2), low, high) == high - pg(18));
  }
  SECTION("honours align_mask and align_offset") {
    AddressSpace as;
    constexpr uint64_t mask = 0x200000 - kPage;  // PMD alignment, as thp_get_unmapped_area
    // gap = high - len = 0x7fffc000; gap -= (gap - 0) & mask.
    CHECK(as.unmapped_area_topdown(pg(3), low, high, mask, 0) == 0x7fe00000);
    // (0x7fffc000 - 0x5000) & mask = 0x1f7000.
    CHECK(as.unmapped_area_topdown(pg(3), low, high, mask, 0x5000) == 0x7fe05000);
    // The search length is len + align_mask: a hole of only len (already aligned) is skipped.
    as.map(anon(0x7fe00000 + pg(3), high, RW));
    as.map(anon(0x7f000000, 0x7fe00000, RW));
    auto a = as.unmapped_area_topdown(pg(3), low, high, mask, 0);
    REQUIRE(a.has_value());
    CHECK(*a == 0x7ee00000);
    // len + align_mask overflowing is ENOMEM.
    CHECK(as.unmapped_area_topdown(pg(1), 0, ~uint64_t(0), ~uint64_t(0) - 100, 0) == std::nullopt);
  }
  SECTION("respects the stack guard gap below a Stack VMA") {
    AddressSpace as;
    constexpr uint64_t S = 0x7ff00000;
    as.map(stack(S, S + pg(33)));
    // Above the stack nothing changes.
    CHECK(as.unmapped_area_topdown(pg(1), low, high) == high - pg(1));
    // Directly below it: vm_start_gap(stack) = S - 1 MiB < gap_end, so retry below the gap.
    CHECK(as.unmapped_area_topdown(pg(1), low, S) == S - kGuardGap - pg(1));
    // A high limit inside the guard gap is also pushed below it.
    CHECK(as.unmapped_area_topdown(pg(4), low, S - kGuardGap / 2) == S - kGuardGap - pg(4));
    // A high limit exactly at the gap start is already fine.
    CHECK(as.unmapped_area_topdown(pg(4), low, S - kGuardGap) == S - kGuardGap - pg(4));
    // A VMA inside the area below the gap: the search continues under it.
    as.map(anon(S - kGuardGap - pg(2), S - kGuardGap, RW));
    CHECK(as.unmapped_area_topdown(pg(1), low, S) == S - kGuardGap - pg(3));
  }
  SECTION("an ordinary VMA claims no guard gap") {
    AddressSpace as;
    constexpr uint64_t S = 0x7ff00000;
    as.map(anon(S, S + pg(33), RW));
    CHECK(as.unmapped_area_topdown(pg(1), low, S) == S - pg(1));
  }
  SECTION("the guard gap can push the search out of the window") {
    AddressSpace as;
    constexpr uint64_t S = 0x10000000;
    as.map(stack(S, S + pg(4)));
    CHECK(as.unmapped_area_topdown(pg(1), S - kGuardGap / 2, S) == std::nullopt);
  }
  SECTION("nullopt when nothing fits") {
    AddressSpace as;
    as.map(anon(low, low + pg(4), RW));
    as.map(anon(low + pg(5), low + pg(16), PROT_R));
    CHECK(as.unmapped_area_topdown(pg(2), low, low + pg(16)) == std::nullopt);
    CHECK(as.unmapped_area_topdown(pg(1), low, low + pg(16)) == low + pg(4));
    // The hole is clipped at low (maple tree fix "mas_empty_area_rev() lower bound validation").
    AddressSpace empty;
    CHECK(empty.unmapped_area_topdown(pg(5), low + pg(12), low + pg(16)) == std::nullopt);
    CHECK(empty.unmapped_area_topdown(pg(4), low + pg(12), low + pg(16)) == low + pg(12));
  }
}

TEST_CASE("AddressSpace: unmapped_area_bottomup", "[address_space]") {
  constexpr uint64_t low = 0x10000, high = 0x7ffff000;
  SECTION("basic") {
    AddressSpace as;
    CHECK(as.unmapped_area_bottomup(pg(3), low, high) == low);
    as.map(anon(low, low + pg(2), RW));
    CHECK(as.unmapped_area_bottomup(pg(3), low, high) == low + pg(2));
    as.map(anon(low + pg(3), low + pg(5), RW));  // 1-page hole at low + pg(2)
    CHECK(as.unmapped_area_bottomup(pg(1), low, high) == low + pg(2));
    CHECK(as.unmapped_area_bottomup(pg(3), low, high) == low + pg(5));
    CHECK(as.unmapped_area_bottomup(pg(3), low, low + pg(7)) == std::nullopt);
    CHECK(as.unmapped_area_bottomup(pg(2), low, low + pg(7)) == low + pg(5));
  }
  SECTION("alignment") {
    AddressSpace as;
    as.map(anon(low, low + pg(1), RW));
    // gap = 0x11000; gap += (0 - gap) & 0xf000 = 0x20000.
    CHECK(as.unmapped_area_bottomup(pg(1), low, high, 0xf000, 0) == 0x20000);
    CHECK(as.unmapped_area_bottomup(pg(1), low, high, 0xf000, 0x3000) == 0x13000);
  }
  SECTION("stack guard gap") {
    AddressSpace as;
    constexpr uint64_t S = 0x200000;
    as.map(stack(S, S + pg(16)));
    // [low, low + len) ends far below vm_start_gap = S - 1 MiB.
    CHECK(as.unmapped_area_bottomup(pg(1), low, high) == low);
    // Starting inside the guard gap: retry above the stack.
    CHECK(as.unmapped_area_bottomup(pg(1), S - kGuardGap / 2, high) == S + pg(16));
  }
}

// ---- Randomized comparison against a per-page model -------------------------------------------

struct PageModel {
  bool mapped = false;
  uint32_t prot = 0;
  bool shared = false;
  bool accounted = false;
  Vma::Kind kind = Vma::Kind::Anon;
  int file = -1;
  uint64_t pgoff = 0;  // this page's own file offset (anonymous: its address)
};

// Adjacent pages the kernel would keep in one VMA (is_mergeable_vma + can_vma_merge_after),
// written independently of AddressSpace::mergeable.
bool pages_join(const PageModel& a, const PageModel& b) {
  return a.mapped && b.mapped && a.prot == b.prot && a.shared == b.shared &&
         a.accounted == b.accounted && a.kind == b.kind && a.file == b.file &&
         a.pgoff + kPage == b.pgoff;
}

TEST_CASE("AddressSpace: 20000 random ops agree with a per-page model", "[address_space][random]") {
  constexpr uint64_t kBase = 0x400000;
  constexpr uint64_t kPages = 64;
  std::mt19937_64 rng(0x5eed'e8ec'4a7fULL);
  auto uni = [&](uint64_t lo, uint64_t hi) {  // inclusive
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
  };

  AddressSpace as;
  std::vector<PageModel> model(kPages);
  size_t maps = 0, unmaps = 0, protects = 0, refused = 0, max_vmas = 0;

  for (int step = 0; step < 20000; ++step) {
    uint64_t first = uni(0, kPages - 1);
    uint64_t npages = uni(1, std::min<uint64_t>(12, kPages - first));
    uint64_t start = kBase + first * kPage, end = start + npages * kPage;
    uint64_t which = uni(0, 9);
    INFO("step " << step << " op " << which << " [" << std::hex << start << ", " << end << ")");

    if (which < 5) {
      Vma v;
      v.start = start;
      v.end = end;
      v.prot = static_cast<uint32_t>(uni(0, 7));
      v.shared = uni(0, 7) == 0;
      v.accounted = accountable(v.prot, v.shared);
      v.file = static_cast<int>(uni(0, 2)) - 1;
      if (v.file < 0) {
        v.kind = Vma::Kind::Anon;
        v.pgoff = start;
      } else {
        // Mostly the linear offset (so merges happen), sometimes a displaced one.
        static constexpr uint64_t kShift[] = {0, 0, 0, pg(1), pg(100)};
        v.kind = Vma::Kind::File;
        v.pgoff = (start - kBase) + kShift[uni(0, 4)];
      }
      as.map(v);
      for (uint64_t i = 0; i < npages; ++i) {
        model[first + i] =
            PageModel{true, v.prot, v.shared, v.accounted, v.kind, v.file, v.pgoff + i * kPage};
      }
      ++maps;
    } else if (which < 7) {
      as.unmap(start, end);
      for (uint64_t i = 0; i < npages; ++i) model[first + i] = PageModel{};
      ++unmaps;
    } else {
      uint32_t prot = static_cast<uint32_t>(uni(0, 7));
      bool all_mapped = true;
      for (uint64_t i = 0; i < npages; ++i) all_mapped = all_mapped && model[first + i].mapped;
      bool ok = as.protect(start, end, prot);
      REQUIRE(ok == all_mapped);
      if (ok) {
        for (uint64_t i = 0; i < npages; ++i) {
          PageModel& m = model[first + i];
          // mprotect_fixup(): private memory made writable is charged (VM_ACCOUNT); unfaulted
          // anonymous memory (no anon_vma: the simulation assumes nothing was written) gives
          // the charge back when it loses PROT_WRITE.
          if ((prot & PROT_W) && !m.shared) m.accounted = true;
          else if (!(prot & PROT_W) && m.kind == Vma::Kind::Anon) m.accounted = false;
          m.prot = prot;
        }
      } else {
        ++refused;
      }
      ++protects;
    }

    REQUIRE(as.check_invariants() == "");

    // Every page agrees with the model.
    for (uint64_t i = 0; i < kPages; ++i) {
      uint64_t addr = kBase + i * kPage;
      const PageModel& m = model[i];
      const Vma* v = as.vma_at(addr);
      INFO("page " << std::hex << addr);
      REQUIRE((v != nullptr) == m.mapped);
      if (!v) continue;
      REQUIRE(v->prot == m.prot);
      REQUIRE(v->shared == m.shared);
      REQUIRE(v->accounted == m.accounted);
      REQUIRE(v->kind == m.kind);
      REQUIRE(v->file == m.file);
      REQUIRE(v->pgoff + (addr - v->start) == m.pgoff);
    }
    // Nothing outside the window, and VMAs are exactly the maximal runs of joinable pages.
    size_t runs = 0;
    for (uint64_t i = 0; i < kPages; ++i) {
      if (model[i].mapped && (i == 0 || !pages_join(model[i - 1], model[i]))) ++runs;
    }
    REQUIRE(as.count() == runs);
    if (as.count()) {
      REQUIRE(as.vmas().begin()->second.start >= kBase);
      REQUIRE(as.vmas().rbegin()->second.end <= kBase + kPages * kPage);
    }
    max_vmas = std::max(max_vmas, as.count());
  }
  // The walk exercised every operation, including refused protects and many-VMA states.
  CHECK(maps > 1000);
  CHECK(unmaps > 1000);
  CHECK(protects > 1000);
  CHECK(refused > 100);
  CHECK(max_vmas > 10);
}

}  // namespace
