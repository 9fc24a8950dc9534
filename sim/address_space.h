// The simulated mm: an ordered set of VMAs with the kernel's split and merge rules
// (mm/vma.c vma_merge_new_range, __split_vma) and its top-down free-area search
// (mm/mmap.c unmapped_area_topdown). Keyed by start address, so every operation is O(log n).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim/gap_tree.h"
#include "util/format.h"

namespace execmap::sim {

constexpr uint32_t PROT_R = util::kProtRead, PROT_W = util::kProtWrite, PROT_X = util::kProtExec;

struct Vma {
  enum class Kind : uint8_t { File, Anon, Stack, Special };
  uint64_t start = 0, end = 0;
  uint32_t prot = 0;      // PROT_R | PROT_W | PROT_X
  bool shared = false;    // VM_MAYSHARE: 's' in /proc/PID/maps
  bool accounted = false; // VM_ACCOUNT: private writable memory (see protect())
  Kind kind = Kind::Anon;
  int file = -1;          // open-file instance (vm_file); -1 when anonymous
  uint64_t pgoff = 0;     // file offset in bytes (vm_pgoff << PAGE_SHIFT); for anonymous
                          // memory the kernel uses the address, so linear merges always line up
  std::string name;       // Kind::Special: "[vvar]", "[vdso]", ...

  uint64_t size() const { return end - start; }
  bool growsdown() const { return kind == Kind::Stack; }
  bool operator==(const Vma& o) const {
    return start == o.start && end == o.end && prot == o.prot && shared == o.shared &&
           accounted == o.accounted && kind == o.kind && file == o.file && pgoff == o.pgoff &&
           name == o.name;
  }
};

class AddressSpace {
 public:
  explicit AddressSpace(uint64_t page_size = 4096, uint64_t stack_guard_gap = 1 << 20)
      : page_(page_size), guard_gap_(stack_guard_gap) {
    gaps_.insert(0, ~uint64_t(0));
  }

  const std::map<uint64_t, Vma>& vmas() const { return vmas_; }
  size_t count() const { return vmas_.size(); }
  uint64_t page_size() const { return page_; }

  // find_vma(): the first VMA with end > addr, or nullptr.
  const Vma* find_vma(uint64_t addr) const;
  // The VMA containing addr, or nullptr.
  const Vma* vma_at(uint64_t addr) const;
  bool intersects(uint64_t start, uint64_t end) const;

  // Removes [start, end), splitting VMAs that straddle either edge (do_vmi_munmap).
  void unmap(uint64_t start, uint64_t end);
  // MAP_FIXED semantics: unmaps whatever is in [v.start, v.end), inserts v, and merges it
  // with compatible neighbours as vma_merge_new_range() does (unless merge is false, as for
  // a new brk VMA, which do_brk_flags() creates without trying to merge).
  void map(const Vma& v, bool merge = true);
  // Changes protection of [start, end) (mprotect_fixup): split, then merge with neighbours.
  // Returns false if part of the range is unmapped (the kernel's ENOMEM).
  bool protect(uint64_t start, uint64_t end, uint32_t prot);
  // Moves the start of a growsdown VMA down to new_start (expand_downwards).
  bool expand_down(uint64_t vma_start, uint64_t new_start);

  // vm_start_gap(): a growsdown VMA claims stack_guard_gap below its start.
  uint64_t vm_start_gap(const Vma& v) const;
  // unmapped_area_topdown(): highest address a of [low, high) with [a, a+len) free, aligned so
  // that (a - align_offset) & align_mask == 0, respecting guard gaps.
  std::optional<uint64_t> unmapped_area_topdown(uint64_t len, uint64_t low, uint64_t high,
                                                uint64_t align_mask = 0,
                                                uint64_t align_offset = 0) const;
  std::optional<uint64_t> unmapped_area_bottomup(uint64_t len, uint64_t low, uint64_t high,
                                                 uint64_t align_mask = 0,
                                                 uint64_t align_offset = 0) const;

  // Whether the kernel would merge a (ending where b starts) with b.
  static bool mergeable(const Vma& a, const Vma& b);
  // Empty string when sorted, non-overlapping, page-aligned, non-empty and fully merged.
  std::string check_invariants() const;

 private:
  void split_at(uint64_t addr);
  void merge_around(uint64_t start);
  // Re-derives the free gaps touching [lo, hi] after the mapped ranges there changed.
  void refresh_gaps(uint64_t lo, uint64_t hi);
  std::map<uint64_t, Vma> vmas_;
  GapTree gaps_;  // complement of vmas_, for O(log n) top-down searches
  uint64_t page_;
  uint64_t guard_gap_;
};

}  // namespace execmap::sim
