// Memory-mapping primitives shared by the exec passes and the post-exec operations:
// get_unmapped_area(), do_mmap(), vm_brk_flags(), munmap, mprotect and brk, with the
// kernel's checks and errnos (mm/mmap.c, mm/vma.c, mm/mprotect.c, arch/x86/mm/mmap.c).
#pragma once

#include <cstdint>

#include "sim/address_space.h"
#include "sim/exec.h"
#include "sim/profile.h"

namespace execmap::sim {

// An address or a negative errno, as the kernel's unsigned long returns.
struct MapResult {
  bool ok = true;
  int err = 0;
  uint64_t addr = 0;
  static MapResult error(int e) { return MapResult{false, e, 0}; }
  static MapResult at(uint64_t a) { return MapResult{true, 0, a}; }
};

enum MapFlag : uint32_t {
  kMapFixed = 1,           // MAP_FIXED
  kMapFixedNoreplace = 2,  // MAP_FIXED_NOREPLACE
  kMapShared = 4,          // MAP_SHARED (otherwise MAP_PRIVATE)
};

class VmOps {
 public:
  VmOps(const KernelProfile& p, const HostState& h, AddressSpace& as, MmFields& mm)
      : P_(p), H_(h), as_(as), mm_(mm) {}

  // arch_get_unmapped_area_topdown() for x86_64, with the hint and MAP_FIXED paths.
  MapResult arch_unmapped_area(uint64_t addr, uint64_t len, uint32_t flags) const;
  // __get_unmapped_area(): ext4 files and PMD-multiple anonymous requests go through
  // thp_get_unmapped_area(), which pads by PMD_SIZE and aligns.
  MapResult get_unmapped_area(bool is_file, uint64_t addr, uint64_t len, uint64_t off,
                              uint32_t flags) const;
  // vm_mmap() -> do_mmap() -> mmap_region(). file < 0 is anonymous.
  MapResult vm_mmap(int file, uint64_t addr, uint64_t len, uint32_t prot, uint32_t flags,
                    uint64_t off);
  // vm_brk_flags(): anonymous rw- (rwx with exec) that replaces whatever is there.
  int vm_brk_flags(uint64_t addr, uint64_t request, bool exec);
  // munmap(2): 0 or -errno.
  int munmap(uint64_t addr, uint64_t len);
  // mprotect(2): 0 or -errno; like the kernel, a hole part-way stops after changing the
  // part before it.
  int mprotect(uint64_t addr, uint64_t len, uint32_t prot);
  // brk(2): returns the new break, or the old one when refused.
  uint64_t brk(uint64_t newbrk);
  // The task's personality: READ_IMPLIES_EXEC (0x0400000) makes do_mmap() add PROT_EXEC to
  // every readable mapping, and TASK_EXEC adds VM_EXEC to VM_DATA_DEFAULT_FLAGS, so bss and
  // brk VMAs are rwx (arch/x86/include/asm/page_types.h, mm/mmap.c do_mmap()).
  void set_personality(uint32_t personality) { rie_ = personality & 0x0400000u; }

 private:
  bool enough_memory(uint64_t bytes) const;
  bool splits_special(uint64_t start, uint64_t end) const;
  const KernelProfile& P_;
  const HostState& H_;
  AddressSpace& as_;
  MmFields& mm_;
  bool rie_ = false;  // READ_IMPLIES_EXEC
};

}  // namespace execmap::sim
