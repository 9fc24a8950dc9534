// The target of a prediction as data: which kernel (version and build options) on which
// architecture. profile_for() folds the rule table (sim/kernel_rules.cc) once into an
// immutable KernelProfile; no pass compares version numbers itself.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/profile.h"

namespace execmap::sim {

// major.minor: the rules change at most once per upstream release.
struct KernelVersion {
  unsigned major = 0, minor = 0;
  friend bool operator<(KernelVersion a, KernelVersion b) {
    return a.major != b.major ? a.major < b.major : a.minor < b.minor;
  }
  friend bool operator==(KernelVersion a, KernelVersion b) {
    return a.major == b.major && a.minor == b.minor;
  }
  friend bool operator!=(KernelVersion a, KernelVersion b) { return !(a == b); }
  friend bool operator<=(KernelVersion a, KernelVersion b) { return !(b < a); }
  std::string str() const { return std::to_string(major) + "." + std::to_string(minor); }
};

// "6.1", "6.1.0-57-amd64", "7.2.3": the leading major.minor. False for anything else.
bool parse_kernel_version(const std::string& s, KernelVersion* out);

enum class Arch : uint8_t { x86_64 };
const char* arch_name(Arch a);

// How /proc/PID/maps and the address space show the legacy vsyscall page
// (arch/x86/entry/vsyscall/vsyscall_64.c; CONFIG_LEGACY_VSYSCALL_* or vsyscall= on the
// command line): none hides it, xonly and emulate map it --xp at 0xffffffffff600000.
enum class VsyscallMode : uint8_t { none, xonly, emulate };
const char* vsyscall_name(VsyscallMode m);

// Build and boot options that change the layout (--kernel-config KEY=VALUE).
struct KernelConfig {
  VsyscallMode vsyscall = VsyscallMode::xonly;  // upstream default since 5.9
  unsigned paging = 4;                          // 4- or 5-level page tables (LA57)
  // ia32 programs run (CONFIG_IA32_EMULATION, not disabled at boot): Debian's default.
  bool ia32 = true;
  // The [vvar]/[vdso] block of this build, when measured (the running kernel): its sizes
  // depend on the build (the vdso image), so a measurement wins over the version default.
  std::vector<SpecialMapping> vdso_block;
  uint64_t vdso_text_offset = 0;
};

struct TargetKey {
  KernelVersion kernel{6, 18};
  Arch arch = Arch::x86_64;
  KernelConfig config;
};

// What the running kernel showed this very process (live/host_probe.cc): used only when the
// target is the running kernel ("--kernel host"), where it is a measurement of that kernel.
struct KernelMeasurement {
  bool valid = false;
  std::vector<uint64_t> auxv_order;
  std::optional<uint64_t> rseq_feature_size, rseq_align;
};

// The kernels the rule table models, oldest first.
const std::vector<KernelVersion>& modelled_kernels();
// The modelled version whose rules apply to v: v itself, or the nearest older one (*exact
// false). False when v is older than the oldest.
bool nearest_modelled(KernelVersion v, KernelVersion* out, bool* exact);

// One behaviour that changed between kernels: from `since` on (for the listed arches), the
// profile gets what `apply` sets. Rows are ordered by since.
struct KernelRule {
  KernelVersion since;
  std::vector<Arch> arches;
  const char* sets;    // the profile field or switch it sets
  const char* what;    // what changes, in a sentence
  const char* source;  // kernel file and function
  const char* commit;  // the commit subject, where known ("" otherwise)
  void (*apply)(KernelProfile&);
};
const std::vector<KernelRule>& kernel_rules();

// The profile of an ia32 task on the kernel of p (a 64-bit profile from profile_for()): what
// SET_PERSONALITY2() -> set_personality_ia32() and compat_binfmt_elf.c change. personality:
// the task's flags (ADDR_LIMIT_3GB lowers TASK_SIZE to 3 GiB).
KernelProfile compat_profile(const KernelProfile& p, uint32_t personality);

// "linux-6.1-x86_64 (vsyscall=none, paging=4)": how the text views name the target.
std::string target_label(const KernelProfile& p);

// The immutable profile of one target: the base profile, every rule whose since <= version
// applied in order, then the build options of key.config. measurement (the running kernel
// only) replaces the auxv order and the kernel-provided rseq values.
KernelProfile profile_for(const TargetKey& key, const KernelMeasurement* measurement = nullptr);

}  // namespace execmap::sim
