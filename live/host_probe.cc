// Host values for the kernel profile, read from /proc/self/auxv, /proc/self/maps and
// getrlimit(): the machine-specific inputs of create_elf_tables() and map_vdso().
#include "live/host_probe.h"

#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <string>
#include <fstream>
#include <sstream>
#include <vector>

#include "util/maps.h"

namespace execmap::live {
namespace {

bool read_file(const char* path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}

// A minimal ELF32 EM_386 program: the header, one R+X PT_LOAD at 0x10000 (mmap_min_addr's
// usual value) holding both, and _start: exit(0) through int $0x80.
std::vector<uint8_t> tiny_ia32_program() {
  std::vector<uint8_t> b(52 + 32, 0);
  auto put16 = [&](size_t o, uint16_t v) { b[o] = uint8_t(v); b[o + 1] = uint8_t(v >> 8); };
  auto put32 = [&](size_t o, uint32_t v) {
    for (int i = 0; i < 4; ++i) b[o + size_t(i)] = uint8_t(v >> (8 * i));
  };
  const uint8_t code[] = {0xb8, 0x01, 0x00, 0x00, 0x00, 0x31, 0xdb, 0xcd, 0x80};
  b.insert(b.end(), code, code + sizeof code);
  const uint32_t base = 0x10000;
  std::memcpy(b.data(), "\x7f" "ELF\x01\x01\x01", 7);
  put16(16, 2);        // ET_EXEC
  put16(18, 3);        // EM_386
  put32(20, 1);        // EV_CURRENT
  put32(24, base + 84);  // e_entry
  put32(28, 52);       // e_phoff
  put16(40, 52);       // e_ehsize
  put16(42, 32);       // e_phentsize
  put16(44, 1);        // e_phnum
  put32(52, 1);        // PT_LOAD
  put32(52 + 8, base);
  put32(52 + 12, base);
  put32(52 + 16, uint32_t(b.size()));
  put32(52 + 20, uint32_t(b.size()));
  put32(52 + 24, 5);   // PF_R | PF_X
  put32(52 + 28, 0x1000);
  return b;
}

}  // namespace

bool may_be_ia32(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  uint8_t b[20] = {};
  ssize_t n = 0;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) n = ::pread(fd, b, sizeof b, 0);
  ::close(fd);
  if (n >= 2 && b[0] == '#' && b[1] == '!') return true;
  const unsigned machine = unsigned(b[18]) | unsigned(b[19]) << 8;
  return n == ssize_t(sizeof b) && std::memcmp(b, "\x7f" "ELF", 4) == 0 &&
         (machine == 3 || machine == 6);
}

bool probe_ia32_exec() {
  static const bool result = [] {
    std::vector<uint8_t> prog = tiny_ia32_program();
    // Not MFD_CLOEXEC: 5.10 answers execveat(AT_EMPTY_PATH) of a close-on-exec memfd with
    // ENOENT (measured in qemu), which says nothing about ia32. The tiny program exits at
    // once, so the descriptor it inherits does not matter.
    int fd = ::memfd_create("execmap-ia32-probe", 0);
    if (fd < 0) return true;  // cannot tell: the kernel's build default
    if (::write(fd, prog.data(), prog.size()) != ssize_t(prog.size())) {
      ::close(fd);
      return true;
    }
    pid_t pid = ::fork();
    if (pid < 0) {
      ::close(fd);
      return true;
    }
    if (pid == 0) {
      char* const argv[] = {const_cast<char*>("ia32-probe"), nullptr};
      char* const envp[] = {nullptr};
      ::syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
      ::_exit(errno == ENOEXEC ? 100 : 101);
    }
    ::close(fd);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    // 100: ENOEXEC, the verdict. Any other failure (101) cannot tell: the build default.
    return !(WIFEXITED(status) && WEXITSTATUS(status) == 100);
  }();
  return result;
}

bool probe_host(HostProbe* out, std::string* note) {
  sim::HostState& h = out->host;
  bool ok = true;
  h.source = "host";
  struct utsname u;
  if (uname(&u) == 0) out->release = u.release;

  // The auxv order and values of this process are what the kernel gives every 64-bit task.
  std::string auxv;
  if (read_file("/proc/self/auxv", &auxv) && auxv.size() >= 16) {
    std::vector<uint64_t> order;
    for (size_t i = 0; i + 16 <= auxv.size(); i += 16) {
      uint64_t type, value;
      std::memcpy(&type, auxv.data() + i, 8);
      std::memcpy(&value, auxv.data() + i + 8, 8);
      if (type == 0) break;
      order.push_back(type);
      switch (type) {
        case 16: h.hwcap = value; break;
        case 26: h.hwcap2 = value; break;
        case 51: h.minsigstksz = value; break;
        case 17: h.clktck = value; break;
        case 27: out->measured.rseq_feature_size = value; break;
        case 28: out->measured.rseq_align = value; break;
        case 11: h.uid = value; break;
        case 12: h.euid = value; break;
        case 13: h.gid = value; break;
        case 14: h.egid = value; break;
        case 23: h.secure = value; break;
        case 15: {
          const char* plat = reinterpret_cast<const char*>(getauxval(AT_PLATFORM));
          if (plat) h.platform = plat;
          break;
        }
        default: break;
      }
    }
    // NoNewPrivs of /proc/self/status: exec then ignores set-ID bits.
    std::ifstream st("/proc/self/status");
    for (std::string l; std::getline(st, l);) {
      if (l.compare(0, 11, "NoNewPrivs:") == 0) h.no_new_privs = std::strtoull(l.c_str() + 11, nullptr, 10);
      // CapEff bit 17 is CAP_SYS_RAWIO (include/uapi/linux/capability.h).
      if (l.compare(0, 7, "CapEff:") == 0)
        h.cap_sys_rawio = (std::strtoull(l.c_str() + 7, nullptr, 16) >> 17) & 1;
    }
    // AT_EXECFD only appears for binfmt_misc; it is not part of a normal exec.
    std::vector<uint64_t> filtered;
    for (uint64_t t : order)
      if (t != 2) filtered.push_back(t);
    out->measured.auxv_order = filtered;
    out->measured.valid = true;
  } else {
    ok = false;
    *note += "cannot read /proc/self/auxv; ";
  }

  // The vdso block: [vvar], [vvar_vclock], [vdso] as this kernel maps them.
  std::string maps;
  if (read_file("/proc/self/maps", &maps)) {
    std::vector<sim::SpecialMapping> block;
    uint64_t block_start = 0, vdso_start = 0, prev_end = 0;
    bool saw_vsyscall = false;
    for (const util::MapsLine& m : util::parse_maps(maps)) {
      const std::string& name = m.path;
      if (name == "[vsyscall]") saw_vsyscall = true;
      if (name != "[vvar]" && name != "[vvar_vclock]" && name != "[vdso]") continue;
      if (!block.empty() && m.start != prev_end) {
        ok = false;
        *note += "vdso block is not contiguous; ";
      }
      if (block.empty()) block_start = m.start;
      if (name == "[vdso]") vdso_start = m.start;
      block.push_back({name, m.end - m.start, m.prot()});
      prev_end = m.end;
    }
    if (!block.empty() && vdso_start) {
      out->config.vdso_block = block;
      out->config.vdso_text_offset = vdso_start - block_start;
    }
    // xonly and emulate look the same in /proc/PID/maps (--xp); none has no line.
    out->config.vsyscall = saw_vsyscall ? sim::VsyscallMode::xonly : sim::VsyscallMode::none;
  } else {
    ok = false;
    *note += "cannot read /proc/self/maps; ";
  }

  struct rlimit rl;
  if (getrlimit(RLIMIT_STACK, &rl) == 0)
    h.stack_rlimit = rl.rlim_cur == RLIM_INFINITY ? sim::kRlimInfinity : rl.rlim_cur;

  if (getrlimit(RLIMIT_DATA, &rl) == 0)
    h.data_rlimit = rl.rlim_cur == RLIM_INFINITY ? sim::kRlimInfinity : rl.rlim_cur;

  std::string v;
  if (read_file("/proc/sys/vm/mmap_min_addr", &v)) h.mmap_min_addr = std::stoull(v);
  // The randomisation sysctls: arch_rnd() masks with vm.mmap_rnd_bits; brk is randomised only
  // with kernel.randomize_va_space = 2.
  if (read_file("/proc/sys/vm/mmap_rnd_bits", &v) && !v.empty())
    h.mmap_rnd_bits = std::stoull(v);
  if (read_file("/proc/sys/vm/mmap_rnd_compat_bits", &v) && !v.empty())
    h.mmap_rnd_compat_bits = std::stoull(v);
  // Whether this kernel runs ia32 programs is left to probe_ia32_exec(), which the caller asks
  // only for a program that may be one (may_be_ia32()): it costs a fork and an execve.
  if (read_file("/proc/sys/vm/legacy_va_layout", &v) && !v.empty())
    h.legacy_va_layout = std::strtoull(v.c_str(), nullptr, 10);
  if (read_file("/proc/sys/kernel/randomize_va_space", &v) && !v.empty())
    h.randomize_va_space = std::stoull(v);
  // The effective floor is max(sysctl, CONFIG_LSM_MMAP_MIN_ADDR): ask the kernel where a
  // hint of one page lands (round_hint_to_min() lifts it to the floor).
  {
    const uint64_t page = 4096;
    void* p = mmap(reinterpret_cast<void*>(page), page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (p != MAP_FAILED) {
      uint64_t at = reinterpret_cast<uint64_t>(p);
      if (at > h.mmap_min_addr && at <= (1ull << 20)) h.mmap_min_addr = at;
      munmap(p, page);
    }
  }
  if (read_file("/proc/sys/vm/overcommit_memory", &v)) h.overcommit_memory = std::stoull(v);
  // totalram_pages() + total_swap_pages, in pages: MemTotal and SwapTotal are in KiB.
  if (read_file("/proc/meminfo", &v)) {
    unsigned long long total_kb = 0, swap_kb = 0;
    std::istringstream mi(v);
    std::string key;
    unsigned long long n;
    std::string unit;
    while (mi >> key >> n) {
      std::getline(mi, unit);
      if (key == "MemTotal:") total_kb = n;
      if (key == "SwapTotal:") swap_kb = n;
    }
    h.commit_limit_pages = (total_kb + swap_kb) * 1024 / 4096;
  }
  // 5-level paging: a hint above the 47-bit window is honoured only with LA57
  // (arch_get_unmapped_area_topdown(): addr > DEFAULT_MAP_WINDOW widens the limit).
  {
    void* want = reinterpret_cast<void*>(uint64_t(1) << 50);
    void* p = mmap(want, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
      out->config.paging = reinterpret_cast<uint64_t>(p) >= (uint64_t(1) << 47) ? 5 : 4;
      munmap(p, 4096);
    }
  }
  return ok;
}

}  // namespace execmap::live
