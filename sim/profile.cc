// The default kernel profile; host values are filled in by live/host_probe.cc on Linux.
#include "sim/profile.h"

namespace execmap::sim {

KernelProfile default_profile() { return KernelProfile{}; }

}  // namespace execmap::sim
