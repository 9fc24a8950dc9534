// vm.verify_kernels: `verify --vm` over the corpus, in one boot per kernel image. Each corpus
// program under every argv/env shape of tests/live_verify.sh, the stack limits unlimited, 1 GiB
// and 64 KiB, and --stage start for the dynamic programs, through analysis::verify_in_vm (the
// code behind `execmap verify --vm`). Every case must be exact (dev and inode aside; at the
// entry point [heap] lines aside). The ia32 corpus (a second CORPUS_DIR after a colon) gets the
// same cases, with i386 ld.so at the start stage, and, for five programs, the setarch
// personalities; the ia32 start-stage corpus (start32/, a third) gets only --stage start.
// Prints the count per kernel.
// Usage: vm_verify_kernels AGENT CORPUS_DIR[:CORPUS32_DIR[:START32_DIR]] [--la57 IMAGE] IMAGE...
// (exit 77: skipped)
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "analysis/vm_verify.h"
#include "cli/render.h"
#include "sim/profile.h"
#include "vm_shapes.h"

namespace {

using namespace execmap;

analysis::VmVerifyCase make_case(const std::string& id, const std::string& cwd,
                                 const testing::Shape& s, uint64_t stack, bool start) {
  analysis::VmVerifyCase c;
  c.id = id;
  c.cwd = cwd;
  c.request.filename = s.path;
  c.request.argv = s.argv;
  c.request.envp = s.envp;
  c.request.profile = sim::default_profile();
  c.request.host.stack_rlimit = stack;
  c.request.randomize = false;
  c.request.stage = start ? sim::Stage::start : sim::Stage::exec;
  c.timeout_ms = 120000;
  return c;
}

bool dynamic(const std::string& path) {
  // A PT_INTERP program: what ldd would call dynamic. Read through the model's own reader.
  loader::HostFileSystem fs;
  sim::ExecRequest req;
  req.filename = path;
  req.argv = {path};
  req.profile = sim::default_profile();
  req.profile.ia32.enabled = true;  // Debian's kernels run ia32 programs, whatever this one does
  sim::ExecResult r = sim::Pipeline(fs, nullptr).predict(req);
  return r.ok() && r.objects.size() > 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: vm_verify_kernels AGENT CORPUS_DIR [--la57 IMAGE] IMAGE...\n");
    return 2;
  }
  const std::string agent = argv[1];
  std::vector<std::string> corpora;
  {
    std::string list = argv[2];
    for (size_t at = 0; at <= list.size();) {
      size_t colon = list.find(':', at);
      if (colon == std::string::npos) colon = list.size();
      std::string d = list.substr(at, colon - at);
      if (!d.empty()) {
        char* real = ::realpath(d.c_str(), nullptr);
        corpora.push_back(real ? real : d);
        std::free(real);
      }
      at = colon + 1;
    }
  }
  struct Boot {
    std::string image;
    bool la57 = false;
  };
  std::vector<Boot> boots;
  for (int i = 3; i < argc; ++i) {
    if (std::string(argv[i]) == "--la57" && i + 1 < argc) boots.push_back({argv[++i], true});
    else boots.push_back({argv[i], false});
  }
  if (live::find_program("qemu-system-x86_64").empty()) {
    std::printf("SKIPPED: qemu-system-x86_64 is not installed (Debian package qemu-system-x86)\n");
    return 77;
  }
  if (boots.empty()) {
    std::printf("SKIPPED: no kernel image cached; run scripts/fetch-kernels first\n");
    return 77;
  }
  std::vector<analysis::VmVerifyCase> cases;
  for (const std::string& corpus : corpora) {
  std::vector<std::string> programs;
  {
    std::ifstream m(corpus + "/MANIFEST");
    for (std::string p; std::getline(m, p);)
      if (!p.empty()) programs.push_back(p);
  }
  if (programs.empty()) {
    std::printf("FAIL: no programs in %s/MANIFEST\n", corpus.c_str());
    return 1;
  }
  const bool ia32 = corpus.size() > 9 && corpus.compare(corpus.size() - 9, 9, "/corpus32") == 0;
  const bool start32 = corpus.size() > 8 && corpus.compare(corpus.size() - 8, 8, "/start32") == 0;
  for (const std::string& p : programs) {
    std::vector<testing::Shape> shapes = testing::shapes_for(p, corpus);
    if (start32) {
      cases.push_back(make_case(p + ".start", corpus, shapes[0], 8ull << 20, true));
      continue;
    }
    for (const testing::Shape& s : shapes)
      cases.push_back(make_case(p + "." + s.name, corpus, s, 8ull << 20, false));
    for (const std::string& sp : testing::stack_limit_programs()) {
      if (sp != p) continue;
      cases.push_back(make_case(p + ".stack-unlimited", corpus, shapes[0], sim::kRlimInfinity, false));
      cases.push_back(make_case(p + ".stack-1g", corpus, shapes[0], 1ull << 30, false));
      cases.push_back(make_case(p + ".stack-64k", corpus, shapes[0], 64ull << 10, false));
    }
    if (dynamic(corpus + "/" + p))
      cases.push_back(make_case(p + ".start", corpus, shapes[0], 8ull << 20, true));
    if (ia32 && (p == "pie32" || p == "nopie32" || p == "static32" || p == "static-pie32" ||
                 p == "tiny-nognustack32")) {
      // setarch -L, -3, -L3, -X, -B, -Z (include/uapi/linux/personality.h).
      for (uint32_t flags : {0x0200000u, 0x8000000u, 0x8200000u, 0x0400000u, 0x0800000u, 0x0100000u}) {
        analysis::VmVerifyCase c = make_case(p + ".personality-" + std::to_string(flags), corpus,
                                             shapes[0], 8ull << 20, false);
        c.request.personality = flags;
        cases.push_back(c);
      }
    }
  }
  }

  int failures = 0;
  for (const Boot& b : boots) {
    live::VmConfig cfg;
    cfg.kernel = b.image;
    cfg.agent = agent;
    cfg.timeout_seconds = 1200;
    if (b.la57) cfg.extra_qemu_args = {"-cpu", "max,+la57"};
    analysis::VmVerifyReport rep;
    std::string err;
    if (!analysis::verify_in_vm(cfg, cases, &rep, &err)) {
      std::printf("FAIL %s: %s\n", b.image.c_str(), err.c_str());
      ++failures;
      continue;
    }
    int exec_total = 0, exec_exact = 0, start_total = 0, start_exact = 0, heap = 0;
    for (const analysis::VmVerifyResult& r : rep.results) {
      bool start = r.request.stage == sim::Stage::start;
      (start ? start_total : exec_total)++;
      bool ok = r.ran && (start ? r.exact_except_heap : r.comparison.exact);
      if (ok) (start ? start_exact : exec_exact)++;
      if (ok && start && !r.comparison.exact) ++heap;
      if (!ok) {
        ++failures;
        std::printf("FAIL %s %s: %s", rep.target.release.c_str(), r.id.c_str(),
                    r.ran ? cli::render_comparison(r.comparison, r.predicted, r.capture).c_str()
                          : (r.error + "\n").c_str());
      }
    }
    std::printf("kernel %s (%s%s): exec %d/%d exact, start %d/%d exact (%d but for [heap]); "
                "%s paging=%u vsyscall=%s; boot %.1f s, wall %.1f s (%s)\n",
                rep.target.key.kernel.str().c_str(), rep.target.release.c_str(),
                b.la57 ? ", -cpu max,+la57" : "", exec_exact, exec_total, start_exact,
                start_total, heap, sim::target_label(sim::profile_for(rep.target.key)).c_str(),
                rep.target.key.config.paging, sim::vsyscall_name(rep.target.key.config.vsyscall),
                rep.vm.boot_seconds, rep.vm.wall_seconds, rep.vm.accel.c_str());
    if (b.la57 && rep.target.key.config.paging != 5) {
      std::printf("FAIL %s: booted with la57 but the guest has no la57 flag\n", b.image.c_str());
      ++failures;
    }
  }
  return failures ? 1 : 0;
}
