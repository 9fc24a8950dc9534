// VmFacts to the model's target and host values; the files a guest needs for one exec.
#include "live/vm_target.h"

#include <dirent.h>
#include <sys/stat.h>

#include <cstdlib>
#include <set>

#include "live/rtld_probe.h"
#include "loader/elf_defs.h"
#include "loader/exec_file.h"
#include "util/maps.h"

namespace execmap::live {
namespace {

const std::string* fact_file(const VmFacts& f, const std::string& name) {
  for (const auto& [n, text] : f.files)
    if (n == name) return &text;
  return nullptr;
}

// A /proc/sys value ("65536\n"); false when absent or not a number.
bool sysctl(const VmFacts& f, const std::string& name, uint64_t* out) {
  const std::string* t = fact_file(f, name);
  if (!t || t->empty()) return false;
  char* end = nullptr;
  unsigned long long v = std::strtoull(t->c_str(), &end, 10);
  if (end == t->c_str()) return false;
  *out = v;
  return true;
}

bool is_dir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool exists(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

std::string dir_of(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos || s == 0 ? "/" : p.substr(0, s);
}

}  // namespace

bool vm_target_from_facts(const VmFacts& f, VmTarget* out, std::string* err) {
  VmTarget t;
  t.release = f.uname_release;
  sim::KernelVersion v;
  if (!sim::parse_kernel_version(f.uname_release, &v)) {
    *err = "the guest's kernel release '" + f.uname_release + "' is no version";
    return false;
  }
  if (!sim::nearest_modelled(v, &t.key.kernel, &t.exact_version)) {
    *err = "the guest runs Linux " + v.str() + ", older than the oldest modelled kernel (" +
           sim::modelled_kernels().front().str() + ")";
    return false;
  }
  // [vsyscall] in the agent's own maps: vsyscall_64.c maps it --xp for xonly and r-xp for
  // emulate (VM_READ only with vsyscall=emulate, map_vsyscall()); none leaves no line.
  t.key.config.vsyscall = sim::VsyscallMode::none;
  for (const util::MapsLine& m : util::parse_maps(f.self_maps))
    if (m.path == "[vsyscall]")
      t.key.config.vsyscall = m.perms.size() > 0 && m.perms[0] == 'r' ? sim::VsyscallMode::emulate
                                                                      : sim::VsyscallMode::xonly;
  const std::string* flags = fact_file(f, "/proc/cpuinfo:flags");
  t.key.config.paging =
      flags && (" " + *flags + " ").find(" la57 ") != std::string::npos ? 5 : 4;

  sim::HostState& h = t.host;
  h.source = "vm";
  bool have_hwcap = false;
  for (const auto& [type, value] : f.auxv) {
    switch (type) {
      case elf::AT_HWCAP: h.hwcap = value; have_hwcap = true; break;
      case elf::AT_HWCAP2: h.hwcap2 = value; break;
      case elf::AT_MINSIGSTKSZ: h.minsigstksz = value; break;
      case elf::AT_CLKTCK: h.clktck = value; break;
      case elf::AT_UID: h.uid = value; break;
      case elf::AT_EUID: h.euid = value; break;
      case elf::AT_GID: h.gid = value; break;
      case elf::AT_EGID: h.egid = value; break;
      default: break;
    }
  }
  if (!have_hwcap) {
    *err = "the guest's agent reported no auxv";
    return false;
  }
  if (!f.platform.empty()) h.platform = f.platform;
  sysctl(f, "/proc/sys/vm/mmap_min_addr", &h.mmap_min_addr);
  sysctl(f, "/proc/sys/kernel/randomize_va_space", &h.randomize_va_space);
  sysctl(f, "/proc/sys/vm/overcommit_memory", &h.overcommit_memory);
  sysctl(f, "/proc/sys/vm/legacy_va_layout", &h.legacy_va_layout);
  sysctl(f, "/proc/sys/vm/mmap_rnd_bits", &h.mmap_rnd_bits);
  sysctl(f, "/proc/sys/vm/mmap_rnd_compat_bits", &h.mmap_rnd_compat_bits);
  // The agent is PID 1, root in the initial user namespace: every capability, CAP_SYS_RAWIO
  // (MMAP_PAGE_ZERO below mmap_min_addr) included.
  h.cap_sys_rawio = h.euid == 0 ? 1 : 0;
  h.commit_limit_pages = 0;  // the guest's memory is not the host's: no commit limit applied
  if (f.stack_rlimit_cur) h.stack_rlimit = f.stack_rlimit_cur;
  *out = t;
  return true;
}

std::string program_interp(const sim::ExecResult& r) {
  if (r.objects.empty()) return "";
  const sim::LoadedObject& exe = r.objects[0];
  for (const elf::Phdr& ph : exe.phdrs) {
    if (ph.p_type != elf::PT_INTERP) continue;
    if (ph.p_filesz < 2 || ph.p_filesz > 4096) return "";  // load_elf_binary: PATH_MAX
    int e = 0;
    auto f = loader::open_host_file(exe.id.path, &e);
    if (!f) return "";
    std::string s(ph.p_filesz, '\0');
    if (f->read_at(ph.p_offset, &s[0], s.size()) != int64_t(s.size())) return "";
    return std::string(s.c_str());
  }
  return "";
}

std::vector<std::string> vm_files_for(const sim::ExecResult& r, const std::string& path,
                                      const std::string& cwd, const sim::RtldResult* libs) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto add = [&](const std::string& p) {
    // A path that does not exist here does not exist in the guest either: its exec fails there
    // as it would here, and the comparison shows the kernel's verdict.
    if (!p.empty() && p[0] == '/' && exists(p) && seen.insert(p).second) out.push_back(p);
  };
  add(path.empty() || path[0] == '/' ? path : cwd + "/" + path);
  std::string interp = program_interp(r);
  if (!interp.empty()) add(interp[0] == '/' ? interp : cwd + "/" + interp);
  for (const sim::LoadedObject& o : r.objects) add(o.id.path);
  if (!libs) return out;
  for (const sim::RtldObject& o : libs->objects) {
    if (o.l_name.empty()) continue;
    std::string p = o.l_name[0] == '/' ? o.l_name : cwd + "/" + o.l_name;
    add(p);
    add(o.id.path);
    // The same soname under every glibc-hwcaps level of its directory (and of the directory
    // above when it was found in one): the guest CPU may select another level.
    std::string dir = dir_of(p);
    if (dir_of(dir).size() >= 12 && dir_of(dir).compare(dir_of(dir).size() - 12, 12, "glibc-hwcaps") == 0)
      dir = dir_of(dir_of(dir));
    const std::string name = p.substr(p.rfind('/') + 1);
    add(dir + "/" + name);
    std::string hw = dir + "/glibc-hwcaps";
    if (is_dir(hw)) {
      if (DIR* d = ::opendir(hw.c_str())) {
        while (dirent* e = ::readdir(d)) {
          std::string n = e->d_name;
          if (n == "." || n == "..") continue;
          std::string cand = hw + "/" + n + "/" + name;
          if (exists(cand)) add(cand);
        }
        ::closedir(d);
      }
    }
  }
  for (const char* f : {"/etc/ld.so.cache", "/etc/ld.so.preload"})
    if (exists(f)) add(f);
  return out;
}

sim::RtldConfig VmRtld::config_for(const sim::ExecResult& r) const {
  // The diagnostics are those of the program's own interpreter (i386 ld.so for an ia32 one).
  sim::RtldConfig c = r.profile.compat ? sim::rtld_config_i386() : sim::RtldConfig();
  c.platform = r.profile.elf_platform.empty() ? r.host.platform : r.profile.elf_platform;
  if (auto p = rtld_config_from_diagnostics(diagnostics_, c)) return *p;
  return c;
}

}  // namespace execmap::live
