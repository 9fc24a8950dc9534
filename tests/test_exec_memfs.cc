// Exec verdicts on synthetic files in memory: the kernel's checks, in the kernel's order, give
// the kernel's errno (fs/binfmt_elf.c load_elf_binary, load_elf_phdrs; fs/exec.c). The same
// verdicts are checked against the live kernel by the differential test.
#include <catch2/catch.hpp>

#include "memfs.h"
#include "sim/exec.h"

using namespace execmap;
using execmap::testing::ElfSpec;

namespace {

sim::ExecResult run(const std::vector<uint8_t>& exe, testing::MemFs fs = {},
                    std::vector<std::string> argv = {"/t"}) {
  fs.add("/t", exe);
  sim::ExecRequest req;
  req.filename = "/t";
  req.argv = std::move(argv);
  req.envp = {"A=1"};
  req.profile = sim::default_profile();
  return sim::simulate_exec(req, fs);
}

void expect_errno(const sim::ExecResult& r, int err, const std::string& check_part) {
  INFO(r.error.message << " [" << r.error.check << "]");
  REQUIRE(r.error.kind == sim::ExecError::Kind::Errno);
  CHECK(r.error.err == err);
  CHECK(r.error.check.find(check_part) != std::string::npos);
}

void expect_kill(const sim::ExecResult& r, const std::string& check_part) {
  INFO(r.error.message << " [" << r.error.check << "]");
  REQUIRE(r.error.kind == sim::ExecError::Kind::Signal);
  CHECK(r.error.name == "SIGSEGV");
  CHECK(r.error.check.find(check_part) != std::string::npos);
}

}  // namespace

TEST_CASE("a well-formed static ET_EXEC maps and keeps the invariants", "[exec]") {
  auto r = run(testing::build_elf(testing::tiny_static_spec()));
  REQUIRE(r.ok());
  CHECK(r.mm_vmas.check_invariants().empty());
  CHECK(r.entry == 0x401000);
  CHECK(r.rip == r.entry);
  CHECK(!r.interp_base);
  CHECK(r.stack.sp % 16 == 0);
  // AT_PHDR: e_phoff inside the first PT_LOAD, which maps file offset 0 at 0x400000.
  CHECK(r.phdr_addr == 0x400040);
  // elf_brk = 0x401000 + 0x3000, page aligned; no [heap] VMA exists at exec time.
  CHECK(r.mm.start_brk == 0x404000);
  for (const auto& [s, v] : r.mm_vmas.vmas()) CHECK(sim::vma_name(r, v) != "[heap]");
}

TEST_CASE("header checks give ENOEXEC in the kernel's order", "[exec][hostile]") {
  SECTION("bad magic") {
    auto b = testing::build_elf(testing::tiny_static_spec());
    b[1] = 'X';
    expect_errno(run(b), ENOEXEC, "search_binary_handler");
  }
  SECTION("ET_REL") {
    auto s = testing::tiny_static_spec();
    s.e_type = 1;
    expect_errno(run(testing::build_elf(s)), ENOEXEC, "load_elf_binary");
  }
  SECTION("i386 machine in an ELF64 layout") {
    // The compat loader reads any EM_386 file as ELF32, whatever EI_CLASS says: the ELF64
    // header's bytes 42-43 (inside e_shoff) are its e_phentsize, 0 here.
    auto s = testing::tiny_static_spec();
    s.e_machine = 3;
    auto r = run(testing::build_elf(s));
    expect_errno(r, ENOEXEC, "load_elf_phdrs");
    CHECK(r.error.message == "e_phentsize is 0, the kernel requires 32");
  }
  SECTION("i386 machine on a kernel without ia32 emulation") {
    auto s = testing::tiny_static_spec();
    s.e_machine = 3;
    testing::MemFs fs2;
    fs2.add("/t", testing::build_elf(s));
    sim::ExecRequest req;
    req.filename = "/t";
    req.argv = {"/t"};
    req.profile = sim::default_profile();
    req.profile.ia32.enabled = false;
    expect_errno(sim::simulate_exec(req, fs2), ENOEXEC, "compat_elf_check_arch");
  }
  SECTION("another machine") {
    auto s = testing::tiny_static_spec();
    s.e_machine = 183;  // EM_AARCH64
    expect_errno(run(testing::build_elf(s)), ENOEXEC, "elf_check_arch");
  }
  SECTION("e_phentsize 48") {
    auto s = testing::tiny_static_spec();
    s.e_phentsize = 48;
    auto r = run(testing::build_elf(s));
    expect_errno(r, ENOEXEC, "load_elf_phdrs");
    CHECK(r.error.message == "e_phentsize is 48, the kernel requires 56");
  }
  SECTION("e_phnum 0") {
    auto s = testing::tiny_static_spec();
    s.e_phnum = 0;
    expect_errno(run(testing::build_elf(s)), ENOEXEC, "load_elf_phdrs");
  }
  SECTION("e_phnum 65535") {
    auto s = testing::tiny_static_spec();
    s.e_phnum = 65535;
    expect_errno(run(testing::build_elf(s)), ENOEXEC, "load_elf_phdrs");
  }
  SECTION("program headers past the end of the file") {
    auto s = testing::tiny_static_spec();
    s.e_phoff = 0x1f80;
    auto b = testing::build_elf(s);
    b.resize(0x1fa0);  // the table needs 168 bytes from 0x1f80
    expect_errno(run(b), ENOEXEC, "load_elf_phdrs");
  }
  SECTION("e_phoff near 2^64") {
    auto s = testing::tiny_static_spec();
    s.e_phoff = ~uint64_t(0) - 8;
    auto b = testing::build_elf(s);
    expect_errno(run(b), ENOEXEC, "load_elf_phdrs");
  }
  SECTION("a short file is read as zero-padded, so it fails the magic") {
    expect_errno(run({0x7f, 'E', 'L'}), ENOEXEC, "search_binary_handler");
  }
}

TEST_CASE("PT_INTERP problems give the kernel's errno", "[exec][hostile]") {
  auto with_interp = [](uint64_t filesz, std::string bytes) {
    auto s = testing::tiny_static_spec();
    s.phdrs.insert(s.phdrs.begin(), {3, 4, 0x800, 0x400800, filesz, filesz, 1});
    s.blobs.push_back({0x800, bytes});
    return s;
  };
  SECTION("size 1") { expect_errno(run(testing::build_elf(with_interp(1, std::string("\0", 1)))), ENOEXEC, "PT_INTERP"); }
  SECTION("size above PATH_MAX") { expect_errno(run(testing::build_elf(with_interp(4097, ""))), ENOEXEC, "PT_INTERP"); }
  SECTION("no terminating NUL") { expect_errno(run(testing::build_elf(with_interp(4, "/abc"))), ENOEXEC, "PT_INTERP"); }
  SECTION("string past the end of the file") {
    auto s = with_interp(16, "");
    s.phdrs[0].offset = 0x10000;
    expect_errno(run(testing::build_elf(s)), EIO, "PT_INTERP");
  }
  SECTION("interpreter missing") {
    expect_errno(run(testing::build_elf(with_interp(5, std::string("/ld\0", 4) + std::string(1, '\0')))), ENOENT, "open_exec");
  }
  SECTION("interpreter not ELF") {
    testing::MemFs fs;
    fs.add("/ld", std::vector<uint8_t>(128, 'x'));
    expect_errno(run(testing::build_elf(with_interp(4, std::string("/ld\0", 4))), fs), ELIBBAD, "interpreter");
  }
  SECTION("interpreter shorter than an ELF header") {
    testing::MemFs fs;
    fs.add("/ld", std::vector<uint8_t>(10, 'x'));
    expect_errno(run(testing::build_elf(with_interp(4, std::string("/ld\0", 4))), fs), EIO, "interpreter header");
  }
  SECTION("interpreter for another architecture") {
    testing::MemFs fs;
    auto is = testing::tiny_static_spec();
    is.e_machine = 3;
    fs.add("/ld", testing::build_elf(is));
    expect_errno(run(testing::build_elf(with_interp(4, std::string("/ld\0", 4))), fs), ELIBBAD, "elf_check_arch");
  }
  SECTION("interpreter is a directory") {
    testing::MemFs fs;
    fs.fail("/ld", EACCES);
    expect_errno(run(testing::build_elf(with_interp(4, std::string("/ld\0", 4))), fs), EACCES, "open_exec");
  }
}

TEST_CASE("failures after the point of no return kill the task", "[exec][hostile]") {
  SECTION("p_filesz > p_memsz") {
    auto s = testing::tiny_static_spec();
    s.phdrs[1].filesz = 0x4000;
    expect_kill(run(testing::build_elf(s)), "segment bounds");
  }
  SECTION("a segment past TASK_SIZE") {
    auto s = testing::tiny_static_spec();
    s.phdrs[1].vaddr = 0x7ffffffff000;
    s.phdrs[1].offset = 0x1000;
    expect_kill(run(testing::build_elf(s)), "");
  }
  SECTION("p_offset and p_vaddr not congruent") {
    auto s = testing::tiny_static_spec();
    s.phdrs[1].offset = 0x1010;
    expect_kill(run(testing::build_elf(s)), "elf_load");
  }
  SECTION("ET_EXEC colliding with the stack") {
    auto s = testing::tiny_static_spec();
    s.phdrs[0].vaddr = 0x7fffffff0000;
    expect_kill(run(testing::build_elf(s)), "MAP_FIXED_NOREPLACE");
  }
  SECTION("ET_DYN whose PT_LOADs span nothing") {
    auto s = testing::tiny_static_spec();
    s.e_type = 3;
    s.phdrs = {{1, 5, 0, 0, 0, 0, 0x1000}};
    expect_kill(run(testing::build_elf(s)), "total_mapping_size");
  }
}

TEST_CASE("argument limits give E2BIG", "[exec]") {
  SECTION("one string longer than MAX_ARG_STRLEN") {
    auto r = run(testing::build_elf(testing::tiny_static_spec()), {}, {"/t", std::string(131072, 'a')});
    expect_errno(r, E2BIG, "valid_arg_len");
  }
  SECTION("strings beyond a quarter of the stack limit") {
    std::vector<std::string> argv{"/t"};
    for (int i = 0; i < 60; ++i) argv.push_back(std::string(100000, 'a'));
    expect_errno(run(testing::build_elf(testing::tiny_static_spec()), {}, argv), E2BIG, "copy_strings");
  }
  SECTION("argc 0 gains an empty argv[0]") {
    auto r = run(testing::build_elf(testing::tiny_static_spec()), {}, {});
    REQUIRE(r.ok());
    CHECK(r.stack.argc == 1);
    CHECK(r.stack.argv.at(0).empty());
  }
}

namespace {
std::vector<uint8_t> bytes(const std::string& text) { return {text.begin(), text.end()}; }
}  // namespace

TEST_CASE("a #! script runs its interpreter with argv rewritten (binfmt_script)", "[exec]") {
  testing::MemFs fs;
  fs.add("/bin/i", testing::build_elf(testing::tiny_static_spec()));
  SECTION("with an argument") {
    auto r = run(bytes("#! /bin/i  -e -x \t\necho hi\n"), fs, {"name", "a1"});
    REQUIRE(r.ok());
    REQUIRE(r.scripts.size() == 1);
    CHECK(r.scripts[0].interpreter == "/bin/i");
    CHECK(r.scripts[0].argument == "-e -x");  // the rest of the line, trailing blanks trimmed
    CHECK(r.stack.argv == std::vector<std::string>{"/bin/i", "-e -x", "/t", "a1"});
    // AT_EXECFN is still the script path given to execve().
    CHECK(r.stack.execfn != 0);
  }
  SECTION("without one") {
    auto r = run(bytes("#!/bin/i\n"), fs, {"name"});
    REQUIRE(r.ok());
    CHECK(r.stack.argv == std::vector<std::string>{"/bin/i", "/t"});
  }
  SECTION("CRLF: the carriage return is part of the name") {
    expect_errno(run(bytes("#!/bin/i\r\n"), fs), ENOENT, "load_script: open_exec");
  }
  SECTION("a missing interpreter is ENOENT") {
    expect_errno(run(bytes("#!/bin/nope\n"), fs), ENOENT, "load_script: open_exec");
  }
  SECTION("no interpreter name is ENOEXEC") {
    expect_errno(run(bytes("#!  \t \n"), fs), ENOEXEC, "load_script");
  }
  SECTION("a name that does not end within 256 bytes is ENOEXEC") {
    expect_errno(run(bytes("#!/" + std::string(300, 'a'))), ENOEXEC, "load_script");
  }
  SECTION("a long line keeps the first 253 bytes after the name as its argument") {
    auto r = run(bytes("#!/bin/i " + std::string(300, 'x') + "\n"), fs);
    REQUIRE(r.ok());
    CHECK(r.scripts[0].argument == std::string(255 - 9, 'x'));
  }
  SECTION("nesting: 5 scripts run, a 6th is ELOOP") {
    for (int i = 1; i <= 6; ++i)
      fs.add("/s" + std::to_string(i),
             bytes(i == 1 ? "#!/bin/i\n" : "#!/s" + std::to_string(i - 1) + "\n"));
    auto r5 = run(bytes("#!/s4\n"), fs);  // /t -> s4 -> s3 -> s2 -> s1 -> /bin/i
    REQUIRE(r5.ok());
    CHECK(r5.scripts.size() == 5);
    CHECK(r5.stack.argv == std::vector<std::string>{"/bin/i", "/s1", "/s2", "/s3", "/s4", "/t"});
    expect_errno(run(bytes("#!/s5\n"), fs), ELOOP, "exec_binprm");
  }
}

TEST_CASE("a bss below mmap_min_addr needs CAP_SYS_RAWIO (security_mmap_addr)", "[exec][hostile]") {
  // A p_filesz-0 PT_LOAD at 0x1000: elf_load() hands it to vm_brk_flags(), whose
  // check_brk_limits() -> __get_unmapped_area() -> cap_mmap_addr() refuses an address below
  // mmap_min_addr (65536) without CAP_SYS_RAWIO: EPERM after the point of no return.
  auto s = testing::tiny_static_spec();
  s.phdrs.push_back({1, 6, 0, 0x1000, 0, 0x1000, 0x1000});
  testing::MemFs fs;
  fs.add("/t", testing::build_elf(s));
  sim::ExecRequest req;
  req.filename = "/t";
  req.argv = {"/t"};
  req.profile = sim::default_profile();
  SECTION("without CAP_SYS_RAWIO: killed") {
    auto r = sim::simulate_exec(req, fs);
    expect_kill(r, "elf_load");
    CHECK(r.error.message.find("EPERM") != std::string::npos);
  }
  SECTION("with CAP_SYS_RAWIO: the page is mapped") {
    req.host.cap_sys_rawio = 1;
    auto r = sim::simulate_exec(req, fs);
    REQUIRE(r.ok());
    const sim::Vma* v = r.mm_vmas.vma_at(0x1000);
    REQUIRE(v);
    CHECK(v->start == 0x1000);
  }
}
