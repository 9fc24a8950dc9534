// `ld.so --list-diagnostics` parsing (elf/dl-diagnostics.c prints key=value lines; strings
// are quoted, numbers are 0x hex).
#include "live/rtld_probe.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <sstream>

extern char** environ;

namespace execmap::live {
namespace {

// The glibc-hwcaps subdirectories this CPU supports, best first: glibc 2.36
// sysdeps/x86_64/dl-hwcaps-subdirs.c tests the x86-64-v2/v3/v4 ISA levels in that order.
std::vector<std::string> host_glibc_hwcaps() {
  std::vector<std::string> v;
  __builtin_cpu_init();
  // The level names themselves are a GCC-only spelling; these are the features that both
  // GCC and clang 14 can test (CX16, LAHF, LZCNT, MOVBE, F16C and OSXSAVE are not checked).
  bool v2 = __builtin_cpu_supports("popcnt") && __builtin_cpu_supports("sse3") &&
            __builtin_cpu_supports("ssse3") && __builtin_cpu_supports("sse4.1") &&
            __builtin_cpu_supports("sse4.2");
  bool v3 = v2 && __builtin_cpu_supports("avx") && __builtin_cpu_supports("avx2") &&
            __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&
            __builtin_cpu_supports("fma");
  bool v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
            __builtin_cpu_supports("avx512vl");
  if (v4) v.push_back("x86-64-v4");
  if (v3) v.push_back("x86-64-v3");
  if (v2) v.push_back("x86-64-v2");
  return v;
}

}  // namespace

namespace {

constexpr size_t kMaxOutput = 1 << 20;

std::string unquote(const std::string& v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') return v.substr(1, v.size() - 2);
  return v;
}

// _dl_hwcap_string() for x86 (sysdeps/x86/dl-hwcap.h): bit n's name.
const char* x86_hwcap_name(unsigned n) {
  static const char* const kNames[] = {"sse2", "x86_64", "avx512_1"};
  return n < 3 ? kNames[n] : nullptr;
}

}  // namespace

std::optional<sim::RtldConfig> rtld_config_from_diagnostics(const std::string& text,
                                                            const sim::RtldConfig& base) {
  std::map<std::string, std::string> kv;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t eq = line.find('=');
    if (eq != std::string::npos) kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  if (!kv.count("dl_platform") || !kv.count("dl_hwcap") || !kv.count("dl_hwcap_important") ||
      !kv.count("dl_hwcaps_subdirs") || !kv.count("dl_hwcaps_subdirs_active"))
    return std::nullopt;
  sim::RtldConfig c = base;
  c.platform = unquote(kv["dl_platform"]);
  uint64_t hwcap = std::strtoull(kv["dl_hwcap"].c_str(), nullptr, 0);
  uint64_t important = std::strtoull(kv["dl_hwcap_important"].c_str(), nullptr, 0);
  uint64_t masked = hwcap & important;
  c.hwcap_masked = masked;
  c.legacy_hwcap_strings.clear();
  for (unsigned n = 0; n < 64; ++n)
    if (masked & (uint64_t(1) << n)) {
      const char* s = x86_hwcap_name(n);
      if (!s) return std::nullopt;
      c.legacy_hwcap_strings.push_back(s);
    }
  // Bit i of the active mask is the i-th name of the list (elf/dl-hwcaps_split.c).
  uint64_t active = std::strtoull(kv["dl_hwcaps_subdirs_active"].c_str(), nullptr, 0);
  c.glibc_hwcaps.clear();
  std::string list = unquote(kv["dl_hwcaps_subdirs"]);
  size_t pos = 0;
  for (unsigned i = 0; pos <= list.size(); ++i) {
    size_t e = list.find(':', pos);
    std::string name = list.substr(pos, e == std::string::npos ? std::string::npos : e - pos);
    if (!name.empty() && i < 64 && (active & (uint64_t(1) << i))) c.glibc_hwcaps.push_back(name);
    if (e == std::string::npos) break;
    pos = e + 1;
  }
  if (kv.count("dl_dst_lib")) c.dst_lib = unquote(kv["dl_dst_lib"]);
  return c;
}

std::optional<sim::RtldConfig> probe_rtld(const std::string& ldso, const sim::RtldConfig& base,
                                          std::string* why) {
  int fds[2];
  if (pipe(fds) != 0) {
    *why = "pipe failed";
    return std::nullopt;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", 1 /*O_WRONLY*/, 0);
  char* argv[] = {const_cast<char*>(ldso.c_str()), const_cast<char*>("--list-diagnostics"),
                  nullptr};
  char* envp[] = {nullptr};
  pid_t pid;
  int rc = posix_spawn(&pid, ldso.c_str(), &fa, nullptr, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    *why = ldso + ": cannot run --list-diagnostics";
    return std::nullopt;
  }
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0 && out.size() < kMaxOutput)
    out.append(buf, size_t(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  std::optional<sim::RtldConfig> c = rtld_config_from_diagnostics(out, base);
  if (!c) *why = ldso + " --list-diagnostics printed no usable dl_platform/dl_hwcap values";
  return c;
}

sim::RtldConfig HostRtld::config_for(const sim::ExecResult& r) const {
  sim::RtldConfig c;
  if (r.profile.compat) {
    // i386 ld.so: AT_PLATFORM is COMPAT_ELF_PLATFORM ("i686"), which init_cpu_features()
    // keeps on any CPU with CMOV; dl_hwcap is HWCAP_X86_SSE2 and there are no glibc-hwcaps
    // levels (sysdeps/x86/cpu-features.c, the !__x86_64__ branch). Its --list-diagnostics,
    // where this kernel runs it, has the last word.
    c = sim::rtld_config_i386();
    if (!r.profile.elf_platform.empty()) c.platform = r.profile.elf_platform;
  } else {
    c.platform = r.host.platform;
    c.glibc_hwcaps = host_glibc_hwcaps();
  }
  if (r.host.source == "host" && r.objects.size() > 1) {
    std::string why;
    if (auto p = probe_rtld(r.objects[1].id.path, c, &why)) return *p;
  }
  return c;
}

std::string HostRtld::cwd() const {
  char cwd[4096];
  return getcwd(cwd, sizeof cwd) ? std::string(cwd) : std::string("/");
}

}  // namespace execmap::live
