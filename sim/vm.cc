// Memory-mapping system calls as the 6.18 kernel performs them, on the simulated mm; what
// changed between versions comes from the profile's switches (sim/target.cc).
#include "sim/vm.h"

#include <cerrno>

#include "loader/checked.h"

namespace execmap::sim {

MapResult VmOps::arch_unmapped_area(uint64_t addr, uint64_t len, uint32_t flags) const {
  const uint64_t page = P_.page_size;
  const uint64_t window = P_.default_map_window;
  if (len > P_.task_size) return MapResult::error(ENOMEM);
  if (flags & (kMapFixed | kMapFixedNoreplace)) return MapResult::at(addr);
  if (mm_.bottom_up) {
    // The legacy layout: arch_get_unmapped_area() (arch/x86/kernel/sys_x86_64.c), from
    // find_start_end()'s begin = mmap_legacy_base up to end = task_size_64bit(addr >
    // DEFAULT_MAP_WINDOW); a free hint below end - len is taken as it is.
    const uint64_t end = addr > window ? P_.task_size : window;
    if (len > end) return MapResult::error(ENOMEM);
    if (addr) {
      addr = page_align(addr, page);
      const Vma* v = as_.find_vma(addr);
      if (end - len >= addr && (!v || addr + len <= as_.vm_start_gap(*v))) return MapResult::at(addr);
    }
    if (auto a = as_.unmapped_area_bottomup(len, mm_.mmap_base, end)) return MapResult::at(*a);
    return MapResult::error(ENOMEM);
  }
  if (addr) {
    addr = page_start(addr, page);
    // mmap_address_hint_valid() (arch/x86/mm/mmap.c): inside TASK_SIZE, and not straddling
    // DEFAULT_MAP_WINDOW (only possible with 5-level paging, where TASK_SIZE is larger).
    if (!(P_.task_size - len < addr) && (addr > window) == (addr + len > window)) {
      const Vma* v = as_.find_vma(addr);
      if (!v || addr + len <= as_.vm_start_gap(*v)) return MapResult::at(addr);
    }
  }
  // A hint above DEFAULT_MAP_WINDOW, taken or not, opts in to the whole address space:
  // info.high_limit += TASK_SIZE_MAX - DEFAULT_MAP_WINDOW (arch_get_unmapped_area_topdown()),
  // and find_start_end() ends the bottom-up fallback at task_size_64bit(addr > window).
  const bool full = addr > window;
  const uint64_t high = mm_.mmap_base + (full ? P_.task_size - window : 0);
  // vm_unmapped_area() never goes below mmap_min_addr.
  uint64_t low = std::max(page, page_align(H_.mmap_min_addr, page));
  if (auto a = as_.unmapped_area_topdown(len, low, high)) return MapResult::at(*a);
  // "A failed mmap() very likely causes application failure, so fall back to bottom-up."
  if (auto a = as_.unmapped_area_bottomup(len, P_.task_unmapped_base, full ? P_.task_size : window))
    return MapResult::at(*a);
  return MapResult::error(ENOMEM);
}

MapResult VmOps::get_unmapped_area(bool is_file, uint64_t addr, uint64_t len, uint64_t off,
                                   uint32_t flags) const {
  const uint64_t page = P_.page_size;
  if (len > P_.task_size) return MapResult::error(ENOMEM);
  MapResult ret = MapResult::error(ENOMEM);
  bool done = false;
  bool fixed = flags & (kMapFixed | kMapFixedNoreplace);
  bool thp = (is_file && P_.file_thp_align) ||
             (!is_file && P_.anon_thp_align && !addr && len % P_.pmd_size == 0);
  if (thp && !fixed) {
    // __thp_get_unmapped_area()
    const uint64_t size = P_.pmd_size;
    uint64_t off_end = off + len;
    uint64_t off_align = (off + size - 1) & ~(size - 1);
    uint64_t len_pad = len + size;
    bool fits = !(off_end <= off_align || off_end - off_align < size) && len_pad >= len &&
                off + len_pad >= off;
    if (fits) {
      MapResult r = arch_unmapped_area(addr, len_pad, flags);
      if (r.ok) {
        if (r.addr == addr) {
          ret = r;  // "Do not try to align to THP boundary if allocation at the hint succeeds."
        } else {
          uint64_t off_sub = (off - r.addr) & (size - 1);
          // Before 6.8 an aligned top-down result stayed at the bottom of the padded area.
          // Only a top-down search (MMF_TOPDOWN) takes the top of the padded area.
          ret = MapResult::at(off_sub == 0 ? (P_.thp_topdown_top && !mm_.bottom_up ? r.addr + size
                                                                                 : r.addr)
                                           : r.addr + off_sub);
        }
        done = true;
      }
    }
  }
  if (!done) ret = arch_unmapped_area(addr, len, flags);
  if (!ret.ok) return ret;
  if (ret.addr > P_.task_size - len) return MapResult::error(ENOMEM);
  if (ret.addr & (page - 1)) return MapResult::error(EINVAL);
  // security_mmap_addr() -> cap_mmap_addr() (security/commoncap.c): below mmap_min_addr only
  // with CAP_SYS_RAWIO. Only a MAP_FIXED address can get here below it.
  if (ret.addr < H_.mmap_min_addr && !H_.cap_sys_rawio) return MapResult::error(EPERM);
  return ret;
}

bool VmOps::enough_memory(uint64_t bytes) const {
  // __vm_enough_memory() with vm.overcommit_memory = 0 (OVERCOMMIT_GUESS): one request may
  // not exceed total RAM plus swap.
  if (H_.overcommit_memory != 0 || !H_.commit_limit_pages) return true;
  return bytes / P_.page_size <= H_.commit_limit_pages;
}

MapResult VmOps::vm_mmap(int file, uint64_t addr, uint64_t len, uint32_t prot, uint32_t flags,
                         uint64_t off) {
  const uint64_t page = P_.page_size;
  // vm_mmap(): the offset must be page aligned and must not wrap.
  uint64_t alen = page_align(len, page);
  if (off + alen < off) return MapResult::error(EINVAL);
  if (off & (page - 1)) return MapResult::error(EINVAL);
  // do_mmap()
  if (!len) return MapResult::error(EINVAL);
  if (!alen) return MapResult::error(ENOMEM);
  uint64_t pgoff = off / page;
  if (pgoff + alen / page < pgoff) return MapResult::error(EOVERFLOW);
  // "Does the application expect PROT_READ to imply PROT_EXEC?" (a noexec mount would keep
  // it off; execmap does not model mount options here).
  if ((prot & PROT_R) && rie_) prot |= PROT_X;
  bool fixed = flags & (kMapFixed | kMapFixedNoreplace);
  if (!fixed && addr) {
    // round_hint_to_min()
    addr = page_start(addr, page);
    if (addr < H_.mmap_min_addr) addr = page_align(H_.mmap_min_addr, page);
  }
  MapResult a = get_unmapped_area(file >= 0, addr, alen, off, flags);
  if (!a.ok) return a;
  if (flags & kMapFixedNoreplace)
    if (as_.intersects(a.addr, a.addr + alen)) return MapResult::error(EEXIST);
  // MAP_FIXED unmaps what is there first; a refused split of a special mapping fails it.
  if (splits_special(a.addr, a.addr + alen))
    return MapResult::error(P_.mmap_fixed_unmap_errno ? EINVAL : ENOMEM);
  if (file >= 0) {
    // file_mmap_ok(): the range must stay inside MAX_LFS_FILESIZE.
    uint64_t maxsize = (1ull << 63) - 1;
    if (alen > maxsize || pgoff > (maxsize - alen) / page) return MapResult::error(EOVERFLOW);
  }
  bool shared = flags & kMapShared;
  // accountable_mapping(): private writable memory is charged (and marked VM_ACCOUNT).
  bool accounted = !shared && (prot & PROT_W);
  if (accounted && !enough_memory(alen)) return MapResult::error(ENOMEM);
  Vma v;
  v.start = a.addr;
  v.end = a.addr + alen;
  v.prot = prot;
  v.shared = shared;
  v.accounted = accounted;
  v.kind = file >= 0 ? Vma::Kind::File : Vma::Kind::Anon;
  v.file = file;
  v.pgoff = file >= 0 ? off : a.addr;
  as_.map(v);
  return a;
}

int VmOps::vm_brk_flags(uint64_t addr, uint64_t request, bool exec) {
  const uint64_t page = P_.page_size;
  uint64_t len = page_align(request, page);
  if (len < request) return -ENOMEM;
  if (!len) return 0;
  // check_brk_limits() -> get_unmapped_area(MAP_FIXED), security_mmap_addr() included
  if (len > P_.task_size || addr > P_.task_size - len) return -ENOMEM;
  if (addr & (page - 1)) return -EINVAL;
  if (addr < H_.mmap_min_addr && !H_.cap_sys_rawio) return -EPERM;
  if (!enough_memory(len)) return -ENOMEM;
  Vma v;
  v.start = addr;
  v.end = addr + len;
  v.prot = PROT_R | PROT_W | (exec || rie_ ? PROT_X : 0);
  v.accounted = true;
  v.kind = Vma::Kind::Anon;
  v.pgoff = addr;
  // do_brk_flags() only expands the previous VMA (vmg.just_expand: vma_merge_new_range()
  // never merges right), so a bss that ends where an older anonymous VMA starts stays a
  // separate VMA.
  as_.map(v, /*merge=*/false);
  if (const Vma* prev = addr ? as_.vma_at(addr - 1) : nullptr;
      prev && AddressSpace::mergeable(*prev, v)) {
    Vma grown = *prev;
    grown.end = v.end;
    as_.map(grown, /*merge=*/false);
  }
  return 0;
}

bool VmOps::splits_special(uint64_t start, uint64_t end) const {
  // special_mapping_split(): [vvar], [vdso] and friends refuse to be split (not in 5.10).
  if (!P_.special_mapping_no_split) return false;
  const Vma* a = as_.vma_at(start);
  if (a && a->kind == Vma::Kind::Special && a->start < start) return true;
  const Vma* b = end ? as_.vma_at(end - 1) : nullptr;
  return b && b->kind == Vma::Kind::Special && b->end > end;
}

int VmOps::munmap(uint64_t addr, uint64_t len) {
  const uint64_t page = P_.page_size;
  // do_vmi_munmap()
  if ((addr & (page - 1)) || addr > P_.task_size || len > P_.task_size - addr) return -EINVAL;
  uint64_t end = addr + page_align(len, page);
  if (end == addr) return -EINVAL;
  if (splits_special(addr, end)) return -EINVAL;
  as_.unmap(addr, end);
  return 0;
}

int VmOps::mprotect(uint64_t addr, uint64_t len, uint32_t prot) {
  const uint64_t page = P_.page_size;
  if (addr & (page - 1)) return -EINVAL;
  if (!len) return 0;
  len = page_align(len, page);
  uint64_t end = addr + len;
  if (end <= addr) return -ENOMEM;
  const Vma* first = as_.find_vma(addr);
  if (!first || first->start >= end || first->start > addr) return -ENOMEM;
  // Walk the contiguous VMAs from addr; a hole stops the walk after the part before it.
  uint64_t tmp = addr;
  while (tmp < end) {
    const Vma* v = as_.vma_at(tmp);
    if (!v) break;
    tmp = std::min(v->end, end);
  }
  // mprotect_fixup() leaves a VMA whose flags would not change alone, so only a special
  // mapping that really changes refuses the split.
  const Vma* a = as_.vma_at(addr);
  const Vma* b = as_.vma_at(tmp - 1);
  if (P_.special_mapping_no_split &&
      ((a && a->kind == Vma::Kind::Special && a->prot != prot && a->start < addr) ||
       (b && b->kind == Vma::Kind::Special && b->prot != prot && b->end > tmp)))
    return -EINVAL;
  as_.protect(addr, tmp, prot);
  return tmp < end ? -ENOMEM : 0;
}

uint64_t VmOps::brk(uint64_t newbrk_req) {
  const uint64_t page = P_.page_size;
  uint64_t origbrk = mm_.brk;
  uint64_t brk = newbrk_req;
  // !CONFIG_COMPAT_BRK: the break may not go below start_brk.
  if (brk < mm_.start_brk) return origbrk;
  // check_data_rlimit()
  if (H_.data_rlimit != kRlimInfinity &&
      (brk - mm_.start_brk) + (mm_.end_data - mm_.start_data) > H_.data_rlimit)
    return origbrk;
  uint64_t newbrk = page_align(brk, page);
  uint64_t oldbrk = page_align(mm_.brk, page);
  if (oldbrk == newbrk) {
    mm_.brk = brk;
    return brk;
  }
  if (brk <= mm_.brk) {
    // "Always allow shrinking brk": unmap [newbrk, oldbrk) from the brk VMA.
    const Vma* v = as_.find_vma(newbrk);
    if (!v || v->start >= oldbrk) return origbrk;
    mm_.brk = brk;
    as_.unmap(newbrk, oldbrk);
    return brk;
  }
  if (oldbrk > P_.task_size || newbrk - oldbrk > P_.task_size - oldbrk) return origbrk;
  // The next VMA must stay beyond the guard gap of the expansion.
  const Vma* next = as_.find_vma(oldbrk);
  if (next && newbrk + page > as_.vm_start_gap(*next)) return origbrk;
  if (!enough_memory(newbrk - oldbrk)) return origbrk;
  // do_brk_flags(): extend the brk VMA (vma_prev_limit(start_brk)) or create a new one that
  // merges with nothing.
  const Vma* prev = oldbrk ? as_.vma_at(oldbrk - 1) : nullptr;
  // 5.10's do_brk_flags() merged into any compatible previous VMA, the bss included.
  bool extend = prev && (P_.brk_merges_bss || prev->start >= mm_.start_brk) &&
                prev->kind == Vma::Kind::Anon &&
                prev->prot == (PROT_R | PROT_W | (rie_ ? PROT_X : 0)) && prev->accounted &&
                !prev->shared;
  Vma v;
  v.start = oldbrk;
  v.end = newbrk;
  v.prot = PROT_R | PROT_W | (rie_ ? PROT_X : 0);
  v.accounted = true;
  v.kind = Vma::Kind::Anon;
  v.pgoff = oldbrk;
  if (extend)
    as_.map(v);
  else
    as_.map(v, /*merge=*/false);
  mm_.brk = brk;
  return brk;
}

}  // namespace execmap::sim
