// Kernel profiles: every constant the simulated execve uses, as data. Each field names the
// kernel function (Linux 6.18, x86_64) it comes from; no pass has a magic number of its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace execmap::sim {

constexpr uint64_t kRlimInfinity = ~uint64_t(0);

// One of the special mappings installed by map_vdso() (arch/x86/entry/vdso/vma.c), in
// ascending address order inside the block.
struct SpecialMapping {
  std::string name;  // "[vvar]", "[vvar_vclock]", "[vdso]"
  uint64_t size = 0;
  uint32_t prot = 0;  // PROT_* bits
};

// Values that depend on the machine and the caller, not on the kernel: the CPU, the
// credentials, the rlimits and the sysctls. live/host_probe.cc fills them from this machine;
// a capture or --host-value can give them too. They never overwrite a KernelProfile field.
struct HostState {
  std::string source = "default";  // "host", "default", "capture" or "vm"
  // CPU values.
  uint64_t hwcap = 0x178bfbff;     // ELF_HWCAP: CPUID 1 EDX (arch/x86/include/asm/elf.h)
  uint64_t hwcap2 = 0x2;           // ELF_HWCAP2: HWCAP2_FSGSBASE
  uint64_t minsigstksz = 3376;     // get_sigframe_size() (arch/x86/kernel/signal.c), XSAVE size
  uint64_t clktck = 100;           // CLOCKS_PER_SEC = USER_HZ
  std::string platform = "x86_64"; // ELF_PLATFORM = utsname()->machine
  // Explicit --host-value overrides of the kernel-provided AT_RSEQ_* values (none by default:
  // the kernel version decides them, KernelProfile::rseq_*).
  std::optional<uint64_t> rseq_feature_size, rseq_align;
  // Credentials.
  uint64_t uid = 0, euid = 0, gid = 0, egid = 0;
  uint64_t secure = 0;             // bprm->secureexec
  uint64_t no_new_privs = 0;       // PR_SET_NO_NEW_PRIVS of the caller: set-ID bits then ignored
  // Traced by a tracer that may not trace the new credentials (ptracer_capable() false: not
  // root in the user namespace): a set-ID exec then keeps the caller's euid/egid, though it is
  // still a secure exec (security/commoncap.c cap_bprm_creds_from_file()).
  uint64_t traced_unprivileged = 0;
  // vm.legacy_va_layout: every exec gets the legacy bottom-up layout (mmap_is_legacy()).
  uint64_t legacy_va_layout = 0;
  // CAP_SYS_RAWIO in the caller's effective set: MMAP_PAGE_ZERO may map page 0 below
  // mmap_min_addr (security/commoncap.c cap_mmap_addr()).
  uint64_t cap_sys_rawio = 0;
  // Resource limits.
  uint64_t stack_rlimit = 8ull << 20;  // RLIMIT_STACK rlim_cur (bprm->rlim_stack)
  uint64_t data_rlimit = kRlimInfinity;  // RLIMIT_DATA rlim_cur (check_data_rlimit in brk)
  // Sysctls.
  // mmap_min_addr: max(vm.mmap_min_addr, CONFIG_LSM_MMAP_MIN_ADDR) (security/min_addr.c
  // update_mmap_min_addr()); 65536 on Debian's kernel config, measured by the host probe.
  uint64_t mmap_min_addr = 65536;
  // kernel.randomize_va_space: 2 randomises brk too (load_elf_binary), 1 all but brk, 0 none.
  uint64_t randomize_va_space = 2;
  // vm.mmap_rnd_bits (CONFIG_ARCH_MMAP_RND_BITS = 28): arch_rnd() for mmap_base and the PIE bias.
  uint64_t mmap_rnd_bits = 28;
  // vm.mmap_rnd_compat_bits (CONFIG_ARCH_MMAP_RND_COMPAT_BITS = 8): arch_rnd(mmap32_rnd_bits)
  // for an ia32 task's mmap_base and PIE bias (arch/x86/mm/mmap.c).
  uint64_t mmap_rnd_compat_bits = 8;
  // vm.overcommit_memory and, for mode 0, totalram_pages() + total_swap_pages: the largest
  // single charge __vm_enough_memory() allows (MemTotal + SwapTotal of /proc/meminfo).
  uint64_t overcommit_memory = 0;
  uint64_t commit_limit_pages = 0;  // 0: unknown, no limit applied
};

// What an ia32 program (EM_386, loaded by fs/compat_binfmt_elf.c) gets that differs by kernel
// build: the 32-bit vdso image (arch/x86/entry/vdso/vdso32/, vdso_image_32).
struct Ia32Values {
  // compat_elf_check_arch() (arch/x86/include/asm/elf.h): CONFIG_IA32_EMULATION and
  // ia32_enabled() (ia32_emulation= on the command line; CONFIG_IA32_EMULATION_DEFAULT_DISABLED
  // from 6.7). False: an EM_386 program is ENOEXEC.
  bool enabled = true;
  uint64_t vdso_size = 0x2000;        // vdso_image_32.size: the [vdso] of an ia32 task
  uint64_t sysinfo_offset = 0x580;    // vdso_image_32.sym___kernel_vsyscall: AT_SYSINFO
};

struct KernelProfile {
  std::string name = "linux-6.18-x86_64";
  // ELF_MIN_ALIGN / PAGE_SIZE (fs/binfmt_elf.c, arch/x86/include/asm/page_types.h).
  uint64_t page_size = 4096;
  // TASK_SIZE of a 64-bit task = TASK_SIZE_MAX = (1 << __VIRTUAL_MASK_SHIFT) - PAGE_SIZE
  // (arch/x86/include/asm/page_64_types.h): 2^47 - 4 KiB with 4-level paging, 2^56 - 4 KiB
  // with 5-level (profile_for() sets it from KernelConfig::paging). Every "past TASK_SIZE"
  // check of exec and of the mm system calls uses it.
  uint64_t task_size = 0x7ffffffff000;
  // DEFAULT_MAP_WINDOW = (1 << 47) - PAGE_SIZE in both modes (page_64_types.h): mmap_base
  // (task_size_64bit(0) in arch_pick_mmap_layout()), STACK_TOP = TASK_SIZE_LOW, vdso_addr()'s
  // limit, and the top-down search unless an mmap() hint lies above it
  // (arch/x86/kernel/sys_x86_64.c arch_get_unmapped_area_topdown()).
  uint64_t default_map_window = 0x7ffffffff000;
  // STACK_TOP = TASK_SIZE_LOW = DEFAULT_MAP_WINDOW (arch/x86/include/asm/page_64_types.h).
  uint64_t stack_top = 0x7ffffffff000;
  // STACK_TOP_MAX = TASK_SIZE_MAX: where __bprm_mm_init() (fs/exec.c) puts the temporary stack
  // that setup_arg_pages() then shifts down to the (randomized) STACK_TOP.
  uint64_t stack_top_max = 0x7ffffffff000;
  // ELF_ET_DYN_BASE = DEFAULT_MAP_WINDOW / 3 * 2 (arch/x86/include/asm/elf.h).
  uint64_t elf_et_dyn_base = 0x555555554aaa;
  // TASK_UNMAPPED_BASE = PAGE_ALIGN(TASK_SIZE_LOW / 3) for the legacy bottom-up layout
  // (arch/x86/include/asm/processor.h).
  uint64_t task_unmapped_base = 0x2aaaaaaab000;
  // stack_guard_gap = 256 << PAGE_SHIFT (mm/mmap.c).
  uint64_t stack_guard_gap = 1ull << 20;
  // mmap_base(): gap clamped to [SIZE_128M, task_size / 6 * 5] (arch/x86/mm/mmap.c).
  uint64_t mmap_gap_min = 128ull << 20;
  // setup_arg_pages(): stack_expand = 131072 (mm/vma_exec.c since 6.16).
  uint64_t stack_expand = 131072;
  // MAX_ARG_STRLEN = 32 pages, ARG_MAX = 32 pages, _STK_LIM = 8 MiB (include/uapi/linux/*.h).
  uint64_t max_arg_strlen = 131072;
  uint64_t arg_max = 131072;
  uint64_t stk_lim = 8ull << 20;
  uint64_t max_arg_strings = 0x7fffffff;  // MAX_ARG_STRINGS (include/uapi/linux/binfmts.h)
  // BINPRM_BUF_SIZE: prepare_binprm() reads this much of the file (include/linux/binfmts.h).
  uint64_t binprm_buf_size = 256;
  // PATH_MAX bounds PT_INTERP (load_elf_binary).
  uint64_t path_max = 4096;
  // load_elf_phdrs(): size == 0 || size > 65536 is refused. (A linux-next tree also refuses
  // size > ELF_MIN_ALIGN; the 6.18.44 kernel does not: measured, 74 and 1170 headers load,
  // 1171 give ENOEXEC.)
  uint64_t phdr_table_max = 65536;
  bool phdr_table_max_page = false;
  // Randomisation (arch/x86/mm/mmap.c, mm/util.c, arch/x86/kernel/process.c); the sysctls
  // (randomize_va_space, mmap_rnd_bits) are HostState.
  // randomize_stack_top(): STACK_RND_MASK 0x3fffff pages, i.e. 16 GiB - 4 KiB of range.
  uint64_t stack_rnd_range = 16ull << 30;
  // arch_randomize_brk(): randomize_page(mm->brk, SZ_1G).
  uint64_t brk_rnd_range = 1ull << 30;
  uint64_t stack_sub_page_rnd = 8192;  // arch_align_stack(): get_random_u32_below(8192)
  // [vsyscall] (arch/x86/entry/vsyscall/vsyscall_64.c), shown for 64-bit tasks unless the
  // build or boot option is vsyscall=none (KernelConfig::vsyscall).
  bool vsyscall = true;
  uint64_t vsyscall_start = 0xffffffffff600000;
  uint64_t vsyscall_end = 0xffffffffff601000;
  // PMD_SIZE: thp_get_unmapped_area() aligns file (ext4) and anonymous mappings this large.
  uint64_t pmd_size = 2ull << 20;
  bool file_thp_align = true;
  // create_elf_tables(): auxv entries in emission order (ARCH_DLINFO first on x86_64).
  std::vector<uint64_t> auxv_order = {33, 51, 16, 6, 17, 3, 4, 5, 7, 8, 9,
                                      11, 12, 13, 14, 23, 25, 26, 31, 15, 27, 28};
  // map_vdso(): [vvar] 4 pages, [vvar_vclock] 2 pages, [vdso] 2 pages on 6.18 x86_64
  // (vdso_image_64.size and VDSO_NR_PAGES of the build); a measured block replaces it.
  std::vector<SpecialMapping> vdso_block = {
      {"[vvar]", 0x4000, 1}, {"[vvar_vclock]", 0x2000, 1}, {"[vdso]", 0x2000, 5}};
  uint64_t vdso_text_offset = 0x6000;  // offset of [vdso] inside the block (AT_SYSINFO_EHDR)
  // create_elf_tables(): AT_RSEQ_FEATURE_SIZE = offsetof(struct rseq, end) and AT_RSEQ_ALIGN =
  // __alignof__(struct rseq) (include/uapi/linux/rseq.h of the version).
  uint64_t rseq_feature_size = 28;
  uint64_t rseq_align = 32;
  // ---- Behaviours that changed between the modelled kernels (sim/target.cc kernel_rules()
  // sets each from its version on; the values here are 6.18's) ---------------------------
  // load_elf_binary() maps each PT_LOAD's bss right after it with elf_load() (6.7, Debian
  // 6.1.140); before, set_brk() ran over the running maxima elf_bss/elf_brk at the next
  // PT_LOAD and after the loop, and a final padzero() failure killed the task.
  bool exe_bss_elf_load = true;
  // padzero() of the program's last file page: false ignores a failure (Debian 6.1's
  // backport), true fails only a writable segment (6.7 "Only report padzero() errors when
  // PROT_WRITE"). Without exe_bss_elf_load the final padzero() always kills.
  bool exe_padzero_write_only = true;
  // load_elf_interp() uses elf_load() per segment (6.7); before, one bss after the last
  // segment, its padzero() fatal.
  bool interp_bss_elf_load = true;
  // An ET_DYN without interpreter gets brk at ELF_ET_DYN_BASE even with ASLR off (6.15,
  // Debian 6.1.140 and 6.12.30); before, only when randomizing (5.10).
  bool static_pie_brk_always_moved = true;
  // One page between the bss and a randomized brk (6.10 "Leave a gap between .bss and brk").
  bool brk_gap_page = true;
  // ET_DYN without interpreter honours a p_align above the page size (6.10 "Honor PT_LOAD
  // alignment for static PIE", Debian 6.1.140); before, load_bias 0, top-down.
  bool static_pie_align = true;
  // The first PT_LOAD of ET_EXEC and PIE maps with MAP_FIXED_NOREPLACE (5.17); before,
  // MAP_FIXED silently replaced.
  bool first_map_noreplace = true;
  // total_mapping_size() spans min..max of every PT_LOAD (5.17 "fix overflow in total mapping
  // size calculation"); before, the first to the last PT_LOAD in header order.
  bool total_size_minmax = true;
  // map_vdso_randomized(): with PF_RANDOMIZE the vdso is hinted at a random page above the
  // stack, inside its 2 MiB (vdso_addr(), removed in 6.9 "x86/vdso: Move vDSO to mmap region").
  bool vdso_above_stack = false;
  // show_map_vma(): [heap] for any anonymous VMA touching [start_brk, brk] (inclusive, before
  // 6.7 "mm: fix VMA heap bounds checking"); strict overlap after.
  bool heap_name_inclusive = false;
  // thp_get_unmapped_area() returns the top of an already aligned padded area in a top-down
  // search (6.8 "mm: thp_get_unmapped_area must honour topdown preference"); before, the bottom.
  bool thp_topdown_top = true;
  // __get_unmapped_area() aligns anonymous PMD-multiple requests (6.8 "mm: align larger
  // anonymous mappings on THP boundaries"); off on 5.10 and 6.1.
  bool anon_thp_align = true;
  // brk(2)'s first extension merges into a bss VMA that ends at start_brk (5.10 do_brk_flags()
  // vma_merge(prev)); 6.1+ look for brkvma only from start_brk on.
  bool brk_merges_bss = false;
  // special_mapping_split() refuses to split [vvar], [vvar_vclock] and [vdso] (EINVAL) for
  // munmap, mprotect and MAP_FIXED (upstream 5.11 "mm: forbid splitting special mappings");
  // 5.10 splits them like any VMA.
  bool special_mapping_no_split = true;
  // When the unmap that MAP_FIXED implies fails (a refused split), mmap returns that error
  // (6.12: __mmap_region() passes vms_gather_munmap_vmas()'s EINVAL on); before, mmap_region()
  // turned any failure of do_mas_munmap()/munmap_vma_range() into ENOMEM.
  bool mmap_fixed_unmap_errno = true;
  // ---- ia32 programs ---------------------------------------------------------------------
  Ia32Values ia32;
  // This profile describes an ia32 task: compat_profile() (sim/target.h) folded it from the
  // 64-bit one once load_elf_binary() took an EM_386 program.
  bool compat = false;
  uint64_t elf_word = 8;        // sizeof(elf_addr_t): argc, pointers and auxv words on the stack
  uint64_t phent = 56;          // AT_PHENT = sizeof(struct elf_phdr) of the class
  std::string elf_platform;     // AT_PLATFORM when the kernel fixes it ("i686",
                                // COMPAT_ELF_PLATFORM); empty: HostState::platform
  // The target this profile was folded for (sim/target.h): "6.18", "x86_64", its options.
  std::string kernel = "6.18";
  std::string arch = "x86_64";
  std::string vsyscall_mode = "xonly";
  unsigned paging = 4;
};

// The documented default profile (no host reading): Linux 6.18 x86_64 as measured on the
// reference machine; the same as profile_for() of 6.18 (sim/target.h).
KernelProfile default_profile();

}  // namespace execmap::sim
