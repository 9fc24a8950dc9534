// vm.boot_smoke: boots each given kernel image once in qemu (live::run_in_vm) with a few cases and
// checks that every record arrives and parses: the guest's release equals the image's, a static
// and a dynamic capture stop where they should, a run returns its stdout, ASLR samples differ.
// Usage: vm_boot_smoke AGENT CORPUS_DIR IMAGE...   (exit 77 = skipped: no qemu or no image)
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "live/vm.h"

namespace {

using execmap::live::Capture;
using execmap::live::VmCase;

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

bool qemu_in_path() {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  size_t pos = 0;
  while (pos <= dirs.size()) {
    size_t colon = dirs.find(':', pos);
    if (colon == std::string::npos) colon = dirs.size();
    if (::access((dirs.substr(pos, colon - pos) + "/qemu-system-x86_64").c_str(), X_OK) == 0)
      return true;
    pos = colon + 1;
  }
  return false;
}

VmCase capture(const std::string& id, const std::string& cwd, const std::string& path,
               std::vector<std::string> argv) {
  VmCase c;
  c.id = id;
  c.cwd = cwd;
  c.request.path = path;
  c.request.argv = std::move(argv);
  c.request.envp = {"A=1"};
  c.request.timeout_ms = 60000;
  return c;
}

int failures = 0;
void check(bool ok, const std::string& image, const std::string& what) {
  if (!ok) {
    ++failures;
    std::printf("FAIL %s: %s\n", image.c_str(), what.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: vm_boot_smoke AGENT CORPUS_DIR IMAGE...\n");
    return 2;
  }
  const std::string agent = argv[1];
  char* real = ::realpath(argv[2], nullptr);  // the guest gets the corpus at its absolute path
  const std::string corpus = real ? real : argv[2];
  std::free(real);
  std::vector<std::string> images(argv + 3, argv + argc);
  if (!qemu_in_path()) {
    std::printf("SKIPPED: qemu-system-x86_64 is not installed (Debian package qemu-system-x86)\n");
    return 77;
  }
  if (images.empty()) {
    std::printf("SKIPPED: no kernel image cached; run scripts/fetch-kernels first\n");
    return 77;
  }
  const char* ldso = "/lib64/ld-linux-x86-64.so.2";
  if (!exists(corpus + "/tiny") || !exists(corpus + "/pie") || !exists(ldso)) {
    std::printf("FAIL: the corpus (%s) or %s is missing\n", corpus.c_str(), ldso);
    return 1;
  }

  std::vector<VmCase> cases;
  cases.push_back(capture("tiny", corpus, "./tiny", {"./tiny", "x"}));
  cases.push_back(capture("pie", corpus, "./pie", {"./pie"}));
  VmCase entry = capture("pie-entry", corpus, "./pie", {"./pie"});
  entry.request.stop_at_entry = true;
  cases.push_back(entry);
  VmCase aslr = capture("static-pie-aslr", corpus, "./static-pie", {"./static-pie"});
  aslr.request.disable_aslr = false;
  aslr.repeat = 4;
  cases.push_back(aslr);
  VmCase run = capture("run-static", corpus, "./static", {"./static", "a", "b"});
  run.kind = VmCase::Kind::Run;
  cases.push_back(run);

  for (const std::string& image : images) {
    std::string err;
    std::optional<std::string> release = execmap::live::bzimage_release(image, &err);
    if (!release) {
      check(false, image, err);
      continue;
    }
    execmap::live::VmConfig cfg;
    cfg.kernel = image;
    cfg.agent = agent;
    cfg.timeout_seconds = 300;
    // The dynamic cases need ld.so, libc and the cache at their host paths.
    cfg.files = {corpus + "/tiny", corpus + "/pie", corpus + "/static-pie", corpus + "/static",
                 ldso, "/lib/x86_64-linux-gnu/libc.so.6", "/etc/ld.so.cache"};
    execmap::live::VmReport rep;
    if (!execmap::live::run_in_vm(cfg, cases, &rep, &err)) {
      check(false, image, "run_in_vm: " + err);
      continue;
    }
    std::printf("%s: release %s, %.1f s boot, %.1f s cases, %.1f s wall (%s), %zu captures\n",
                image.c_str(), rep.facts.uname_release.c_str(), rep.boot_seconds,
                rep.cases_seconds, rep.wall_seconds, rep.accel.c_str(), rep.captures.size());
    check(rep.facts.uname_release == *release, image,
          "guest release " + rep.facts.uname_release + " != image's " + *release);
    check(!rep.facts.auxv.empty() && !rep.facts.self_maps.empty(), image, "facts are empty");
    check(rep.captures.size() == 3 + 4 && rep.runs.size() == 1, image, "record count");
    std::set<uint64_t> aslr_rsp;
    for (const auto& c : rep.captures) {
      const std::string& id = cases[c.case_index].id;
      check(c.ok, image, id + ": " + c.error);
      if (!c.ok) continue;
      check(c.capture.outcome == Capture::Outcome::Stopped, image, id + ": did not stop");
      check(c.capture.maps.find(corpus + "/") != std::string::npos, image,
            id + ": the program is not in the maps");
      check(c.capture.stack_image.size() == c.capture.stack_end - c.capture.rsp, image,
            id + ": stack image size");
      if (id == "pie-entry") check(c.capture.at_entry, image, id + ": not at the entry point");
      if (id == "pie")
        check(c.capture.maps.find("ld-linux-x86-64.so.2") != std::string::npos, image,
              id + ": no interpreter mapped");
      if (id == "static-pie-aslr") aslr_rsp.insert(c.capture.rsp);
    }
    check(aslr_rsp.size() > 1, image, "ASLR samples all have the same rsp");
    for (const auto& r : rep.runs) {
      check(r.ok && r.exit_status == 0, image, "run: " + r.error);
      check(r.out == "argc=3\n", image, "run: stdout was '" + r.out + "'");
    }
  }
  std::printf("vm boot smoke: %zu images, %d failures\n", images.size(), failures);
  return failures == 0 ? 0 : 1;
}
