// vm.grade32: `execmap grade` of 32-bit loaders, where ia32 programs run. This machine's kernel
// refuses them, so the grader itself runs inside qemu (one boot per cached Debian kernel): the
// i386 reference loader (testdata/loader, ref_loader32) must get full marks on the static ia32
// programs, and each broken variant must fail exactly its own checks, as tests/live_grade.sh
// asks of the 64-bit ones. The guest gets execmap and its libraries at the same paths.
// Usage: vm_grade32 AGENT EXECMAP LOADER_DIR CORPUS32_DIR IMAGE...   (exit 77: skipped)
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "live/vm.h"
#include "vm_shapes.h"

namespace {

using execmap::live::VmCase;

struct Expect {
  std::string loader;  // file name in LOADER_DIR
  std::string prog;    // file name in CORPUS32_DIR
  std::vector<std::string> args;
  int exit_code;
  std::string failed;  // sorted, comma-joined ids of the failed checks
};

const std::vector<Expect>& expectations() {
  static const std::vector<Expect> e = {
      {"ref_loader32", "static32", {"x", "y z"}, 0, ""},
      {"ref_loader32", "static-pie32", {"x", "y z"}, 0, ""},
      {"ref_loader32", "tiny32", {"x", "y z"}, 0, ""},
      {"ref_loader32", "tls-static32", {"x", "y z"}, 0, ""},
      {"ref_loader32", "align2m-static-pie32", {"x", "y z"}, 0, ""},
      {"ref_loader32-no-bss-zero", "static32", {"x"}, 4, "segments.bss_zero"},
      {"ref_loader32-no-bss-zero", "static-pie32", {"x"}, 4, "segments.bss_zero"},
      {"ref_loader32-writable-text", "static32", {"x"}, 4, "segments.permissions"},
      {"ref_loader32-writable-text", "static-pie32", {"x"}, 4, "segments.permissions"},
      {"ref_loader32-stack-misalign", "static32", {"x"}, 4, "stack.aligned"},
      {"ref_loader32-no-at-random", "static32", {"x"}, 4, "auxv.random"},
      {"ref_loader32-argv-reversed", "static32", {"x", "y"}, 4, "stack.argv"},
      {"ref_loader32-pie-entry-unrelocated", "static-pie32", {"x"}, 4, "entry.rip"},
      {"ref_loader32-pie-entry-unrelocated", "static32", {"x"}, 0, ""},
      {"ref_loader32-wrong-phdr", "static32", {"x"}, 4, "auxv.phdr"},
      {"ref_loader32-no-envp", "tiny32", {"x"}, 4, "stack.envp"},
      {"ref_loader32-rdx-garbage", "static32", {"x"}, 4, "entry.registers"},
      {"ref_loader32-execfn-first-arg", "static32", {"x", "y"}, 4, "auxv.execfn"},
      {"ref_loader32-at-notelf", "static32", {"x"}, 4, "auxv.no_bogus"},
      {"ref_loader32-exec-stack", "static32", {"x"}, 4, "stack.executable"},
      // No PT_GNU_STACK: READ_IMPLIES_EXEC for an ia32 program, so the stack is executable.
      {"ref_loader32-exec-stack", "tiny-nognustack32", {"x"}, 0, ""},
      {"ref_loader32", "tiny-nognustack32", {"x"}, 0, ""},
      {"ref_loader32-argv-null-garbage", "static32", {"x"}, 4, "stack.null_terminated"},
      {"ref_loader32-copy-segments", "static32", {"x"}, 0, ""},
      {"ref_loader32-copy-segments", "static-pie32", {"x"}, 0, ""},
      {"ref_loader32-file-buffer", "static-pie32", {"x"}, 0, ""},
      {"ref_loader32-random-zero", "static32", {"x"}, 4, "auxv.random_fresh"},
      {"ref_loader32-random-fixed", "static32", {"x"}, 4, "auxv.random_fresh"},
  };
  return e;
}

std::string failed_ids(const nlohmann::json& report) {
  std::vector<std::string> ids;
  for (const auto& c : report.at("checks"))
    if (c.at("status") == "failed") ids.push_back(c.at("id"));
  std::sort(ids.begin(), ids.end());
  std::string out;
  for (const std::string& id : ids) out += (out.empty() ? "" : ",") + id;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: vm_grade32 AGENT EXECMAP LOADER_DIR CORPUS32_DIR IMAGE...\n");
    return 2;
  }
  const std::string agent = argv[1], execmap = argv[2], loaders = argv[3], corpus = argv[4];
  if (execmap::live::find_program("qemu-system-x86_64").empty()) {
    std::printf("SKIPPED: qemu-system-x86_64 is not installed (Debian package qemu-system-x86)\n");
    return 77;
  }
  std::set<std::string> files = {execmap, "/etc/ld.so.cache"};
  for (const std::string& f : execmap::testing::ldd_files(execmap)) files.insert(f);
  std::vector<VmCase> cases;
  for (const Expect& e : expectations()) {
    files.insert(loaders + "/" + e.loader);
    files.insert(corpus + "/" + e.prog);
    VmCase c;
    c.kind = VmCase::Kind::Run;
    c.id = e.loader + " " + e.prog;
    c.cwd = corpus;
    c.request.path = execmap;
    c.request.argv = {execmap, "grade", "--format", "json", "--timeout-ms", "30000", "-i",
                      "--env", "A=1", "--env", "B=two", "--loader", loaders + "/" + e.loader,
                      corpus + "/" + e.prog};
    for (const std::string& a : e.args) c.request.argv.push_back(a);
    c.request.timeout_ms = 120000;
    cases.push_back(c);
  }
  int failures = 0, total = 0;
  for (int i = 5; i < argc; ++i) {
    execmap::live::VmConfig cfg;
    cfg.kernel = argv[i];
    cfg.agent = agent;
    cfg.files.assign(files.begin(), files.end());
    cfg.timeout_seconds = 900;
    execmap::live::VmReport rep;
    std::string err;
    if (!execmap::live::run_in_vm(cfg, cases, &rep, &err)) {
      std::printf("FAIL %s: %s\n", argv[i], err.c_str());
      ++failures;
      continue;
    }
    int pass = 0;
    for (const auto& r : rep.runs) {
      const Expect& e = expectations()[r.case_index];
      const std::string what = rep.facts.uname_release + ": " + cases[r.case_index].id;
      ++total;
      std::string got;
      try {
        got = failed_ids(nlohmann::json::parse(r.out));
      } catch (const std::exception& ex) {
        std::printf("FAIL %s: no JSON report (exit %d): %s\n", what.c_str(), r.exit_status,
                    r.err.substr(0, 400).c_str());
        ++failures;
        continue;
      }
      if (r.ok && r.exit_status == e.exit_code && got == e.failed) {
        ++pass;
        std::printf("ok   %s: exit %d, failed [%s]\n", what.c_str(), r.exit_status, got.c_str());
      } else {
        ++failures;
        std::printf("FAIL %s: exit %d (want %d), failed [%s] (want [%s]) %s\n", what.c_str(),
                    r.exit_status, e.exit_code, got.c_str(), e.failed.c_str(),
                    r.err.substr(0, 400).c_str());
      }
    }
    std::printf("kernel %s: grade of 32-bit loaders: %d of %zu as expected (%.1f s)\n",
                rep.facts.uname_release.c_str(), pass, cases.size(), rep.wall_seconds);
    if (rep.runs.size() != cases.size()) ++failures;
  }
  std::printf("vm grade32: %d cases, %d failures\n", total, failures);
  return failures == 0 ? 0 : 1;
}
