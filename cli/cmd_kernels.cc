// `execmap kernels`: the modelled kernels and every rule that differs between them, read from
// the rule table that profile_for() folds (sim/target.cc), so the list cannot drift.
#include <iostream>

#include "cli/commands.h"
#include "cli/render.h"
#include "cli/exit_codes.h"
#include "sim/target.h"

namespace execmap::cli {

CLI::App* setup_kernels(CLI::App& app, KernelsOptions& o) {
  CLI::App* sub = app.add_subcommand(
      "kernels", "List the modelled kernels and each rule that differs between them, with "
                 "the version it changed in and its source");
  sub->add_option("--format", o.format, "Output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  return sub;
}

int run_kernels(const KernelsOptions& o) {
  const auto& rules = sim::kernel_rules();
  if (o.format == "json") {
    nlohmann::json kernels = nlohmann::json::array();
    for (sim::KernelVersion v : sim::modelled_kernels()) {
      sim::TargetKey key;
      key.kernel = v;
      sim::KernelProfile p = sim::profile_for(key);
      nlohmann::json vdso = nlohmann::json::array();
      for (const auto& s : p.vdso_block) vdso.push_back({{"name", s.name}, {"size", hex(s.size)}});
      nlohmann::json auxv = nlohmann::json::array();
      for (uint64_t t : p.auxv_order) auxv.push_back(t);
      kernels.push_back({{"version", v.str()},
                         {"arch", "x86_64"},
                         {"default_config", {{"vsyscall", p.vsyscall_mode}, {"paging", p.paging},
                                             {"ia32", p.ia32.enabled ? "on" : "off"}}},
                         {"vdso_block", vdso},
                         // The 32-bit vdso of an ia32 task (vdso_image_32) and AT_SYSINFO.
                         {"ia32", {{"vdso_size", hex(p.ia32.vdso_size)},
                                   {"sysinfo_offset", hex(p.ia32.sysinfo_offset)}}},
                         {"auxv_order", auxv}});
    }
    nlohmann::json rows = nlohmann::json::array();
    for (const sim::KernelRule& r : rules) {
      nlohmann::json arches = nlohmann::json::array();
      for (sim::Arch a : r.arches) arches.push_back(sim::arch_name(a));
      rows.push_back({{"since", r.since.str()},
                      {"arches", arches},
                      {"sets", r.sets},
                      {"what", r.what},
                      {"source", r.source},
                      {"commit", r.commit}});
    }
    std::cout << dump_json({{"kernels", kernels}, {"rules", rows}}) << "\n";
    return kExitOk;
  }
  std::cout << "modelled kernels (x86_64; Debian's builds were the ground truth):";
  for (sim::KernelVersion v : sim::modelled_kernels()) std::cout << " " << v.str();
  std::cout << "\n--kernel host uses the running kernel's version and its measured values; a "
               "version between two modelled ones uses the older one's rules.\n\n";
  for (const sim::KernelRule& r : rules) {
    std::cout << "since " << r.since.str() << ": " << r.sets << "\n    " << r.what
              << "\n    source: " << r.source << "\n";
    if (*r.commit) std::cout << "    commit: \"" << r.commit << "\"\n";
  }
  return kExitOk;
}

}  // namespace execmap::cli
