// `execmap verify`: run the program for real under ptrace, stopped at its first instruction,
// and diff the kernel's layout against the prediction. With --vm IMAGE the kernel is another
// one, booted in qemu (live/vm.h) with the program's files at the same paths.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iostream>

#include "analysis/capture_json.h"
#include "analysis/compare.h"
#include "analysis/vm_verify.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/host_pipeline.h"
#include "cli/render.h"
#include "cli/sandbox_files.h"
#include "live/vm.h"

namespace execmap::cli {

CLI::App* setup_verify(CLI::App& app, VerifyOptions& o) {
  CLI::App* sub = app.add_subcommand(
      "verify", "Run the program under ptrace with ASLR off, stop at its first instruction, "
                "and compare the kernel's layout and stack with the prediction");
  sub->add_flag("--no-sandbox", o.no_sandbox,
                "UNSAFE with --stage start: run ld.so and the library initializers unconfined "
                "(by default they run in grade's sandbox)");
  sub->add_option("--save-capture", o.save_capture,
                  "Also write the kernel's answer as a capture file (JSON) for golden tests");
  sub->add_option("--timeout-ms", o.timeout_ms, "Wall-clock bound on the traced child")
      ->capture_default_str();
  sub->add_option("--vm", o.vm_image,
                  "Check on another kernel: boot this bzImage (e.g. /boot/vmlinuz-...) in "
                  "qemu-system-x86_64 and compare with the prediction for its version and the "
                  "VM's CPU values (device and inode numbers are not compared)");
  sub->add_option("--vm-accel", o.vm_accel,
                  "qemu accelerator: auto (KVM when /dev/kvm opens and a probe boot completes, "
                  "else TCG), kvm or tcg")
      ->check(CLI::IsMember({"auto", "kvm", "tcg"}))
      ->capture_default_str();
  sub->add_option("--vm-timeout", o.vm_timeout, "Wall-clock bound on the VM boot, seconds")
      ->capture_default_str();
  add_exec_options(sub, o.exec, {"text", "json"}, "text");
  return sub;
}

bool build_exact_request(const ExecOptions& eo, const char* command, sim::ExecRequest* req,
                         int* rc) {
  std::string err;
  if (!build_request(eo, req, &err)) {
    std::cerr << "execmap: error: " << err << "\n";
    *rc = kExitUsage;
    return false;
  }
  if (req->randomize) {
    std::cerr << "execmap: error: " << command
              << " compares against one exact exec; use it with --aslr off\n";
    *rc = kExitUsage;
    return false;
  }
  return true;
}

namespace {

bool write_capture(const std::string& path, const nlohmann::json& cj) {
  std::ofstream f(path);
  f << dump_json(cj) << "\n";
  if (!f) {
    std::cerr << "execmap: error: cannot write " << path << "\n";
    return false;
  }
  return true;
}

// The verdict, as text or JSON; extra goes into the JSON object.
int report(const VerifyOptions& o, const sim::ExecResult& r, const live::Capture& cap,
           const analysis::Comparison& cmp, const nlohmann::json& extra) {
  // At the entry point a [heap] made by library initializers is outside the model: when the
  // only difference is such a line, the verdict says so (exit 0, "exact" stays false).
  bool heap = analysis::only_heap_differs(cmp, r);
  if (o.exec.format == "json") {
    nlohmann::json j = comparison_json(cmp);
    j["stage"] = o.exec.stage;
    if (!r.aslr_forced.empty()) j["aslr_forced"] = r.aslr_forced;
    j["exact_except_heap"] = cmp.exact || heap;
    j["target"] = target_json(r);
    for (auto it = extra.begin(); it != extra.end(); ++it) j[it.key()] = it.value();
    j["predicted"] = r.ok() ? layout_json(r) : error_json(r.error);
    std::cout << dump_json(j) << "\n";
  } else {
    std::cout << render_comparison(cmp, r, cap);
    if (!cmp.exact && !r.aslr_forced.empty())
      std::cout << "not comparable exactly: " << r.aslr_forced << "\n";
    if (heap)
      std::cout << "exact except [heap]: initializers allocated before the entry point"
                << (r.start->heap_may_appear ? " (the prediction said they may)" : "") << "\n";
  }
  return cmp.exact || heap ? kExitOk : kExitMismatch;
}

std::string current_dir() {
  char buf[4096];
  return ::getcwd(buf, sizeof buf) ? std::string(buf) : std::string("/");
}

int run_verify_vm(const VerifyOptions& o) {
  auto fail = [](const std::string& msg, int rc) {
    std::cerr << "execmap: error: " << msg << "\n";
    return rc;
  };
  // The image decides the kernel, the VM its build options.
  if (o.exec.kernel != "host")
    return fail("--vm takes the kernel version from the image; drop --kernel " + o.exec.kernel,
                kExitUsage);
  if (!o.exec.kernel_config.empty())
    return fail("--vm reads the kernel's options from the VM; drop --kernel-config", kExitUsage);
  if (o.exec.profile != "host")
    return fail("--vm uses the VM's own values; drop --profile " + o.exec.profile, kExitUsage);
  sim::ExecRequest req;
  int rc = 0;
  if (!build_exact_request(o.exec, "verify", &req, &rc)) return rc;

  std::string err;
  const std::string qemu = "qemu-system-x86_64";
  if (live::find_program(qemu).empty())
    return fail("verify --vm needs " + qemu + ", which is not installed "
                "(Debian package qemu-system-x86)", kExitFailure);
  auto release = live::bzimage_release(o.vm_image, &err);
  if (!release) return fail("--vm " + err, kExitFailure);
  sim::KernelVersion v, modelled;
  bool exact_version = false;
  if (!sim::parse_kernel_version(*release, &v))
    return fail("--vm " + o.vm_image + ": kernel release '" + *release + "' is no version",
                kExitFailure);
  if (!sim::nearest_modelled(v, &modelled, &exact_version)) {
    std::string list;
    for (sim::KernelVersion k : sim::modelled_kernels()) list += (list.empty() ? "" : ", ") + k.str();
    return fail("--vm " + o.vm_image + " is Linux " + v.str() +
                ", older than every modelled kernel (" + list + ")", kExitUsage);
  }
  const std::string agent = live::find_vm_agent();
  if (agent.empty())
    return fail("verify --vm needs execmap-vm-agent next to execmap or in "
                "../libexec/execmap/ (or set EXECMAP_VM_AGENT)", kExitFailure);

  {
    HostPipeline hp;  // a file this machine cannot read cannot go into the guest either
    sim::ExecResult host_r = hp.pipeline.predict(req);
    if (host_r.error.kind == sim::ExecError::Kind::Io) return report_failure(host_r, o.exec.format);
  }
  live::VmConfig cfg;
  cfg.kernel = o.vm_image;
  cfg.agent = agent;
  cfg.qemu = qemu;
  cfg.accel = o.vm_accel == "kvm"   ? live::VmConfig::Accel::Kvm
              : o.vm_accel == "tcg" ? live::VmConfig::Accel::Tcg
                                    : live::VmConfig::Accel::Auto;
  cfg.kvm_probe_timeout_seconds = 10;  // a KVM boot takes ~2 s; where KVM guests hang, give up
  cfg.timeout_seconds = o.vm_timeout;
  analysis::VmVerifyCase c;
  c.id = "verify";
  c.request = req;
  c.cwd = current_dir();
  c.timeout_ms = o.timeout_ms;
  c.override_host = [&o](sim::HostState& h) {
    std::string ignored;  // build_request() has already checked every --host-value
    for (const std::string& kv : o.exec.host_values) apply_host_value(h, kv, &ignored);
  };
  analysis::VmVerifyReport rep;
  if (!analysis::verify_in_vm(cfg, {c}, &rep, &err))
    return fail("the VM (" + o.vm_image + ") did not complete: " + err, kExitFailure);
  const analysis::VmVerifyResult& res = rep.results.at(0);
  if (!res.ran) return fail(res.error, kExitFailure);
  for (const std::string& w : rep.warnings) std::cerr << "execmap: warning: " << w << "\n";
  const sim::ExecResult& r = res.predicted;
  if (r.error.kind == sim::ExecError::Kind::Io) return report_failure(r, o.exec.format);
  if (!o.save_capture.empty()) {
    nlohmann::json cj = analysis::capture_to_json(res.request, res.capture);
    if (res.rtld_config) cj["rtld"] = rtld_config_json(*res.rtld_config);
    if (!write_capture(o.save_capture, cj)) return kExitFailure;
  }
  nlohmann::json extra = {
      {"vm",
       {{"image", o.vm_image},
        {"release", rep.target.release},
        {"accel", rep.vm.accel},
        {"accel_why", rep.vm.accel_why},
        {"boot_seconds", rep.vm.boot_seconds},
        {"wall_seconds", rep.vm.wall_seconds}}}};
  if (!rep.warnings.empty()) extra["warnings"] = rep.warnings;
  if (o.exec.format != "json")
    std::cout << "vm: " << o.vm_image << " (Linux " << rep.target.release << ", "
              << rep.vm.accel << ", " << static_cast<int>(rep.vm.wall_seconds + 0.5)
              << " s)\ntarget: " << target_text(r) << "\n";
  return report(o, r, res.capture, res.comparison, extra);
}

}  // namespace

int run_verify(const VerifyOptions& o) {
  if (!o.vm_image.empty()) return run_verify_vm(o);
  sim::ExecRequest req;
  int rc = 0;
  if (!build_exact_request(o.exec, "verify", &req, &rc)) return rc;
  // The capture traces the program: a tracer without root may not trace a set-ID exec's new
  // credentials, and the kernel then keeps the old ones (cap_bprm_creds_from_file()).
  if (::geteuid() != 0) req.host.traced_unprivileged = 1;
  HostPipeline hp;
  // --stage start runs the program's library code for real: in the sandbox, with the
  // credentials it gives, which the prediction must use too.
  std::optional<live::SandboxSpec> sandbox;
  if (o.exec.stage == "start") {
    sandbox = base_sandbox_spec(o.no_sandbox, 16ull << 20);
    add_sandbox_program(req.filename, req, &hp, &*sandbox);
    apply_sandbox_ids(*sandbox, &req);
  }
  sim::ExecResult r = hp.pipeline.predict(req);
  if (r.error.kind == sim::ExecError::Kind::Io) return report_failure(r, o.exec.format);

  std::string why;
  if (!live::ptrace_available(&why)) {
    std::cerr << "execmap: error: verify needs ptrace: " << why << "\n";
    return kExitFailure;
  }
  live::CaptureRequest creq = analysis::capture_request_for(req, /*disable_aslr=*/true, o.timeout_ms);
  creq.stop_at_entry = o.exec.stage == "start";
  creq.measure_stack_depth = creq.stop_at_entry;
  creq.sandbox = sandbox;
  auto cap = live::capture_at_exec(creq, &why);
  if (!cap) {
    std::cerr << "execmap: error: capture failed: " << why << "\n";
    return kExitFailure;
  }
  nlohmann::json extra = nlohmann::json::object();
  if (sandbox && cap->sandbox.level == live::SandboxLevel::Chroot) {
    // The fallback ran the program as a uid of its own: predict with that one.
    apply_sandbox_ids(*sandbox, &req, cap->sandbox.level);
    r = hp.pipeline.predict(req);
  }
  if (sandbox) {
    const std::string level = live::sandbox_level_name(cap->sandbox.level);
    extra["sandbox"] = {{"level", level}, {"detail", cap->sandbox.detail}};
    if (o.exec.format != "json")
      std::cout << "sandbox: " << level << " (" << cap->sandbox.detail << ")\n";
  }
  if (!o.save_capture.empty()) {
    nlohmann::json cj = analysis::capture_to_json(req, *cap);
    // At the entry point the result also depends on ld.so's CPU-dependent values.
    if (creq.stop_at_entry && r.ok() && r.objects.size() > 1)
      cj["rtld"] = rtld_config_json(hp.pipeline.resolve(r, req)->config);
    if (!write_capture(o.save_capture, cj)) return kExitFailure;
  }
  return report(o, r, *cap, analysis::compare(r, *cap), extra);
}

}  // namespace execmap::cli
