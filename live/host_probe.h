// Reads this machine's values for the profile: the auxv of this very process, its vdso
// mappings, the stack rlimit and a few sysctls. The only /proc/self reader besides capture.cc.
#pragma once

#include <string>

#include "sim/profile.h"
#include "sim/target.h"

namespace execmap::live {

struct HostProbe {
  sim::HostState host;             // CPU values, credentials, rlimits, sysctls
  std::string release;             // uname -r of the running kernel
  sim::KernelConfig config;        // vsyscall, paging and the vdso block as this kernel shows them
  sim::KernelMeasurement measured; // its auxv order and kernel-provided AT_RSEQ_* values
};

// Reads this machine. Returns false and leaves the defaults where a value cannot be read;
// *note says which.
bool probe_host(HostProbe* out, std::string* note);

}  // namespace execmap::live
