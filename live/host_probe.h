// Reads this machine's values for the profile: the auxv of this very process, its vdso
// mappings, the stack rlimit and a few sysctls. The only /proc/self reader besides capture.cc.
#pragma once

#include <string>

#include "sim/profile.h"

namespace execmap::live {

// Fills profile->host (and vsyscall / mmap_min_addr) from the running kernel. Returns false
// and leaves the defaults where a value cannot be read; *note says which.
bool probe_host(sim::KernelProfile* profile, std::string* note);

}  // namespace execmap::live
