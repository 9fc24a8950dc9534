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

// True when this kernel runs an ia32 program: one execve() of a minimal EM_386 file in a child
// (cached for the process). ENOEXEC means ia32 emulation is off or absent. It costs a fork and
// an execve, so callers ask only when may_be_ia32() says the program may need the answer.
bool probe_ia32_exec();

// Whether the regular file at path is an ia32 ELF (EM_386, EM_486) or a #! script, whose
// interpreter may be one: its first bytes, read without blocking. False for anything else.
bool may_be_ia32(const std::string& path);

}  // namespace execmap::live
