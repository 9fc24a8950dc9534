// The start stage's inputs that do not need a live process: ld.so's diagnostics parsing and
// the first minimal-malloc requests, whose sizes were read with gdb from the real ld.so
// (breakpoint on __minimal_malloc, Debian 2.36-9+deb12u14, an AMD EPYC: dl_platform x86_64,
// three glibc-hwcaps levels active).
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "live/rtld_probe.h"
#include "loader/exec_file.h"
#include "loader/lib_files.h"
#include "sim/rtld.h"
#include "sim/rtld_stack.h"

using namespace execmap;

namespace {

// The dl_* lines `ld.so --list-diagnostics` printed on that machine.
const char* kAmdDiagnostics =
    "dl_dst_lib=\"lib/x86_64-linux-gnu\"\n"
    "dl_hwcap=0x2\n"
    "dl_hwcap_important=0x6\n"
    "dl_hwcap2=0x2\n"
    "dl_hwcaps_subdirs=\"x86-64-v4:x86-64-v3:x86-64-v2\"\n"
    "dl_hwcaps_subdirs_active=0x7\n"
    "dl_pagesize=0x1000\n"
    "dl_platform=\"x86_64\"\n";

// Nothing can be opened: the resolver stops at the first DT_NEEDED, after dl_main's fixed
// allocations.
class NoFiles final : public loader::LibraryFiles {
 public:
  std::unique_ptr<loader::ExecFile> open_library(const std::string&, int* err) const override {
    *err = ENOENT;
    return nullptr;
  }
  bool read_whole(const std::string&, uint64_t, std::vector<uint8_t>*) const override {
    return false;
  }
};

}  // namespace

TEST_CASE("ld.so --list-diagnostics gives the hwcaps and platform", "[rtld]") {
  auto c = live::rtld_config_from_diagnostics(kAmdDiagnostics, sim::RtldConfig());
  REQUIRE(c);
  CHECK(c->platform == "x86_64");
  CHECK(c->legacy_hwcap_strings == std::vector<std::string>{"x86_64"});
  CHECK(c->glibc_hwcaps == std::vector<std::string>{"x86-64-v4", "x86-64-v3", "x86-64-v2"});
  CHECK(c->hwcap_masked == 2);

  // Bit i of dl_hwcaps_subdirs_active is the i-th name; legacy names follow the bits of
  // dl_hwcap & dl_hwcap_important (sysdeps/x86/dl-hwcap.h).
  std::string intel = kAmdDiagnostics;
  intel.replace(intel.find("dl_hwcap=0x2"), 12, "dl_hwcap=0x6");
  intel.replace(intel.find("active=0x7"), 10, "active=0x6");
  intel.replace(intel.find("\"x86_64\"\n"), 9, "\"haswell\"\n");
  c = live::rtld_config_from_diagnostics(intel, sim::RtldConfig());
  REQUIRE(c);
  CHECK(c->platform == "haswell");
  CHECK(c->legacy_hwcap_strings == std::vector<std::string>{"x86_64", "avx512_1"});
  CHECK(c->glibc_hwcaps == std::vector<std::string>{"x86-64-v3", "x86-64-v2"});

  CHECK_FALSE(live::rtld_config_from_diagnostics("dl_platform=\"x86_64\"\n", sim::RtldConfig()));
}

TEST_CASE("dl_main's first minimal-malloc requests match the real ld.so", "[rtld]") {
  auto cfg = live::rtld_config_from_diagnostics(kAmdDiagnostics, sim::RtldConfig());
  REQUIRE(cfg);
  int err = 0;
  std::unique_ptr<loader::ExecFile> exe =
      loader::open_host_file(std::string(EXECMAP_GOLDEN_DIR) + "/bin/hello-pie", &err);
  REQUIRE(exe);
  sim::RtldRequest rq;
  rq.exe_path = "/golden/hello-pie";
  rq.config = *cfg;
  NoFiles none;
  sim::RtldResult res = sim::resolve_libraries(rq, *exe, nullptr, none);
  CHECK_FALSE(res.ok);  // libc.so.6 cannot be found here
  std::vector<uint64_t> sizes;
  for (const sim::RtldEvent& e : res.events)
    if (e.kind == sim::RtldEvent::Kind::Malloc) sizes.push_back(e.size);
  // gdb on /usr/bin/ls (no RPATH, no LD_LIBRARY_PATH): the main and vDSO link maps, the
  // hwcaps priorities and strings, the system search directories and their elements.
  REQUIRE(sizes.size() >= 6);
  CHECK(std::vector<uint64_t>(sizes.begin(), sizes.begin() + 6) ==
        std::vector<uint64_t>{1481, 1481, 48, 274, 40, 480});
}

namespace {

// A resolution with the main program, then the objects given (name, e_phnum, e_phoff, file
// size, via) in load order, each appended to the search list as _dl_map_object_deps does.
sim::RtldResult stack_case(
    const std::vector<std::tuple<std::string, uint16_t, uint64_t, uint64_t, sim::FoundVia>>& objs) {
  sim::RtldResult r;
  sim::RtldObject m;
  m.via = sim::FoundVia::Main;
  r.objects.push_back(m);
  r.searchlist.push_back(0);
  for (const auto& [name, phnum, phoff, size, via] : objs) {
    sim::RtldObject o;
    o.libname = name;
    o.via = via;
    o.dyn.ehdr.e_phnum = phnum;
    o.dyn.ehdr.e_phoff = phoff;
    o.file_size = size;
    r.searchlist.push_back(int(r.objects.size()));
    r.objects.push_back(o);
  }
  return r;
}

}  // namespace

// The depths live.ldso_stack measured with stack_depth_probe on Debian 12's ld.so:
// /bin/true 5608 (libc.so.6: 14 headers at offset 64, past the 832-byte buffer), python3
// 5704 (libc after three other objects), a 6-header library found by DT_RUNPATH 4360, with
// its headers appended at the end of the file 4712, a program without DT_NEEDED 2536, and
// /bin/true with a 2903-byte LD_LIBRARY_PATH 7064.
TEST_CASE("ld.so's stack depth before the entry point", "[rtld][stack]") {
  sim::RtldConfig cfg;
  using V = sim::FoundVia;
  auto depth = [&](const sim::RtldResult& r, std::optional<std::string> llp = std::nullopt,
                   bool secure = false) {
    std::optional<sim::LdsoStack> s = sim::rtld_stack_depth(r, cfg, llp, secure);
    REQUIRE(s);
    return *s;
  };
  sim::LdsoStack bare = depth(stack_case({}));
  CHECK(bare.depth == 2536);
  CHECK(bare.where == "dl_main");
  CHECK(depth(stack_case({{"libc.so.6", 14, 64, 2000000, V::LdSoCache}})).depth == 5608);
  sim::LdsoStack py = depth(stack_case({{"libm.so.6", 10, 64, 900000, V::LdSoCache},
                                        {"libz.so.1", 10, 64, 120000, V::LdSoCache},
                                        {"libexpat.so.1", 10, 64, 200000, V::LdSoCache},
                                        {"libc.so.6", 14, 64, 2000000, V::LdSoCache}}));
  CHECK(py.depth == 5704);
  CHECK(py.where == "mapping libc.so.6 (_dl_map_object_from_fd)");
  CHECK(py.lower_bound_because.empty());
  CHECK(depth(stack_case({{"libe.so", 6, 64, 14000, V::RunPath}})).depth == 4360);
  CHECK(depth(stack_case({{"libe.so", 6, 14000, 14336, V::RunPath}})).depth == 4712);
  // A file shorter than the buffer: open_verify() read only what there was.
  CHECK(depth(stack_case({{"libe.so", 6, 64, 300, V::RunPath}})).depth == 4712);
  sim::RtldResult t = stack_case({{"libc.so.6", 14, 64, 2000000, V::LdSoCache}});
  // A 2903-byte LD_LIBRARY_PATH directory tried before the cache (max_dirnamelen 2904): the
  // first lookup's open_path buffer; a bound, since later lookups are not measured.
  sim::RtldResult llp = t;
  llp.objects[1].open_path_dirnamelen = 2904;
  std::string dir = "/" + std::string(2902, 'A');
  CHECK(depth(llp, dir).depth == 7064);
  CHECK(depth(llp, dir).where == "searching for libc.so.6 (open_path)");
  CHECK_FALSE(depth(llp, dir).lower_bound_because.empty());
  CHECK(depth(t, dir, /*secure=*/true).lower_bound_because.empty());  // AT_SECURE drops it
  CHECK(depth(t, std::string("")).depth == 5608);
  // A DT_RUNPATH directory of 256 bytes: exact for the first lookup (measured 4408).
  sim::RtldResult rp = stack_case({{"libe.so", 6, 64, 14000, V::RunPath}});
  rp.objects[1].open_path_dirnamelen = 257;
  CHECK(depth(rp).depth == 4408);
  CHECK(depth(rp).lower_bound_because.empty());
  // A later lookup through the same long directory may go deeper: a bound.
  sim::RtldResult rp2 = stack_case({{"libc.so.6", 14, 64, 2000000, V::LdSoCache},
                                    {"libe.so", 6, 64, 14000, V::RunPath}});
  rp2.objects[2].open_path_dirnamelen = 2000;
  CHECK(depth(rp2).depth == 5608);
  CHECK_FALSE(depth(rp2).lower_bound_because.empty());
  // What the model does not cover makes the depth a lower bound, with the reason.
  sim::LdsoStack pre = depth(stack_case({{"libpre.so", 8, 64, 9000, V::Preload},
                                         {"libc.so.6", 14, 64, 2000000, V::LdSoCache}}));
  CHECK(pre.depth == 5608);
  CHECK(pre.lower_bound_because.size() == 1);
  CHECK_FALSE(depth(stack_case({{"$ORIGIN/libx.so", 8, 64, 9000, V::RPath}}))
                  .lower_bound_because.empty());
  // Debian's i386 ld-linux.so.2, measured in qemu: no DT_NEEDED 2376, libc.so.6 (12 headers
  // in the 512-byte buffer) 3840, libm then libc 3872; its path search is not measured.
  sim::RtldConfig i386 = sim::rtld_config_i386();
  auto depth32 = [&](const sim::RtldResult& r) {
    std::optional<sim::LdsoStack> s = sim::rtld_stack_depth(r, i386, std::nullopt, false);
    REQUIRE(s);
    return *s;
  };
  CHECK(depth32(stack_case({})).depth == 2376);
  CHECK(depth32(stack_case({{"libc.so.6", 12, 52, 2200000, V::LdSoCache}})).depth == 3840);
  CHECK(depth32(stack_case({{"libm.so.6", 9, 52, 400000, V::LdSoCache},
                            {"libc.so.6", 12, 52, 2200000, V::LdSoCache}}))
            .depth == 3872);
  CHECK(depth32(stack_case({{"libe.so", 36, 8916, 10068, V::LdSoCache}})).depth == 5680);
  sim::RtldResult r32 = stack_case({{"libe.so", 6, 52, 9000, V::RunPath}});
  r32.objects[1].open_path_dirnamelen = 12;
  CHECK_FALSE(depth32(r32).lower_bound_because.empty());
}

TEST_CASE("the stack room RLIMIT_STACK leaves below sp", "[rtld][stack]") {
  const uint64_t end = 0x7ffffffff000, sp = 0x7fffffffee30;
  CHECK(sim::stack_room(sp, end, 4096, 4096) == std::optional<uint64_t>(3632));
  CHECK(sim::stack_room(sp, end, 5000, 4096) == std::optional<uint64_t>(3632));  // whole pages
  CHECK(sim::stack_room(sp, end, 8192, 4096) == std::optional<uint64_t>(3632 + 4096));
  CHECK_FALSE(sim::stack_room(sp, end, sim::kRlimInfinity, 4096));
  CHECK(sim::stack_room(sp, end, 1024, 4096) == std::optional<uint64_t>(0));
}
