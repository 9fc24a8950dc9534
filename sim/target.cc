// The rule table and profile_for(): one row per kernel behaviour that changed between the
// modelled versions, each citing its source, folded once into an immutable profile.
#include "sim/target.h"

#include <cctype>
#include <cstdlib>

namespace execmap::sim {

bool parse_kernel_version(const std::string& s, KernelVersion* out) {
  size_t i = 0;
  auto number = [&](unsigned* v) {
    size_t start = i;
    unsigned long n = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && i - start < 4)
      n = n * 10 + unsigned(s[i++] - '0');
    *v = unsigned(n);
    return i > start;
  };
  KernelVersion v;
  if (!number(&v.major) || i >= s.size() || s[i] != '.') return false;
  ++i;
  if (!number(&v.minor)) return false;
  // What may follow: nothing, ".patch", or "-release".
  if (i < s.size() && s[i] != '.' && s[i] != '-' && s[i] != '+') return false;
  *out = v;
  return true;
}

const char* arch_name(Arch a) {
  switch (a) {
    case Arch::x86_64: return "x86_64";
  }
  return "?";
}

const char* vsyscall_name(VsyscallMode m) {
  switch (m) {
    case VsyscallMode::none: return "none";
    case VsyscallMode::xonly: return "xonly";
    case VsyscallMode::emulate: return "emulate";
  }
  return "?";
}

const std::vector<KernelVersion>& modelled_kernels() {
  static const std::vector<KernelVersion> v = {{5, 10}, {6, 1}, {6, 12}, {6, 18}, {7, 2}};
  return v;
}

bool nearest_modelled(KernelVersion v, KernelVersion* out, bool* exact) {
  const auto& m = modelled_kernels();
  if (v < m.front()) return false;
  KernelVersion best = m.front();
  for (KernelVersion k : m)
    if (k <= v) best = k;
  *out = best;
  *exact = best == v;
  return true;
}

namespace {

constexpr Arch kX86 = Arch::x86_64;

// The base is 5.10 (Debian 11's 5.10.223): its row sets every switch a later row changes
// back to 5.10's value; the declared defaults of KernelProfile (sim/profile.h) are 6.18's.
// `since` is the first modelled Debian kernel a behaviour applies to; where Debian's stable
// kernel carries a later upstream change, `what` names the upstream release too.
const std::vector<KernelRule> kRules = {
    {{5, 10}, {kX86}, "baseline",
     "5.10: bss by set_brk() over elf_bss/elf_brk with a fatal final padzero(); brk of an "
     "ET_DYN without interpreter moved only when randomizing, by 32 MiB at most, no gap page; "
     "no p_align for static PIE; MAP_FIXED for the first segment; total_mapping_size() from "
     "the first to the last PT_LOAD; vdso hinted above the stack; inclusive [heap] test; no "
     "file or anonymous THP alignment; brk(2) merges into the bss; special mappings split like "
     "any VMA, a failed MAP_FIXED unmap is ENOMEM; program headers at most one page; [vvar] 4 "
     "pages + [vdso]; no AT_MINSIGSTKSZ or AT_RSEQ_*",
     "fs/binfmt_elf.c load_elf_binary(), set_brk(), load_elf_interp(), total_mapping_size(), "
     "load_elf_phdrs(); arch/x86/entry/vdso/vma.c vdso_addr(); fs/proc/task_mmu.c "
     "show_map_vma(); mm/huge_memory.c thp_get_unmapped_area(); mm/mmap.c do_brk_flags(), "
     "__split_vma(), mmap_region() munmap_vma_range(); "
     "arch/x86/kernel/process.c arch_randomize_brk(); arch/x86/include/asm/elf.h ARCH_DLINFO",
     "", [](KernelProfile& p) {
       p.exe_bss_elf_load = false;
       p.exe_padzero_write_only = false;
       p.interp_bss_elf_load = false;
       p.static_pie_brk_always_moved = false;
       p.brk_gap_page = false;
       p.brk_rnd_range = 32ull << 20;
       p.static_pie_align = false;
       p.first_map_noreplace = false;
       p.total_size_minmax = false;
       p.vdso_above_stack = true;
       p.heap_name_inclusive = true;
       p.thp_topdown_top = false;
       p.anon_thp_align = false;
       p.file_thp_align = false;
       p.brk_merges_bss = true;
       p.special_mapping_no_split = false;
       p.mmap_fixed_unmap_errno = false;
       p.phdr_table_max_page = true;
       p.vdso_block = {{"[vvar]", 0x4000, 1}, {"[vdso]", 0x2000, 5}};
       p.vdso_text_offset = 0x4000;
       p.auxv_order = {33, 16, 6, 17, 3, 4, 5, 7, 8, 9, 11, 12, 13, 14, 23, 25, 26, 31, 15};
       p.ia32.vdso_size = 0x2000;
       p.ia32.sysinfo_offset = 0x550;
     }},
    {{6, 1}, {kX86}, "auxv_order",
     "AT_MINSIGSTKSZ right after AT_SYSINFO_EHDR (upstream 5.14)",
     "arch/x86/include/asm/elf.h ARCH_DLINFO, expanded in fs/binfmt_elf.c create_elf_tables()",
     "x86/elf: Support a new ELF aux vector AT_MINSIGSTKSZ",
     [](KernelProfile& p) {
       p.auxv_order = {33, 51, 16, 6, 17, 3, 4, 5, 7, 8, 9, 11, 12, 13, 14, 23, 25, 26, 31, 15};
     }},
    {{6, 1}, {kX86}, "first_map_noreplace",
     "the first PT_LOAD of ET_EXEC and PIE maps with MAP_FIXED_NOREPLACE: a collision kills "
     "instead of replacing (upstream 5.17)",
     "fs/binfmt_elf.c load_elf_binary()", "binfmt_elf: reintroduce using MAP_FIXED_NOREPLACE",
     [](KernelProfile& p) { p.first_map_noreplace = true; }},
    {{6, 1}, {kX86}, "total_size_minmax",
     "total_mapping_size() spans the lowest to the highest PT_LOAD (upstream 5.17)",
     "fs/binfmt_elf.c total_mapping_size()",
     "ELF: fix overflow in total mapping size calculation",
     [](KernelProfile& p) { p.total_size_minmax = true; }},
    {{6, 1}, {kX86}, "file_thp_align",
     "file mappings of 2 MiB or more are PMD-aligned, not only DAX ones (upstream 5.18)",
     "mm/huge_memory.c thp_get_unmapped_area()",
     "mm/readahead: Align file mappings for non-DAX",
     [](KernelProfile& p) { p.file_thp_align = true; }},
    {{6, 1}, {kX86}, "brk_merges_bss",
     "brk(2) looks for the brk VMA only from start_brk on: the heap never merges into the bss "
     "(maple tree brk, upstream 6.1)",
     "mm/mmap.c brk(), do_brk_flags()", "mm: convert brk to use vma iterator / maple tree",
     [](KernelProfile& p) { p.brk_merges_bss = false; }},
    {{6, 1}, {kX86}, "special_mapping_no_split",
     "munmap, mprotect and MAP_FIXED may not split [vvar] or [vdso]: EINVAL, and a MAP_FIXED "
     "over part of one fails with ENOMEM (measured on 6.1.176: mmap_region() maps any failure "
     "of its unmap to ENOMEM) (upstream 5.11)",
     "mm/mmap.c special_mapping_split(), __split_vma() vm_ops->may_split, mmap_region()",
     "mm: forbid splitting special mappings",
     [](KernelProfile& p) { p.special_mapping_no_split = true; }},
    {{6, 1}, {kX86}, "exe_bss_elf_load",
     "each PT_LOAD of the program gets its bss from elf_load() right after it; a padzero() "
     "failure is ignored (upstream 6.7; Debian 6.1.140 backport of the program part only)",
     "fs/binfmt_elf.c elf_load(), load_elf_binary()",
     "binfmt_elf: Support segments with 0 filesz and misaligned starts",
     [](KernelProfile& p) { p.exe_bss_elf_load = true; }},
    {{6, 1}, {kX86}, "static_pie_align",
     "an ET_DYN without interpreter honours p_align above the page size: probe, unmap, align "
     "down, MAP_FIXED_NOREPLACE (upstream 6.10; Debian 6.1.140)",
     "fs/binfmt_elf.c load_elf_binary()",
     "binfmt_elf: Honor PT_LOAD alignment for static PIE",
     [](KernelProfile& p) { p.static_pie_align = true; }},
    {{6, 1}, {kX86}, "brk_gap_page",
     "a randomized brk starts one page after the bss unless brk was moved (upstream 6.10; "
     "Debian 6.1.140)",
     "fs/binfmt_elf.c load_elf_binary()", "binfmt_elf: Leave a gap between .bss and brk",
     [](KernelProfile& p) { p.brk_gap_page = true; }},
    {{6, 1}, {kX86}, "static_pie_brk_always_moved",
     "an ET_DYN without interpreter gets brk at ELF_ET_DYN_BASE even with ASLR off (upstream "
     "6.15; Debian 6.1.140 and 6.12.30)",
     "fs/binfmt_elf.c load_elf_binary()",
     "binfmt_elf: Move brk for static PIE even if ASLR disabled",
     [](KernelProfile& p) { p.static_pie_brk_always_moved = true; }},
    {{6, 1}, {kX86}, "brk_rnd_range",
     "arch_randomize_brk() draws in 1 GiB, not 32 MiB, for 64-bit tasks (upstream 6.9; "
     "5.10.226 and 6.1.112 stable)",
     "arch/x86/kernel/process.c arch_randomize_brk()",
     "x86: Increase brk randomness entropy for 64-bit systems",
     [](KernelProfile& p) { p.brk_rnd_range = 1ull << 30; }},
    {{6, 12}, {kX86}, "auxv_order",
     "AT_RSEQ_FEATURE_SIZE and AT_RSEQ_ALIGN after AT_PLATFORM (upstream 6.3)",
     "fs/binfmt_elf.c create_elf_tables()",
     "rseq: Introduce feature size and alignment ELF auxiliary vector entries",
     [](KernelProfile& p) {
       p.auxv_order = {33, 51, 16, 6, 17, 3, 4, 5, 7, 8, 9, 11,
                       12, 13, 14, 23, 25, 26, 31, 15, 27, 28};
       p.rseq_feature_size = 28;
       p.rseq_align = 32;
     }},
    {{6, 12}, {kX86}, "heap_name_inclusive",
     "[heap] only for a VMA that strictly overlaps [start_brk, brk) (upstream 6.7)",
     "fs/proc/task_mmu.c show_map_vma(), include/linux/mm.h vma_is_initial_heap()",
     "mm: fix VMA heap bounds checking",
     [](KernelProfile& p) { p.heap_name_inclusive = false; }},
    {{6, 12}, {kX86}, "interp_bss_elf_load",
     "the interpreter's segments get their bss from elf_load() too (upstream 6.7)",
     "fs/binfmt_elf.c load_elf_interp()", "binfmt_elf: Use elf_load() for interpreter",
     [](KernelProfile& p) { p.interp_bss_elf_load = true; }},
    {{6, 12}, {kX86}, "exe_padzero_write_only",
     "a padzero() failure fails the exec only for a writable segment (upstream 6.7)",
     "fs/binfmt_elf.c elf_load()",
     "binfmt_elf: Only report padzero() errors when PROT_WRITE",
     [](KernelProfile& p) { p.exe_padzero_write_only = true; }},
    {{6, 12}, {kX86}, "thp_topdown_top",
     "an already aligned top-down THP search result is the top of the padded area (upstream "
     "6.8)",
     "mm/huge_memory.c __thp_get_unmapped_area()",
     "mm: thp_get_unmapped_area must honour topdown preference",
     [](KernelProfile& p) { p.thp_topdown_top = true; }},
    {{6, 12}, {kX86}, "anon_thp_align",
     "anonymous mmaps of a PMD multiple without a hint are PMD-aligned (upstream 6.8, limited "
     "to PMD-multiple sizes in 6.12)",
     "mm/mmap.c __get_unmapped_area()",
     "mm: align larger anonymous mappings on THP boundaries",
     [](KernelProfile& p) { p.anon_thp_align = true; }},
    {{6, 12}, {kX86}, "mmap_fixed_unmap_errno",
     "a MAP_FIXED whose implied unmap fails returns that error (EINVAL for a special "
     "mapping) instead of ENOMEM (upstream 6.12: the unmap is gathered before mapping, "
     "measured on 6.12.117)",
     "mm/mmap.c __mmap_region() vms_gather_munmap_vmas()", "",
     [](KernelProfile& p) { p.mmap_fixed_unmap_errno = true; }},
    {{6, 12}, {kX86}, "vdso_above_stack",
     "the vdso goes top-down below mmap_base, never at a random page above the stack "
     "(upstream 6.9)",
     "arch/x86/entry/vdso/vma.c map_vdso()", "x86/vdso: Move vDSO to mmap region",
     [](KernelProfile& p) { p.vdso_above_stack = false; }},
    {{6, 12}, {kX86}, "ia32.vdso",
     "the 32-bit vdso image: 2 pages, __kernel_vsyscall at +0x580 (measured on Debian "
     "6.12.117)",
     "arch/x86/entry/vdso/vma.c load_vdso32(), vdso32/system_call.S", "",
     [](KernelProfile& p) {
       p.ia32.vdso_size = 0x2000;
       p.ia32.sysinfo_offset = 0x580;
     }},
    {{6, 18}, {kX86}, "vdso_block",
     "[vvar] 4 pages, [vvar_vclock] 2 pages, then [vdso]; AT_SYSINFO_EHDR at +0x6000 "
     "(upstream 6.13 split the vclock pages, 6.15 moved to the generic data store)",
     "arch/x86/entry/vdso/vma.c map_vdso()",
     "x86/vdso: Switch to generic storage implementation",
     [](KernelProfile& p) {
       p.vdso_block = {{"[vvar]", 0x4000, 1}, {"[vvar_vclock]", 0x2000, 1}, {"[vdso]", 0x2000, 5}};
       p.vdso_text_offset = 0x6000;
     }},
    {{6, 18}, {kX86}, "ia32.vdso",
     "the 32-bit vdso image: 2 pages, __kernel_vsyscall at +0x5e0 (measured live on "
     "6.18.44, the first host here that runs ia32 programs)",
     "arch/x86/entry/vdso/vma.c load_vdso32(), vdso32/system_call.S", "",
     [](KernelProfile& p) {
       p.ia32.vdso_size = 0x2000;
       p.ia32.sysinfo_offset = 0x5e0;
     }},
    {{6, 18}, {kX86}, "phdr_table_max_page",
     "load_elf_phdrs() accepts program header tables larger than one page, up to 64 KiB "
     "(upstream 6.17)",
     "fs/binfmt_elf.c load_elf_phdrs()",
     "binfmt_elf: remove the 4k limitation of program header size",
     [](KernelProfile& p) { p.phdr_table_max_page = false; }},
    {{7, 2}, {kX86}, "rseq",
     "AT_RSEQ_FEATURE_SIZE 33 and AT_RSEQ_ALIGN 64: struct rseq gained slice_ctrl (upstream "
     "7.0)",
     "fs/binfmt_elf.c create_elf_tables(), include/uapi/linux/rseq.h, rseq_alloc_align()",
     "rseq: Add fields and constants for time slice extension",
     [](KernelProfile& p) {
       p.rseq_feature_size = 33;
       p.rseq_align = 64;
     }},
    {{7, 2}, {kX86}, "ia32.vdso",
     "the 32-bit vdso image: 3 pages, __kernel_vsyscall at +0x1e70 (measured on Debian 7.2.13)",
     "arch/x86/entry/vdso/vma.c load_vdso32(), vdso32/system_call.S", "",
     [](KernelProfile& p) {
       p.ia32.vdso_size = 0x3000;
       p.ia32.sysinfo_offset = 0x1e70;
     }},
};

}  // namespace

const std::vector<KernelRule>& kernel_rules() { return kRules; }

KernelProfile compat_profile(const KernelProfile& native, uint32_t personality) {
  KernelProfile p = native;
  p.compat = true;
  // TASK_SIZE of a TIF_ADDR32 task is IA32_PAGE_OFFSET: 0xFFFFe000, or 3 GiB under
  // ADDR_LIMIT_3GB (arch/x86/include/asm/page_64_types.h, processor.h). STACK_TOP =
  // TASK_SIZE_LOW and task_size_32bit() (mmap_base) are the same value. STACK_TOP_MAX stays
  // TASK_SIZE_MAX: __bprm_mm_init() built the temporary stack before the personality changed.
  constexpr uint32_t kAddrLimit3gb = 0x8000000;
  const uint64_t top = (personality & kAddrLimit3gb) ? 0xc0000000ull : 0xffffe000ull;
  p.task_size = p.default_map_window = p.stack_top = top;
  // __TASK_UNMAPPED_BASE(task_size_32bit()) = PAGE_ALIGN(task_size / 3): the legacy base.
  p.task_unmapped_base = (top / 3 + p.page_size - 1) & ~(p.page_size - 1);
  // compat_binfmt_elf.c replaces ELF_ET_DYN_BASE with COMPAT_ELF_ET_DYN_BASE =
  // TASK_UNMAPPED_BASE + 0x1000000 (arch/x86/include/asm/elf.h), TASK_UNMAPPED_BASE taken for the
  // ia32 TASK_SIZE: 0x56555000 (0x41000000 under ADDR_LIMIT_3GB). A static PIE's brk moves there.
  p.elf_et_dyn_base = p.task_unmapped_base + 0x1000000;
  // STACK_RND_MASK = __STACK_RND_MASK(mmap_is_ia32()) = 0x7ff pages (arch/x86/include/asm/elf.h).
  p.stack_rnd_range = 0x800 * p.page_size;
  // arch_randomize_brk(): randomize_page(mm->brk, SZ_32M) for mmap_is_ia32()
  // (arch/x86/kernel/process.c).
  p.brk_rnd_range = 32ull << 20;
  // get_gate_vma(): no [vsyscall] without MM_CONTEXT_HAS_VSYSCALL, which only
  // set_personality_64bit() sets (arch/x86/entry/vsyscall/vsyscall_64.c).
  p.vsyscall = false;
  // thp_get_unmapped_area_vmflags() leaves compat mappings unaligned ("mm: huge_memory: don't
  // force huge page alignment on 32 bit"), and so does __get_unmapped_area() for anonymous ones.
  p.file_thp_align = false;
  p.anon_thp_align = false;
  // load_vdso32() -> map_vdso(&vdso_image_32, 0): never vdso_addr()'s hint above the stack,
  // which map_vdso_randomized() gives 64-bit tasks before 6.9.
  p.vdso_above_stack = false;
  // compat_binfmt_elf.c: elf_addr_t is u32, struct elf_phdr is Elf32_Phdr, ELF_PLATFORM is
  // COMPAT_ELF_PLATFORM ("i686"); ARCH_DLINFO is ARCH_DLINFO_IA32, which emits AT_SYSINFO
  // (__kernel_vsyscall) before the entries ARCH_DLINFO has on 64-bit.
  p.elf_word = 4;
  p.phent = 32;
  p.elf_platform = "i686";
  p.auxv_order.insert(p.auxv_order.begin(), 32);
  // load_vdso32() -> map_vdso(&vdso_image_32, 0): the same [vvar] pages, the 32-bit image.
  for (SpecialMapping& m : p.vdso_block)
    if (m.name == "[vdso]") m.size = p.ia32.vdso_size;
  p.name += " ia32";
  return p;
}

std::string target_label(const KernelProfile& p) {
  return p.name + " (vsyscall=" + p.vsyscall_mode + ", paging=" + std::to_string(p.paging) + ")";
}

KernelProfile profile_for(const TargetKey& key, const KernelMeasurement* measurement) {
  KernelProfile p;
  for (const KernelRule& r : kRules) {
    if (key.kernel < r.since) continue;
    bool arch = false;
    for (Arch a : r.arches) arch |= a == key.arch;
    if (arch) r.apply(p);
  }
  p.kernel = key.kernel.str();
  p.arch = arch_name(key.arch);
  p.name = "linux-" + p.kernel + "-" + p.arch;
  // Build and boot options.
  p.vsyscall = key.config.vsyscall != VsyscallMode::none;
  p.vsyscall_mode = vsyscall_name(key.config.vsyscall);
  p.paging = key.config.paging;
  p.ia32.enabled = key.config.ia32;
  if (p.paging == 5) {
    // 5-level paging (CONFIG_X86_5LEVEL on a CPU with LA57): __VIRTUAL_MASK_SHIFT is 56, so
    // TASK_SIZE_MAX = STACK_TOP_MAX = 2^56 - PAGE_SIZE (arch/x86/include/asm/page_64_types.h
    // task_size_max()); DEFAULT_MAP_WINDOW, STACK_TOP, ELF_ET_DYN_BASE and mmap_base stay
    // in the 47-bit window so that programs never see an address they did not ask for.
    p.task_size = (uint64_t(1) << 56) - p.page_size;
    p.stack_top_max = p.task_size;
  }
  if (!key.config.vdso_block.empty()) {
    p.vdso_block = key.config.vdso_block;
    p.vdso_text_offset = key.config.vdso_text_offset;
  }
  if (measurement && measurement->valid) {
    p.auxv_order = measurement->auxv_order;
    if (measurement->rseq_feature_size) p.rseq_feature_size = *measurement->rseq_feature_size;
    if (measurement->rseq_align) p.rseq_align = *measurement->rseq_align;
  }
  return p;
}

}  // namespace execmap::sim
