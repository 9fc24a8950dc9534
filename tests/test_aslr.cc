// ASLR: layouts drawn with --aslr on stay inside the entropy model's ranges, keep the VMA
// invariants, and place the interpreter and vdso where the kernel does relative to mmap_base;
// the entropy model's counts follow the kernel's arithmetic; the hardening reader.
#include <catch2/catch.hpp>

#include <cstring>
#include <map>

#include "loader/elf_defs.h"
#include "loader/hardening.h"
#include "memfs.h"
#include "sim/aslr.h"
#include "sim/pipeline.h"

using namespace execmap;
using execmap::testing::ElfSpec;

namespace {

constexpr uint32_t PT_LOAD = 1, PT_INTERP = 3, PT_GNU_STACK = 0x6474e551;

// A small PIE with PT_INTERP "/ld.so" (R, RX, RW + bss), and the ld.so it names.
ElfSpec pie_spec(uint64_t align = 0x1000) {
  ElfSpec s;
  s.e_type = 3;
  // Segments one alignment unit apart, file offsets congruent to their vaddr mod a page.
  uint64_t gap = align > 0x1000 ? align : 0;
  s.e_entry = gap + 0x1000;
  s.phdrs = {{PT_INTERP, 4, 0x200, 0x200, 7, 7, 1},
             {PT_LOAD, 4, 0, 0, 0x1000, 0x1000, align},
             {PT_LOAD, 5, 0x1000, gap + 0x1000, 0x1000, 0x1000, align},
             {PT_LOAD, 6, 0x2000, 2 * gap + 0x2000, 0x100, 0x1800, align},
             {PT_GNU_STACK, 6, 0, 0, 0, 0, 16}};
  s.blobs = {{0x200, std::string("/ld.so\0", 7)}};
  s.size = 0x3000;
  return s;
}

ElfSpec ldso_spec() {
  ElfSpec s;
  s.e_type = 3;
  s.e_entry = 0x100;
  s.phdrs = {{PT_LOAD, 5, 0, 0, 0x3000, 0x3000, 0x1000},
             {PT_LOAD, 6, 0x3000, 0x3000, 0x100, 0x1000, 0x1000}};
  s.size = 0x3100;
  return s;
}

testing::MemFs pie_fs(uint64_t align = 0x1000) {
  testing::MemFs fs;
  fs.add("/pie", testing::build_elf(pie_spec(align)));
  fs.add("/ld.so", testing::build_elf(ldso_spec()));
  fs.add("/static", testing::build_elf(testing::tiny_static_spec()));
  return fs;
}

sim::ExecRequest request(const std::string& path, bool randomize, uint64_t seed = 0) {
  sim::ExecRequest req;
  req.filename = path;
  req.argv = {path, "arg"};
  req.envp = {"A=1"};
  req.profile = sim::default_profile();
  req.randomize = randomize;
  req.seed = seed;
  return req;
}

const sim::RegionEntropy& region(const sim::EntropyResult& m, const std::string& name) {
  for (const auto& r : m.regions)
    if (r.name == name) return r;
  FAIL("no region " << name);
  return m.regions.front();
}

std::map<std::string, uint64_t> values(const sim::ExecResult& r) {
  std::map<std::string, uint64_t> out;
  for (const auto& v : sim::region_values(r)) out[v.name] = v.value;
  return out;
}

// Lowest start and highest end of the mappings of objects[i] (file mappings and its bss).
std::pair<uint64_t, uint64_t> object_span(const sim::ExecResult& r, size_t i) {
  const auto& o = r.objects.at(i);
  uint64_t lo = ~uint64_t(0), hi = 0;
  for (const auto& [s, v] : r.mm_vmas.vmas()) {
    bool mine = v.kind == sim::Vma::Kind::File && v.file == o.file;
    for (const auto& ph : o.phdrs)
      if (ph.p_type == PT_LOAD && ph.p_memsz > ph.p_filesz && v.kind == sim::Vma::Kind::Anon &&
          v.start >= ((o.bias + ph.p_vaddr + ph.p_filesz) & ~uint64_t(0xfff)) &&
          v.end <= ((o.bias + ph.p_vaddr + ph.p_memsz + 0xfff) & ~uint64_t(0xfff)))
        mine = true;
    if (mine) lo = std::min(lo, v.start), hi = std::max(hi, v.end);
  }
  return {lo, hi};
}

void check_inside(const sim::ExecResult& r, const sim::EntropyResult& m) {
  for (const auto& [name, v] : values(r)) {
    const auto& re = region(m, name);
    INFO(name << " = 0x" << std::hex << v << " model [0x" << re.min << ", 0x" << re.max
              << "] align 0x" << re.align);
    CHECK(v >= re.min);
    CHECK(v <= re.max);
    CHECK((v - re.min) % re.align == 0);
  }
}

// The vdso block ([vvar] .. [vdso]) ends exactly where `next_start` begins.
void check_vdso_below(const sim::ExecResult& r, uint64_t next_start) {
  uint64_t block_start = 0, block_end = 0;
  for (const auto& [s, v] : r.mm_vmas.vmas())
    if (v.kind == sim::Vma::Kind::Special) {
      if (!block_start) block_start = v.start;
      block_end = v.end;
    }
  REQUIRE(block_start);
  CHECK(block_end - block_start == 0x8000);
  CHECK(block_end == next_start);
}

}  // namespace

TEST_CASE("20 seeded ASLR layouts of a PIE stay inside the entropy model", "[aslr]") {
  auto fs = pie_fs();
  sim::EntropyResult m = sim::entropy_model(request("/pie", true), sim::Pipeline(fs, nullptr));
  REQUIRE(m.ok());
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    sim::ExecResult r = sim::simulate_exec(request("/pie", true, seed), fs);
    REQUIRE(r.ok());
    CHECK(r.mm_vmas.check_invariants().empty());
    check_inside(r, m);
    // load_elf_interp() with no hint for a PIE: the interpreter ends at mmap_base, and
    // map_vdso()'s top-down search puts the vdso block directly below it.
    auto [ilo, ihi] = object_span(r, 1);
    CHECK(ihi == r.mm.mmap_base);
    check_vdso_below(r, ilo);
    CHECK(*r.interp_base == ilo);
    // The PIE bias is its own draw: ELF_ET_DYN_BASE plus up to 2^28 pages.
    CHECK(r.load_bias >= 0x555555554000);
    CHECK(r.load_bias < 0x555555554000 + (1ull << 40));
    // The initial sp is 16-byte aligned, below the stack top.
    CHECK(r.stack.sp % 16 == 0);
    CHECK(r.stack.sp < r.stack.end);
  }
}

TEST_CASE("the same seed gives the same layout; another seed another one", "[aslr]") {
  auto fs = pie_fs();
  auto a = sim::simulate_exec(request("/pie", true, 7), fs);
  auto b = sim::simulate_exec(request("/pie", true, 7), fs);
  auto c = sim::simulate_exec(request("/pie", true, 8), fs);
  REQUIRE(a.ok());
  CHECK(values(a) == values(b));
  CHECK(a.stack.image == b.stack.image);
  CHECK(values(a) != values(c));
}

TEST_CASE("entropy of a PIE follows the kernel's arithmetic", "[aslr]") {
  auto fs = pie_fs();
  sim::EntropyResult m = sim::entropy_model(request("/pie", true), sim::Pipeline(fs, nullptr));
  REQUIRE(m.ok());
  const auto& exe = region(m, "exe");
  // ELF_ET_DYN_BASE (0x555555554aaa) + arch_mmap_rnd(), page aligned.
  CHECK(exe.min == 0x555555554000);
  CHECK(exe.max == 0x555555554000 + ((1ull << 28) - 1) * 0x1000);
  CHECK(exe.count == (1ull << 28));
  CHECK(exe.bits == Approx(28.0));
  CHECK(exe.tied_to.empty());
  const auto& mb = region(m, "mmap_base");
  // mmap_base = PAGE_ALIGN(TASK_SIZE - gap - rnd), gap = 8 MiB + (16 GiB - 4 KiB) + 1 MiB.
  CHECK(mb.max == 0x7ffffffff000 - 0x800000 - (0x400000000 - 0x1000) - 0x100000);
  CHECK(mb.count == (1ull << 28));
  CHECK(region(m, "interp").tied_to == "mmap_base");
  CHECK(region(m, "vdso").tied_to == "interp");
  CHECK(region(m, "vdso").tie_offset == -0x2000);
  const auto& stack = region(m, "stack");
  // randomize_stack_top(): 0x3fffff pages; arch_align_stack() + PAGE_ALIGN: 0, 1 or 2 pages more.
  CHECK(stack.max == 0x7ffffffff000);
  CHECK(stack.min == 0x7ffffffff000 - 0x3fffff000 - 0x2000);
  CHECK(stack.count == (1ull << 22) + 2);
  const auto& sp = region(m, "sp");
  CHECK(sp.align == 16);
  CHECK(sp.count == (sp.max - sp.min) / 16 + 1);
  CHECK(sp.bits == Approx(30.0).margin(0.01));
  const auto& brk = region(m, "brk");
  // PIE bias (2^28 pages) plus randomize_page(brk + PAGE_SIZE, 1 GiB) (2^18 pages).
  CHECK(brk.count == (1ull << 28) + (1ull << 18) - 1);
  CHECK(brk.draws.size() == 2);
}

TEST_CASE("a 2 MiB-aligned PIE keeps 2 MiB alignment: 2^19 + 1 bias values", "[aslr]") {
  auto fs = pie_fs(0x200000);
  sim::EntropyResult m = sim::entropy_model(request("/pie", true), sim::Pipeline(fs, nullptr));
  REQUIRE(m.ok());
  const auto& exe = region(m, "exe");
  CHECK(exe.align == 0x200000);
  CHECK(exe.min == 0x555555400000);
  CHECK(exe.max == 0x565555400000);
  CHECK(exe.count == (1ull << 19) + 1);
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    sim::ExecResult r = sim::simulate_exec(request("/pie", true, seed), fs);
    REQUIRE(r.ok());
    CHECK(r.mm_vmas.check_invariants().empty());
    CHECK(r.load_bias % 0x200000 == 0);
    check_inside(r, m);
  }
}

TEST_CASE("a static ET_EXEC: exe fixed, vdso directly below mmap_base", "[aslr]") {
  auto fs = pie_fs();
  sim::EntropyResult m = sim::entropy_model(request("/static", true), sim::Pipeline(fs, nullptr));
  REQUIRE(m.ok());
  CHECK(region(m, "exe").count == 1);
  CHECK(region(m, "exe").bits == 0);
  CHECK(region(m, "vdso").tied_to == "mmap_base");
  // ET_EXEC brk: end of bss + PAGE_SIZE, then 2^18 pages.
  CHECK(region(m, "brk").min == 0x404000 + 0x1000);
  CHECK(region(m, "brk").count == (1ull << 18));
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    sim::ExecResult r = sim::simulate_exec(request("/static", true, seed), fs);
    REQUIRE(r.ok());
    CHECK(r.mm_vmas.check_invariants().empty());
    check_inside(r, m);
    check_vdso_below(r, r.mm.mmap_base);
  }
}

TEST_CASE("with ASLR off every region is fixed", "[aslr]") {
  auto fs = pie_fs();
  sim::EntropyResult m = sim::entropy_model(request("/pie", false), sim::Pipeline(fs, nullptr));
  REQUIRE(m.ok());
  for (const auto& r : m.regions) {
    INFO(r.name);
    CHECK(r.min == r.max);
    CHECK(r.count == 1);
    CHECK(r.bits == 0);
  }
  CHECK(region(m, "exe").min == 0x555555554000);
  CHECK(region(m, "mmap_base").min == 0x7ffff7fff000);
}

TEST_CASE("golden PIE and static programs: 20 seeds inside the model", "[aslr][golden]") {
  loader::HostFileSystem fs;
  for (const char* name : {"hello-pie", "hello-static"}) {
    std::string path = std::string(EXECMAP_GOLDEN_DIR) + "/bin/" + name;
    INFO(path);
    sim::EntropyResult m = sim::entropy_model(request(path, true), sim::Pipeline(fs, nullptr));
    REQUIRE(m.ok());
    for (uint64_t seed = 1; seed <= 20; ++seed) {
      INFO("seed " << seed);
      sim::ExecResult r = sim::simulate_exec(request(path, true, seed), fs);
      REQUIRE(r.ok());
      CHECK(r.mm_vmas.check_invariants().empty());
      check_inside(r, m);
      if (r.objects.size() == 2) {
        auto [ilo, ihi] = object_span(r, 1);
        CHECK(ihi == r.mm.mmap_base);
        check_vdso_below(r, ilo);
      } else {
        check_vdso_below(r, r.mm.mmap_base);
      }
    }
  }
}

TEST_CASE("hardening: PIE, RELRO, NX stack, separate code, IBT/SHSTK", "[diff]") {
  // A PIE with PT_GNU_RELRO, DT_FLAGS_1 = NOW and an x86 feature note (IBT | SHSTK).
  ElfSpec s = pie_spec();
  constexpr uint32_t PT_DYNAMIC = 2, PT_GNU_RELRO = 0x6474e552, PT_GNU_PROPERTY = 0x6474e553;
  s.phdrs.push_back({PT_GNU_RELRO, 4, 0x2000, 0x2000, 0x100, 0x100, 1});
  s.phdrs.push_back({PT_DYNAMIC, 6, 0x2400, 0x2400, 0x20, 0x20, 8});
  s.phdrs.push_back({PT_GNU_PROPERTY, 4, 0x300, 0x300, 0x20, 0x20, 8});
  std::string dyn(0x20, '\0');
  std::vector<uint8_t> d(0x20, 0);
  testing::put_le(d, 0, 0x6ffffffb, 8);  // DT_FLAGS_1
  testing::put_le(d, 8, 1, 8);           // DF_1_NOW
  std::memcpy(dyn.data(), d.data(), d.size());
  std::vector<uint8_t> n(0x20, 0);
  testing::put_le(n, 0, 4, 4);            // namesz
  testing::put_le(n, 4, 0x10, 4);         // descsz
  testing::put_le(n, 8, 5, 4);            // NT_GNU_PROPERTY_TYPE_0
  std::memcpy(n.data() + 12, "GNU", 4);
  testing::put_le(n, 16, 0xc0000002, 4);  // GNU_PROPERTY_X86_FEATURE_1_AND
  testing::put_le(n, 20, 4, 4);
  testing::put_le(n, 24, 3, 4);           // IBT | SHSTK
  s.blobs.push_back({0x2400, dyn});
  s.blobs.push_back({0x300, std::string(n.begin(), n.end())});
  testing::MemFs fs;
  fs.add("/hard", testing::build_elf(s));
  fs.add("/static", testing::build_elf(testing::tiny_static_spec()));
  auto f = fs.open_exec("/hard");
  loader::Hardening h;
  std::string why;
  REQUIRE(loader::read_hardening(*f.file, &h, &why));
  CHECK(h.pie);
  CHECK(h.has_interp);
  CHECK(h.relro == "full");
  CHECK(h.gnu_stack);
  CHECK(!(h.gnu_stack_flags & 1));
  // The RX segment maps file page 1 only; the headers and R data are in page 0.
  CHECK(h.separate_code);
  CHECK(h.ibt);
  CHECK(h.shstk);

  // tiny_static_spec: the RX segment maps file offset 0 (the ELF header): not separate.
  auto g = fs.open_exec("/static");
  loader::Hardening t;
  REQUIRE(loader::read_hardening(*g.file, &t, &why));
  CHECK(!t.pie);
  CHECK(t.relro == "none");
  CHECK(!t.separate_code);
  CHECK(!t.ibt);
}
