// `verify --vm` as a library: boot a kernel image once in qemu (live/vm.h) with the files of
// every case at the same paths, run each exec there with ASLR off, and compare the guest's
// answer with the prediction for that guest (its kernel version and build options, its CPU
// values and credentials, its ld.so's values). The CLI runs one case; vm.verify_kernels runs
// the corpus, in one boot per kernel.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "analysis/compare.h"
#include "live/vm.h"
#include "live/vm_target.h"
#include "sim/exec.h"
#include "sim/rtld.h"

namespace execmap::analysis {

struct VmVerifyCase {
  std::string id;
  sim::ExecRequest request;  // built for this machine; the target and host values are replaced
  std::string cwd;           // absolute; the guest runs the exec from here
  unsigned timeout_ms = 60000;
  // Applied to the guest's values before the prediction (the CLI's --host-value overrides).
  std::function<void(sim::HostState&)> override_host;
};

struct VmVerifyResult {
  std::string id;
  bool ran = false;     // false: *error says why there is no comparison
  std::string error;
  sim::ExecRequest request;  // as predicted for the guest
  sim::ExecResult predicted;
  live::Capture capture;
  Comparison comparison;     // dev and inode not compared
  bool exact_except_heap = false;  // exact, or only [heap] lines differ at the entry point
  std::optional<sim::RtldConfig> rtld_config;  // ld.so's values the start stage used
};

struct VmVerifyReport {
  live::VmTarget target;
  std::vector<std::string> warnings;  // the guest's version is not a modelled one
  live::VmReport vm;
  std::vector<VmVerifyResult> results;  // in case order
};

// Boots cfg.kernel (cfg.files is extended with what the cases need) and verifies every case.
// False with *err when the VM did not run or report (a case whose exec failed in the guest is
// compared: the kernel's verdict is part of the answer).
bool verify_in_vm(live::VmConfig cfg, const std::vector<VmVerifyCase>& cases,
                  VmVerifyReport* out, std::string* err);

// Only [heap] lines differ, and the prediction is of the start stage: library initializers
// allocated before the entry point, which the model does not follow.
bool only_heap_differs(const Comparison& cmp, const sim::ExecResult& r);

}  // namespace execmap::analysis
