// A booted VM as the model's target: what its agent reported (live/vm_wire.h VmFacts) turned
// into the kernel key and host values a prediction for that guest uses, and the host files a
// guest needs to run the same exec at the same paths. `verify --vm` and the VM tests share it.
#pragma once

#include <string>
#include <vector>

#include "live/vm_wire.h"
#include "loader/lib_files.h"
#include "sim/exec.h"
#include "sim/pipeline.h"
#include "sim/target.h"

namespace execmap::live {

struct VmTarget {
  std::string release;            // uname -r in the guest
  sim::TargetKey key;             // the nearest modelled version, the guest's vsyscall and paging
  bool exact_version = false;     // release's major.minor is a modelled version itself
  sim::HostState host;            // the guest's CPU values, credentials and sysctls (source "vm")
};

// Reads facts: the kernel version from the release, vsyscall from the agent's own maps (no
// line: none; --xp: xonly; r-xp: emulate), paging from the la57 CPU flag (Debian's kernels set
// CONFIG_X86_5LEVEL, and a 4-level CPU keeps 4 levels), the CPU values and credentials from the
// agent's auxv, the sysctls from /proc/sys. False with *err when the release is no version or
// is older than every modelled kernel, or the auxv is missing.
bool vm_target_from_facts(const VmFacts& facts, VmTarget* out, std::string* err);

// The PT_INTERP string of an exec's program as written ("" without one).
std::string program_interp(const sim::ExecResult& r);

// The host paths a guest needs to repeat the exec of r at the same paths: the program (path as
// given, against cwd), its PT_INTERP, and with resolution the libraries ld.so opens (each by the
// path ld.so uses, and the same name in every glibc-hwcaps subdirectory next to it, since the
// guest's CPU may pick another level), /etc/ld.so.cache and /etc/ld.so.preload where present.
std::vector<std::string> vm_files_for(const sim::ExecResult& r, const std::string& path,
                                      const std::string& cwd, const sim::RtldResult* libs);

// ld.so in a guest whose files are this machine's at the same paths: the values ld.so printed
// there with --list-diagnostics (its platform, hwcaps and glibc-hwcaps levels for the guest's
// CPU) over the defaults for the guest's AT_PLATFORM.
class VmRtld final : public sim::RtldHost {
 public:
  VmRtld(std::string diagnostics, std::string cwd)
      : diagnostics_(std::move(diagnostics)), cwd_(std::move(cwd)) {}
  const loader::LibraryFiles& files() const override { return files_; }
  sim::RtldConfig config_for(const sim::ExecResult& r) const override;
  std::string cwd() const override { return cwd_; }

 private:
  loader::HostLibraryFiles files_;
  std::string diagnostics_;
  std::string cwd_;
};

}  // namespace execmap::live
