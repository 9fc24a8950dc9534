// The /proc/PID/maps view of a simulated mm, as plain lines: what show_map_vma()
// (fs/proc/task_mmu.c) prints for each VMA, then the [vsyscall] gate VMA. util/maps.h prints
// them; the layout view, the step trace and verify's diff all read this one list.
#pragma once

#include <vector>

#include "sim/exec.h"
#include "util/maps.h"

namespace execmap::sim {

// The lines of a VMA list (a step's, or the final one), named with the mm fields of that
// moment; the device, inode and offset columns are those of the open file, 0 for the rest.
std::vector<util::MapsLine> proc_maps(const std::vector<loader::FileIdentity>& files,
                                      const MmFields& mm, const std::vector<Vma>& vmas,
                                      const KernelProfile& p);
// The lines of r's final layout.
std::vector<util::MapsLine> proc_maps(const ExecResult& r);

}  // namespace execmap::sim
