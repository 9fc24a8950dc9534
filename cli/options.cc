// Command-line to ExecRequest: the environment as a shell would pass it, argv, the profile.
#include "cli/options.h"

#include "cli/commands.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "live/host_probe.h"

extern char** environ;

namespace execmap::cli {

void add_exec_options(CLI::App* sub, ExecOptions& o, const std::vector<std::string>& formats,
                      const std::string& default_format) {
  o.format = default_format;
  sub->add_flag("-i,--ignore-environment", o.ignore_environment,
                "Start from an empty environment instead of execmap's own");
  sub->add_option("--env", o.env, "Add or replace KEY=VALUE in the environment (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  sub->add_option("--env-file", o.env_file,
                  "Add FILE's entries to the environment exactly as given, in order: one per "
                  "line, or NUL-separated when FILE holds a NUL (as /proc/PID/environ)");
  sub->add_option("--args-file", o.args_file,
                  "The arguments after PATH, NUL-separated as in /proc/PID/cmdline (any "
                  "command-line ARGs follow them)");
  sub->add_option("--argv0", o.argv0, "argv[0] to pass (default: PATH as given)");
  sub->add_option("--stack-limit", o.stack_limit,
                  "RLIMIT_STACK soft limit in bytes (K/M/G suffixes, or 'unlimited')");
  sub->add_option("--format", o.format, "Output format")
      ->check(CLI::IsMember(formats))
      ->capture_default_str();
  sub->add_option("--profile", o.profile,
                  "Kernel profile: 'host' reads this machine, 'default' is the documented "
                  "Linux 6.18 x86_64 profile")
      ->check(CLI::IsMember({"host", "default"}))
      ->capture_default_str();
  sub->add_option("--host-value", o.host_values,
                  "Override one host value, e.g. hwcap=0x178bfbff, platform=x86_64, uid=1000 "
                  "(repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  sub->add_option("--aslr", o.aslr, "Address space randomisation: off (setarch -R) or on")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  sub->add_option("--seed", o.seed, "Seed for --aslr on and for the AT_RANDOM bytes");
  sub->add_option("--personality", o.personality,
                  "Personality flags of the caller, as setarch sets them: addr_compat_layout "
                  "(-L), read_implies_exec (-X), addr_limit_3gb (-3), addr_limit_32bit (-B), "
                  "mmap_page_zero (-Z), comma-separated (ADDR_NO_RANDOMIZE is --aslr off)")
      ->type_name("FLAG[,FLAG...]");
  sub->add_option("--stage", o.stage,
                  "exec: at the first instruction after execve() (ld.so's entry for a dynamic "
                  "program); start: at the program's own entry point (AT_ENTRY), after glibc "
                  "2.36's ld.so has mapped every library")
      ->check(CLI::IsMember({"exec", "start"}))
      ->capture_default_str();
  sub->add_option("--kernel", o.kernel,
                  "Kernel whose execve() to predict: host (the running kernel), or a version "
                  "such as 5.10, 6.1, 6.12, 6.18, 7.2 or a release like 6.1.0-57-amd64 "
                  "(`execmap kernels` lists the modelled ones)")
      ->type_name("VERSION")
      ->capture_default_str();
  sub->add_option("--kernel-config", o.kernel_config,
                  "Build or boot option of that kernel: vsyscall=none|xonly|emulate, "
                  "paging=4|5, ia32=on|off (repeatable; default: the running kernel's for host, upstream's "
                  "otherwise)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  // Everything from PATH on belongs to the program, including words that start with '-':
  // CLI11 stops at the first positional and leaves the rest in remaining().
  sub->prefix_command();
  sub->footer("PATH [ARG...]: the program and its arguments; every word after PATH is passed "
              "to the program unchanged.");
  o.sub = sub;
}

namespace {

bool parse_size(const std::string& s, uint64_t* out) {
  if (s == "unlimited" || s == "infinity") {
    *out = sim::kRlimInfinity;
    return true;
  }
  if (s.empty()) return false;
  size_t pos = 0;
  unsigned long long v;
  try {
    v = std::stoull(s, &pos, 0);
  } catch (...) {
    return false;
  }
  std::string suf = s.substr(pos);
  uint64_t mul = 1;
  if (suf == "K" || suf == "k" || suf == "KiB") mul = 1ull << 10;
  else if (suf == "M" || suf == "m" || suf == "MiB") mul = 1ull << 20;
  else if (suf == "G" || suf == "g" || suf == "GiB") mul = 1ull << 30;
  else if (!suf.empty()) return false;
  if (v > ~uint64_t(0) / mul) return false;
  *out = v * mul;
  return true;
}

void set_env(std::vector<std::string>& envp, const std::string& kv) {
  std::string key = kv.substr(0, kv.find('='));
  for (auto& e : envp)
    if (e.compare(0, key.size() + 1, key + "=") == 0) {
      e = kv;
      return;
    }
  envp.push_back(kv);
}

}  // namespace

bool apply_host_value(sim::HostState& h, const std::string& kv, std::string* err) {
  size_t eq = kv.find('=');
  if (eq == std::string::npos) {
    *err = "--host-value expects KEY=VALUE, got '" + kv + "'";
    return false;
  }
  std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
  if (k == "platform") {
    h.platform = v;
    return true;
  }
  uint64_t n;
  if (!parse_size(v, &n)) {
    *err = "--host-value " + k + ": '" + v + "' is not a number";
    return false;
  }
  if (k == "hwcap") h.hwcap = n;
  else if (k == "hwcap2") h.hwcap2 = n;
  else if (k == "minsigstksz") h.minsigstksz = n;
  else if (k == "clktck") h.clktck = n;
  else if (k == "rseq_feature_size") h.rseq_feature_size = n;
  else if (k == "rseq_align") h.rseq_align = n;
  else if (k == "uid") h.uid = n;
  else if (k == "euid") h.euid = n;
  else if (k == "gid") h.gid = n;
  else if (k == "egid") h.egid = n;
  else if (k == "secure") h.secure = n;
  else if (k == "no_new_privs") h.no_new_privs = n;
  else if (k == "traced_unprivileged") h.traced_unprivileged = n;
  else if (k == "legacy_va_layout") h.legacy_va_layout = n;
  else if (k == "cap_sys_rawio") h.cap_sys_rawio = n;
  else if (k == "stack_rlimit") h.stack_rlimit = n;
  else if (k == "mmap_min_addr") h.mmap_min_addr = n;
  else if (k == "mmap_rnd_bits" && n >= 1 && n <= 32) h.mmap_rnd_bits = n;
  else if (k == "mmap_rnd_compat_bits" && n >= 1 && n <= 16) h.mmap_rnd_compat_bits = n;
  else if (k == "randomize_va_space" && n <= 2) h.randomize_va_space = n;
  else {
    *err = "--host-value: unknown key '" + k +
           "' (hwcap, hwcap2, minsigstksz, clktck, platform, rseq_feature_size, rseq_align, "
           "uid, euid, gid, egid, secure, no_new_privs, traced_unprivileged, legacy_va_layout, "
           "cap_sys_rawio, stack_rlimit, mmap_min_addr, mmap_rnd_bits 1-32, mmap_rnd_compat_bits 1-16, "
           "randomize_va_space 0-2)";
    return false;
  }
  return true;
}

bool resolve_target(const std::string& kernel, const std::vector<std::string>& config,
                    const std::string* host_release, const sim::KernelConfig* host_config,
                    sim::TargetKey* key, std::vector<std::string>* warnings, std::string* err) {
  auto modelled = [] {
    std::string s;
    for (sim::KernelVersion v : sim::modelled_kernels()) s += (s.empty() ? "" : ", ") + v.str();
    return s;
  };
  std::string asked = kernel;
  bool host = kernel == "host";
  if (host) {
    if (!host_release) {
      // No probe (--profile default): the documented profile's kernel.
      key->kernel = sim::KernelVersion{6, 18};
      asked = "";
    } else {
      asked = *host_release;
    }
  }
  if (!asked.empty()) {
    sim::KernelVersion v;
    if (!sim::parse_kernel_version(asked, &v)) {
      *err = "--kernel: '" + asked + "' is not a kernel version (modelled: " + modelled() + ")";
      return false;
    }
    bool exact = false;
    if (!sim::nearest_modelled(v, &key->kernel, &exact)) {
      *err = "--kernel " + asked + " is older than every modelled kernel (" + modelled() + ")";
      return false;
    }
    if (!exact)
      warnings->push_back("kernel " + v.str() + " is not modelled; using the rules of " +
                          key->kernel.str() + ", the nearest older modelled kernel");
  }
  // Build options: the running kernel's as probed, else the upstream defaults.
  key->config = host && host_config ? *host_config : sim::KernelConfig{};
  for (const std::string& kv : config) {
    size_t eq = kv.find('=');
    std::string k = kv.substr(0, eq), val = eq == std::string::npos ? "" : kv.substr(eq + 1);
    if (k == "vsyscall" && (val == "none" || val == "xonly" || val == "emulate")) {
      key->config.vsyscall = val == "none"    ? sim::VsyscallMode::none
                             : val == "xonly" ? sim::VsyscallMode::xonly
                                              : sim::VsyscallMode::emulate;
    } else if (k == "paging" && (val == "4" || val == "5")) {
      key->config.paging = val == "5" ? 5 : 4;
    } else if (k == "ia32" && (val == "on" || val == "off")) {
      key->config.ia32 = val == "on";
    } else {
      *err = "--kernel-config: '" + kv +
             "' is not one of vsyscall=none|xonly|emulate, paging=4|5, ia32=on|off";
      return false;
    }
  }
  return true;
}

namespace {

// The kernel's argument space is at most 3/4 of _STK_LIM (6 MiB) of strings (bprm_stack_limits),
// so a larger file can only give E2BIG; it is refused before it is read whole.
constexpr size_t kMaxArgFile = 16u << 20;

// Reads a whole regular file or pipe (process substitution gives /dev/fd/N), at most
// kMaxArgFile bytes; a directory, a missing file or a larger one is a one-line error.
bool read_bounded(const std::string& path, const char* what, std::string* out, std::string* err) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    *err = std::string(what) + " " + path + ": " + std::strerror(errno);
    return false;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode))) {
    *err = std::string(what) + " " + path + ": not a regular file or a pipe";
    ::close(fd);
    return false;
  }
  // Blocking reads from here on: a pipe's writer may still be starting.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *err = std::string(what) + " " + path + ": " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    if (out->size() + size_t(n) > kMaxArgFile) {
      *err = std::string(what) + " " + path + ": more than " + std::to_string(kMaxArgFile >> 20) +
             " MiB; execve() takes at most 6 MiB of strings (E2BIG)";
      ::close(fd);
      return false;
    }
    out->append(buf, size_t(n));
  }
  ::close(fd);
  return true;
}

// Entries separated by sep; a final separator ends the last entry rather than starting an
// empty one, and two in a row give an empty entry (the kernel passes empty strings too).
std::vector<std::string> split_entries(const std::string& data, char sep) {
  std::vector<std::string> v;
  size_t i = 0;
  while (i < data.size()) {
    size_t j = data.find(sep, i);
    if (j == std::string::npos) j = data.size();
    v.push_back(data.substr(i, j - i));
    i = j + 1;
  }
  return v;
}

}  // namespace

bool parse_personality(const std::string& flags, uint32_t* out, std::string* err) {
  *out = 0;
  size_t i = 0;
  while (i < flags.size()) {
    size_t j = flags.find(',', i);
    if (j == std::string::npos) j = flags.size();
    std::string f = flags.substr(i, j - i);
    i = j + 1;
    if (f == "addr_no_randomize") {
      *err = "--personality: ADDR_NO_RANDOMIZE is --aslr off (the default)";
      return false;
    }
    uint32_t bit = 0;
    for (const auto& [name, value] : personality_flags())
      if (f == name) bit = value;
    if (!bit) {
      *err = "--personality: unknown flag '" + f +
             "' (addr_compat_layout, read_implies_exec, addr_limit_3gb, addr_limit_32bit, "
             "mmap_page_zero)";
      return false;
    }
    *out |= bit;
  }
  return true;
}

std::vector<std::string> personality_names(uint32_t flags) {
  std::vector<std::string> v;
  for (const auto& [name, value] : personality_flags())
    if (flags & value) v.push_back(name);
  return v;
}

const std::vector<std::pair<std::string, uint32_t>>& personality_flags() {
  // include/uapi/linux/personality.h
  static const std::vector<std::pair<std::string, uint32_t>> flags = {
      {"addr_no_randomize", 0x0040000}, {"mmap_page_zero", 0x0100000},
      {"addr_compat_layout", 0x0200000}, {"read_implies_exec", 0x0400000},
      {"addr_limit_32bit", 0x0800000}, {"addr_limit_3gb", 0x8000000}};
  return flags;
}

bool build_request(const ExecOptions& o, sim::ExecRequest* req, std::string* err) {
  std::vector<std::string> command = o.command;
  if (command.empty() && o.sub) command = o.sub->remaining();
  if (command.empty()) {
    *err = "PATH is required";
    return false;
  }
  if (command[0].size() > 1 && command[0][0] == '-') {
    *err = "unknown option " + command[0];
    return false;
  }
  req->filename = command[0];
  req->argv = command;
  if (o.argv0) req->argv[0] = *o.argv0;

  if (!o.args_file.empty()) {
    std::string data;
    if (!read_bounded(o.args_file, "--args-file", &data, err)) return false;
    std::vector<std::string> args = split_entries(data, '\0');
    req->argv.insert(req->argv.begin() + 1, args.begin(), args.end());
  }

  std::vector<std::string> envp;
  if (!o.ignore_environment)
    for (char** e = environ; e && *e; ++e) envp.emplace_back(*e);
  if (!o.env_file.empty()) {
    // execve() takes any string as an environment entry: a duplicate key, an empty key, no
    // '=' at all. Every entry is passed as it stands, after the inherited ones.
    std::string data;
    if (!read_bounded(o.env_file, "--env-file", &data, err)) return false;
    std::vector<std::string> entries =
        split_entries(data, data.find('\0') != std::string::npos ? '\0' : '\n');
    envp.insert(envp.end(), entries.begin(), entries.end());
  }
  for (const auto& kv : o.env) {
    if (kv.find('=') == std::string::npos) {
      *err = "--env expects KEY=VALUE, got '" + kv + "'";
      return false;
    }
    set_env(envp, kv);
  }
  req->envp = envp;

  sim::TargetKey key;
  std::vector<std::string> warnings;
  if (o.profile == "host") {
    live::HostProbe probe;
    std::string note;
    live::probe_host(&probe, &note);
    req->host = probe.host;
    // Whether this kernel runs ia32 programs takes a real execve() to learn: only when the
    // program may be one.
    if (live::may_be_ia32(req->filename)) probe.config.ia32 = live::probe_ia32_exec();
    if (!resolve_target(o.kernel, o.kernel_config, &probe.release, &probe.config, &key,
                        &warnings, err))
      return false;
    // The running kernel: its own measurements describe it (sim/target.h KernelMeasurement).
    req->profile = sim::profile_for(key, o.kernel == "host" ? &probe.measured : nullptr);
  } else {
    if (!resolve_target(o.kernel, o.kernel_config, nullptr, nullptr, &key, &warnings, err))
      return false;
    req->profile = sim::profile_for(key);
  }
  for (const std::string& w : warnings) std::cerr << "execmap: warning: " << w << "\n";
  req->warnings = warnings;
  if (!o.stack_limit.empty()) {
    uint64_t n;
    if (!parse_size(o.stack_limit, &n)) {
      *err = "--stack-limit: '" + o.stack_limit + "' is not a size";
      return false;
    }
    req->host.stack_rlimit = n;
  }
  for (const auto& kv : o.host_values)
    if (!apply_host_value(req->host, kv, err)) return false;
  // PF_RANDOMIZE is set only when kernel.randomize_va_space is not 0.
  req->randomize = o.aslr == "on" && req->host.randomize_va_space != 0;
  req->seed = o.seed;
  req->stage = o.stage == "start" ? sim::Stage::start : sim::Stage::exec;
  if (!parse_personality(o.personality, &req->personality, err)) return false;
  return true;
}

}  // namespace execmap::cli
