// The whole x86_64 virtual address space as the kernel documents it: the tables of
// Documentation/arch/x86/x86_64/mm.rst for 4- and 5-level paging, as data (no I/O).
#pragma once

#include <cstdint>
#include <vector>

namespace execmap::sim {

struct SpaceRegion {
  enum class Kind { User, NonCanonical, Kernel, Unused };
  Kind kind = Kind::Kernel;
  uint64_t start = 0;
  uint64_t last = 0;              // the last byte, inclusive, as mm.rst prints it
  bool start_varies = false;      // mm.rst gives FIXADDR_START, not a number: start is unset
  const char* offset = "";        // mm.rst "Offset": distance from 0, or from the top if negative
  const char* size = "";          // mm.rst "Size", as printed there ("~16M TB", "0.5 TB")
  const char* description = "";   // mm.rst's text; continuation lines joined with a space
  const char* heading = nullptr;  // mm.rst's section line printed above this region
  const char* note = nullptr;     // ours, not mm.rst's: what the table leaves implicit
};

struct SpaceLayout {
  int paging = 4;    // levels of page tables
  int va_bits = 48;  // implemented virtual address bits (__VIRTUAL_MASK_SHIFT + 1)
  // The first address above the user half: 1 << 47 (4-level) or 1 << 56 (5-level).
  uint64_t user_end = 0;
  // TASK_SIZE_MAX = (1 << __VIRTUAL_MASK_SHIFT) - PAGE_SIZE (page_64_types.h): the top
  // user page is never mapped, so no instruction can run into the non-canonical hole.
  uint64_t task_size_max = 0;
  // DEFAULT_MAP_WINDOW = (1 << 47) - PAGE_SIZE in both modes: with 5-level paging exec
  // still places the stack and mmap_base below it; higher addresses need an mmap() hint.
  uint64_t default_map_window = 0;
  const char* title = "";
  std::vector<SpaceRegion> regions;  // ascending addresses
};

// paging is 4 or 5; anything else gives the 4-level table.
const SpaceLayout& x86_64_space(int paging);

}  // namespace execmap::sim
