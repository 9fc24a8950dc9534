// The start stage's inputs that do not need a live process: ld.so's diagnostics parsing and
// the first minimal-malloc requests, whose sizes were read with gdb from the real ld.so
// (breakpoint on __minimal_malloc, Debian 2.36-9+deb12u14, an AMD EPYC: dl_platform x86_64,
// three glibc-hwcaps levels active).
#include <catch2/catch.hpp>

#include "live/rtld_probe.h"
#include "loader/exec_file.h"
#include "loader/lib_files.h"
#include "sim/rtld.h"

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
