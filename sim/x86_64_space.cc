// The tables of Documentation/arch/x86/x86_64/mm.rst ("Complete virtual memory map with 4-level
// page tables" and "... with 5-level page tables"), copied from torvalds/linux at commit
// 03c601927b67 (the text Linux 6.18 ships), one SpaceRegion per row.
//
// Copied as printed, except: continuation lines are joined to their row; the two rows that
// only restate an address in another notation ("ffffffff80000000 |-2048 MB", the start of
// kernel text, and "ffffffffff000000 | -16 MB", MODULES_END) are left out; the notes are
// ours and cite the header that defines the bound.
#include "sim/x86_64_space.h"

namespace execmap::sim {

namespace {

using K = SpaceRegion::Kind;

constexpr const char* kKernelHeading = "Kernel-space virtual memory, shared between all processes:";
constexpr const char* kRandomizeMemory =
    "base randomised at boot, order kept: CONFIG_RANDOMIZE_MEMORY (arch/x86/mm/kaslr.c)";
constexpr const char* kImageSize =
    "KERNEL_IMAGE_SIZE is 1 GB with CONFIG_RANDOMIZE_BASE (asm/page_64_types.h)";
constexpr const char* kModules =
    "MODULES_VADDR = __START_KERNEL_map + KERNEL_IMAGE_SIZE: ffffffffc0000000, 1008 MB, with "
    "CONFIG_RANDOMIZE_BASE (asm/pgtable_64_types.h)";
constexpr const char* kFixmap = "FIXADDR_START = FIXADDR_TOP - FIXADDR_SIZE (asm/fixmap.h)";

// The part below -4 TB, identical in both tables ("Identical layout to the ... one from here
// on:"). heading is filled in per table.
std::vector<SpaceRegion> common_top(const char* heading) {
  return {
      {K::Unused, 0xfffffc0000000000, 0xfffffdffffffffff, false, "-4 TB", "2 TB",
       "... unused hole; vaddr_end for KASLR", heading, nullptr},
      {K::Kernel, 0xfffffe0000000000, 0xfffffe7fffffffff, false, "-2 TB", "0.5 TB",
       "cpu_entry_area mapping", nullptr, nullptr},
      {K::Unused, 0xfffffe8000000000, 0xfffffeffffffffff, false, "-1.5 TB", "0.5 TB",
       "... unused hole", nullptr, nullptr},
      {K::Kernel, 0xffffff0000000000, 0xffffff7fffffffff, false, "-1 TB", "0.5 TB",
       "%esp fixup stacks", nullptr, nullptr},
      {K::Unused, 0xffffff8000000000, 0xffffffeeffffffff, false, "-512 GB", "444 GB",
       "... unused hole", nullptr, nullptr},
      {K::Kernel, 0xffffffef00000000, 0xfffffffeffffffff, false, "-68 GB", "64 GB",
       "EFI region mapping space", nullptr, nullptr},
      {K::Unused, 0xffffffff00000000, 0xffffffff7fffffff, false, "-4 GB", "2 GB", "... unused hole",
       nullptr, nullptr},
      {K::Kernel, 0xffffffff80000000, 0xffffffff9fffffff, false, "-2 GB", "512 MB",
       "kernel text mapping, mapped to physical address 0", nullptr, kImageSize},
      {K::Kernel, 0xffffffffa0000000, 0xfffffffffeffffff, false, "-1536 MB", "1520 MB",
       "module mapping space", nullptr, kModules},
      {K::Kernel, 0, 0xffffffffff5fffff, /*start_varies=*/true, "~-11 MB", "~0.5 MB",
       "kernel-internal fixmap range, variable size and offset", nullptr, kFixmap},
      {K::Kernel, 0xffffffffff600000, 0xffffffffff600fff, false, "-10 MB", "4 kB",
       "legacy vsyscall ABI", nullptr, nullptr},
      {K::Unused, 0xffffffffffe00000, 0xffffffffffffffff, false, "-2 MB", "2 MB", "... unused hole",
       nullptr, nullptr},
  };
}

SpaceLayout four_level() {
  SpaceLayout s;
  s.paging = 4;
  s.va_bits = 48;
  s.user_end = 1ull << 47;
  s.task_size_max = (1ull << 47) - 4096;
  s.default_map_window = (1ull << 47) - 4096;
  s.title = "Complete virtual memory map with 4-level page tables";
  s.regions = {
      {K::User, 0x0000000000000000, 0x00007fffffffffff, false, "0", "128 TB",
       "user-space virtual memory, different per mm", nullptr, nullptr},
      {K::NonCanonical, 0x0000800000000000, 0xffff7fffffffffff, false, "+128 TB", "~16M TB",
       "... huge, almost 64 bits wide hole of non-canonical virtual memory addresses up to "
       "the -128 TB starting offset of kernel mappings.",
       nullptr, nullptr},
      {K::Unused, 0xffff800000000000, 0xffff87ffffffffff, false, "-128 TB", "8 TB",
       "... guard hole, also reserved for hypervisor", kKernelHeading, nullptr},
      {K::Kernel, 0xffff880000000000, 0xffff887fffffffff, false, "-120 TB", "0.5 TB",
       "LDT remap for PTI", nullptr, nullptr},
      {K::Kernel, 0xffff888000000000, 0xffffc87fffffffff, false, "-119.5 TB", "64 TB",
       "direct mapping of all physical memory (page_offset_base)", nullptr, kRandomizeMemory},
      {K::Unused, 0xffffc88000000000, 0xffffc8ffffffffff, false, "-55.5 TB", "0.5 TB",
       "... unused hole", nullptr, nullptr},
      {K::Kernel, 0xffffc90000000000, 0xffffe8ffffffffff, false, "-55 TB", "32 TB",
       "vmalloc/ioremap space (vmalloc_base)", nullptr, kRandomizeMemory},
      {K::Unused, 0xffffe90000000000, 0xffffe9ffffffffff, false, "-23 TB", "1 TB",
       "... unused hole", nullptr, nullptr},
      {K::Kernel, 0xffffea0000000000, 0xffffeaffffffffff, false, "-22 TB", "1 TB",
       "virtual memory map (vmemmap_base)", nullptr, kRandomizeMemory},
      {K::Unused, 0xffffeb0000000000, 0xffffebffffffffff, false, "-21 TB", "1 TB",
       "... unused hole", nullptr, nullptr},
      {K::Kernel, 0xffffec0000000000, 0xfffffbffffffffff, false, "-20 TB", "16 TB",
       "KASAN shadow memory", nullptr, nullptr},
  };
  for (auto& r : common_top("Identical layout to the 56-bit one from here on:"))
    s.regions.push_back(r);
  return s;
}

SpaceLayout five_level() {
  SpaceLayout s;
  s.paging = 5;
  s.va_bits = 57;
  s.user_end = 1ull << 56;
  s.task_size_max = (1ull << 56) - 4096;
  s.default_map_window = (1ull << 47) - 4096;
  s.title = "Complete virtual memory map with 5-level page tables";
  s.regions = {
      {K::User, 0x0000000000000000, 0x00ffffffffffffff, false, "0", "64 PB",
       "user-space virtual memory, different per mm", nullptr, nullptr},
      {K::NonCanonical, 0x0100000000000000, 0xfeffffffffffffff, false, "+64 PB", "~16K PB",
       "... huge, still almost 64 bits wide hole of non-canonical virtual memory addresses up "
       "to the -64 PB starting offset of kernel mappings.",
       nullptr, nullptr},
      {K::Unused, 0xff00000000000000, 0xff0fffffffffffff, false, "-64 PB", "4 PB",
       "... guard hole, also reserved for hypervisor", kKernelHeading, nullptr},
      {K::Kernel, 0xff10000000000000, 0xff10ffffffffffff, false, "-60 PB", "0.25 PB",
       "LDT remap for PTI", nullptr, nullptr},
      {K::Kernel, 0xff11000000000000, 0xff90ffffffffffff, false, "-59.75 PB", "32 PB",
       "direct mapping of all physical memory (page_offset_base)", nullptr, kRandomizeMemory},
      {K::Unused, 0xff91000000000000, 0xff9fffffffffffff, false, "-27.75 PB", "3.75 PB",
       "... unused hole", nullptr, nullptr},
      {K::Kernel, 0xffa0000000000000, 0xffd1ffffffffffff, false, "-24 PB", "12.5 PB",
       "vmalloc/ioremap space (vmalloc_base)", nullptr, kRandomizeMemory},
      {K::Unused, 0xffd2000000000000, 0xffd3ffffffffffff, false, "-11.5 PB", "0.5 PB",
       "... unused hole", nullptr, nullptr},
      {K::Kernel, 0xffd4000000000000, 0xffd5ffffffffffff, false, "-11 PB", "0.5 PB",
       "virtual memory map (vmemmap_base)", nullptr, kRandomizeMemory},
      {K::Unused, 0xffd6000000000000, 0xffdeffffffffffff, false, "-10.5 PB", "2.25 PB",
       "... unused hole", nullptr, nullptr},
      {K::Kernel, 0xffdf000000000000, 0xfffffbffffffffff, false, "-8.25 PB", "~8 PB",
       "KASAN shadow memory", nullptr, nullptr},
  };
  for (auto& r : common_top("Identical layout to the 47-bit one from here on:"))
    s.regions.push_back(r);
  return s;
}

}  // namespace

const SpaceLayout& x86_64_space(int paging) {
  static const SpaceLayout four = four_level();
  static const SpaceLayout five = five_level();
  return paging == 5 ? five : four;
}

}  // namespace execmap::sim
