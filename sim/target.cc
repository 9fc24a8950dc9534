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
  static const std::vector<KernelVersion> v = {{6, 18}};
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

// The base profile: the fields of KernelProfile as declared (sim/profile.h), each of which
// cites the 6.18 source it comes from. Rows bring it to each later version.
const std::vector<KernelRule> kRules = {
    {{6, 18}, {kX86}, "baseline",
     "the base profile: Linux 6.18 x86_64, every constant as sim/profile.h declares it",
     "fs/binfmt_elf.c load_elf_binary(), fs/exec.c, mm/vma_exec.c, arch/x86/mm/mmap.c, "
     "arch/x86/entry/vdso/vma.c",
     "", [](KernelProfile&) {}},
};

}  // namespace

const std::vector<KernelRule>& kernel_rules() { return kRules; }

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
