// verify_in_vm(): one boot, many exact comparisons against another kernel.
#include "analysis/vm_verify.h"

#include <sys/stat.h>

#include <map>
#include <memory>
#include <set>

#include "live/rtld_probe.h"
#include "loader/exec_file.h"
#include "sim/pipeline.h"

namespace execmap::analysis {
namespace {

// This machine's files, with relative paths taken from the case's directory (the guest's cwd)
// rather than this process's.
class CwdFileSystem final : public loader::FileSystem {
 public:
  explicit CwdFileSystem(std::string cwd) : cwd_(std::move(cwd)) {}
  loader::OpenResult open_exec(const std::string& path) const override {
    return host_.open_exec(path.empty() || path[0] == '/' ? path : cwd_ + "/" + path);
  }

 private:
  std::string cwd_;
  loader::HostFileSystem host_;
};

}  // namespace

bool only_heap_differs(const Comparison& cmp, const sim::ExecResult& r) {
  if (cmp.exact || !r.start) return false;
  for (const Difference& d : cmp.diffs)
    if (!(d.what == "maps" && d.predicted.empty() && d.actual.size() >= 6 &&
          d.actual.compare(d.actual.size() - 6, 6, "[heap]") == 0))
      return false;
  return true;
}

bool verify_in_vm(live::VmConfig cfg, const std::vector<VmVerifyCase>& cases,
                  VmVerifyReport* out, std::string* err) {
  // The files each guest exec needs come from the prediction on this machine's files: the
  // same files at the same paths make ld.so find the same objects there.
  std::set<std::string> files(cfg.files.begin(), cfg.files.end());
  std::vector<live::VmCase> vm_cases;
  std::map<std::string, uint32_t> diagnostics_case;  // interpreter -> its --list-diagnostics run
  std::vector<std::string> interps;                   // each case's PT_INTERP
  for (const VmVerifyCase& c : cases) {
    CwdFileSystem fs(c.cwd);
    live::HostRtld rtld;
    sim::Pipeline host(fs, &rtld);
    // Which files the guest needs does not depend on whether this machine's kernel runs ia32
    // programs (this one may not; Debian's do): predict them with ia32 on.
    sim::ExecRequest files_req = c.request;
    files_req.profile.ia32.enabled = true;
    sim::ExecResult r = host.predict(files_req);
    const bool at_start = c.request.stage == sim::Stage::start;
    std::shared_ptr<const sim::Resolution> res;
    if (at_start && r.ok() && r.objects.size() > 1) res = host.resolve(r, c.request);
    for (const std::string& f :
         live::vm_files_for(r, c.request.filename, c.cwd, res ? &res->libs : nullptr))
      files.insert(f);
    live::VmCase vc;
    vc.id = c.id;
    vc.cwd = c.cwd;
    vc.request = capture_request_for(c.request, /*disable_aslr=*/true, c.timeout_ms);
    vc.request.stop_at_entry = at_start;
    vc.request.measure_stack_depth = at_start;
    vm_cases.push_back(vc);
    const std::string interp = live::program_interp(r);
    interps.push_back(interp);
    // ld.so run directly ("ld.so [OPTIONS] PROGRAM"): the guest's ld.so opens PROGRAM itself.
    if (interp.empty() && r.ok() && r.objects.size() == 1) {
      for (size_t a = 1; a < c.request.argv.size(); ++a) {
        const std::string& w = c.request.argv[a];
        if (w.empty() || w[0] == '-') continue;
        std::string p = w[0] == '/' ? w : c.cwd + "/" + w;
        struct stat st;
        if (::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode)) files.insert(p);
        break;
      }
    }
    if (at_start && !interp.empty() && interp[0] == '/' && !diagnostics_case.count(interp))
      diagnostics_case[interp] = 0;
  }
  for (auto& [interp, index] : diagnostics_case) {
    // ld.so's own view of the guest's CPU (dl_platform, dl_hwcap, the glibc-hwcaps levels),
    // which its start-up allocations depend on.
    live::VmCase d;
    d.kind = live::VmCase::Kind::Run;
    d.id = "list-diagnostics " + interp;
    d.cwd = "/";
    d.request.path = interp;
    d.request.argv = {interp, "--list-diagnostics"};
    d.request.timeout_ms = 60000;
    index = static_cast<uint32_t>(vm_cases.size());
    vm_cases.push_back(d);
  }
  cfg.files.assign(files.begin(), files.end());

  VmVerifyReport& rep = *out;
  if (!live::run_in_vm(cfg, vm_cases, &rep.vm, err)) return false;
  if (!rep.vm.have_facts) {
    *err = "the guest reported no facts";
    return false;
  }
  if (!live::vm_target_from_facts(rep.vm.facts, &rep.target, err)) return false;
  if (!rep.target.exact_version) {
    sim::KernelVersion v;
    sim::parse_kernel_version(rep.target.release, &v);
    rep.warnings.push_back("kernel " + v.str() + " is not modelled; using the rules of " +
                           rep.target.key.kernel.str() + ", the nearest older modelled kernel");
  }
  std::map<std::string, std::string> diagnostics;
  for (const auto& [interp, index] : diagnostics_case)
    for (const live::VmRunResult& run : rep.vm.runs)
      if (run.case_index == index && run.ok && run.exit_status == 0) diagnostics[interp] = run.out;

  const sim::KernelProfile profile = sim::profile_for(rep.target.key);
  for (size_t i = 0; i < cases.size(); ++i) {
    const VmVerifyCase& c = cases[i];
    VmVerifyResult res;
    res.id = c.id;
    const live::VmCaptureResult* cr = nullptr;
    for (const live::VmCaptureResult& x : rep.vm.captures)
      if (x.case_index == i) cr = &x;
    if (!cr) {
      res.error = "no capture arrived from the guest";
    } else if (!cr->ok) {
      res.error = "capture in the guest failed: " + cr->error;
    } else {
      // The prediction for the guest: its kernel's rules, its CPU values and credentials; the
      // stack and data limits as the request asked (the guest applies them).
      res.request = c.request;
      res.request.profile = profile;
      res.request.host = rep.target.host;
      res.request.host.stack_rlimit = c.request.host.stack_rlimit;
      res.request.host.data_rlimit = c.request.host.data_rlimit;
      if (c.override_host) c.override_host(res.request.host);
      res.request.warnings = rep.warnings;
      CwdFileSystem fs(c.cwd);
      auto d = diagnostics.find(interps[i]);
      live::VmRtld rtld(d == diagnostics.end() ? std::string() : d->second, c.cwd);
      sim::Pipeline pipeline(fs, &rtld);
      res.predicted = pipeline.predict(res.request);
      if (res.request.stage == sim::Stage::start && res.predicted.ok() &&
          res.predicted.objects.size() > 1)
        if (auto rs = pipeline.resolve(res.predicted, res.request)) res.rtld_config = rs->config;
      res.capture = cr->capture;
      CompareOptions opts;
      opts.file_identity = false;
      res.comparison = compare(res.predicted, res.capture, opts);
      res.exact_except_heap =
          res.comparison.exact || only_heap_differs(res.comparison, res.predicted);
      res.ran = true;
    }
    rep.results.push_back(std::move(res));
  }
  return true;
}

}  // namespace execmap::analysis
