// execmap-vm-agent: /init (PID 1) of the initramfs that live/vm.cc boots in qemu. It reports the
// guest kernel's facts, runs each case of /execmap/cases (live::capture_at_exec, or a plain run),
// writes every result as a framed record to the host, and powers the VM off.
//
// Output channels, fastest first: an ivshmem-plain PCI BAR (mapped through sysfs, no driver
// needed: ~90 MB/s under TCG), then the isa-debugcon port 0xe9 (outsb after ioperm, ~1 MB/s),
// then the console (stderr). Every record is framed with its length and CRC (vm_wire.h), so the
// host can find it in any of them.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "live/capture.h"
#include "live/vm_wire.h"

namespace execmap::live {
namespace {

constexpr char kCaseFile[] = "/execmap/cases";
constexpr unsigned short kDebugconPort = 0xe9;
// ivshmem-plain (Red Hat vendor 0x1af4, device 0x1110); BAR 2 is the shared memory.
constexpr char kIvshmemVendor[] = "0x1af4";
constexpr char kIvshmemDevice[] = "0x1110";
// The shared-memory log: this header, then the frames back to back. `used` (little-endian u64 at
// offset 16) is updated after each frame is complete, so the host reads only what was written.
constexpr char kShmMagic[] = "EXECMAP-SHM1\n";
constexpr size_t kShmHeader = 64;

void say(const std::string& text) {
  std::string line = "execmap-vm-agent: " + text + "\n";
  ssize_t n = ::write(2, line.data(), line.size());
  (void)n;
}

bool read_file(const std::string& path, std::string* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out->clear();
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return n == 0;
    }
    out->append(buf, static_cast<size_t>(n));
  }
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

double uptime() {
  std::string s;
  if (!read_file("/proc/uptime", &s)) return 0;
  return std::strtod(s.c_str(), nullptr);
}

uint64_t rlim_value(rlim_t v) { return v == RLIM_INFINITY ? ~uint64_t{0} : uint64_t{v}; }

// Where the records go.
class Channel {
 public:
  void open() {
    open_shared_memory();
    // ioperm needs CAP_SYS_RAWIO (we are root) and an x86 port; a VM without the device simply
    // drops the bytes, so debugcon is only used when the host said it is there (kernel cmdline).
    std::string cmdline;
    if (read_file("/proc/cmdline", &cmdline) && cmdline.find("execmap.debugcon=1") != std::string::npos)
      debugcon_ = ::ioperm(kDebugconPort, 1, 1) == 0;
  }
  bool debugcon() const { return debugcon_; }
  bool shared_memory() const { return shm_ != nullptr; }

  void write(RecordType type, const std::string& payload) {
    const auto t0 = std::chrono::steady_clock::now();
    std::string frame = frame_record(type, seq_++, payload);
    bytes_ += payload.size();
    framed_ += frame.size();
    emit(frame);
    write_us_ += static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                           std::chrono::steady_clock::now() - t0)
                                           .count());
  }
  uint32_t records() const { return seq_; }
  uint64_t payload_bytes() const { return bytes_; }
  uint64_t framed_bytes() const { return framed_; }
  uint64_t write_us() const { return write_us_; }

 private:
  void emit(const std::string& frame) {
    if (shm_ && kShmHeader + used_ + frame.size() <= shm_size_) {
      std::memcpy(shm_ + kShmHeader + used_, frame.data(), frame.size());
      used_ += frame.size();
      uint64_t used = used_;
      __atomic_store_n(reinterpret_cast<uint64_t*>(shm_ + 16), used, __ATOMIC_RELEASE);
      return;
    }
    if (debugcon_) {
      const unsigned char* p = reinterpret_cast<const unsigned char*>(frame.data());
      size_t n = frame.size();
      __asm__ volatile("rep outsb" : "+S"(p), "+c"(n) : "d"(kDebugconPort) : "memory");
      return;
    }
    size_t off = 0;  // the console: slow, and printk may interleave, but the CRC tells
    while (off < frame.size()) {
      ssize_t n = ::write(2, frame.data() + off, frame.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
  }

  void open_shared_memory() {
    DIR* dir = ::opendir("/sys/bus/pci/devices");
    if (!dir) return;
    std::string found;
    while (dirent* e = ::readdir(dir)) {
      if (e->d_name[0] == '.') continue;
      std::string base = std::string("/sys/bus/pci/devices/") + e->d_name;
      std::string vendor, device;
      if (read_file(base + "/vendor", &vendor) && read_file(base + "/device", &device) &&
          trim(vendor) == kIvshmemVendor && trim(device) == kIvshmemDevice) {
        found = base + "/resource2";
        break;
      }
    }
    ::closedir(dir);
    if (found.empty()) return;
    int fd = ::open(found.c_str(), O_RDWR | O_CLOEXEC);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(4 * kShmHeader)) {
      say("cannot open " + found + ": " + std::strerror(errno));
      if (fd >= 0) ::close(fd);
      return;
    }
    void* m = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ | PROT_WRITE, MAP_SHARED,
                     fd, 0);
    ::close(fd);
    if (m == MAP_FAILED) {
      say("cannot map " + found + ": " + std::strerror(errno));
      return;
    }
    shm_ = static_cast<char*>(m);
    shm_size_ = static_cast<size_t>(st.st_size);
    std::memset(shm_, 0, kShmHeader);
    std::memcpy(shm_, kShmMagic, sizeof kShmMagic - 1);
  }

  char* shm_ = nullptr;
  size_t shm_size_ = 0;
  uint64_t used_ = 0;
  bool debugcon_ = false;
  uint32_t seq_ = 0;
  uint64_t bytes_ = 0, framed_ = 0, write_us_ = 0;
};

void mount_filesystems() {
  struct Mount {
    const char *source, *target, *type;
  };
  // No tmpfs on /tmp: the initramfs root is already writable, and a mount there would hide
  // the files of a checkout that lives under /tmp (each case's program and cwd are placed
  // at their host paths).
  const Mount mounts[] = {{"proc", "/proc", "proc"},
                          {"sysfs", "/sys", "sysfs"},
                          {"devtmpfs", "/dev", "devtmpfs"}};
  for (const Mount& m : mounts) {
    ::mkdir(m.target, 0755);
    if (::mount(m.source, m.target, m.type, 0, nullptr) != 0 && errno != EBUSY)
      say(std::string("mount ") + m.target + ": " + std::strerror(errno));
  }
}

std::string cpu_flags() {
  std::string cpuinfo;
  if (!read_file("/proc/cpuinfo", &cpuinfo)) return "";
  size_t at = cpuinfo.find("\nflags");
  if (at == std::string::npos) return "";
  size_t colon = cpuinfo.find(':', at);
  size_t eol = cpuinfo.find('\n', at + 1);
  if (colon == std::string::npos || colon > eol) return "";
  return trim(cpuinfo.substr(colon + 2, eol - colon - 2));
}

VmFacts gather_facts(double started) {
  VmFacts f;
  f.uptime_at_start = started;
  utsname u{};
  if (::uname(&u) == 0) {
    f.uname_release = u.release;
    f.uname_version = u.version;
  }
  std::string raw;
  if (read_file("/proc/self/auxv", &raw)) {
    for (size_t off = 0; off + 16 <= raw.size(); off += 16) {
      uint64_t key, value;
      std::memcpy(&key, raw.data() + off, 8);
      std::memcpy(&value, raw.data() + off + 8, 8);
      if (key == AT_NULL) break;
      f.auxv.emplace_back(key, value);
    }
  }
  if (const char* p = reinterpret_cast<const char*>(::getauxval(AT_PLATFORM))) f.platform = p;
  if (const char* p = reinterpret_cast<const char*>(::getauxval(AT_BASE_PLATFORM)))
    f.base_platform = p;
  read_file("/proc/self/maps", &f.self_maps);
  rlimit lim{};
  if (::getrlimit(RLIMIT_STACK, &lim) == 0) {
    f.stack_rlimit_cur = rlim_value(lim.rlim_cur);
    f.stack_rlimit_max = rlim_value(lim.rlim_max);
  }
  f.page_size = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  struct statfs sfs {};
  if (::statfs("/", &sfs) == 0) f.root_fs_magic = static_cast<uint64_t>(sfs.f_type);
  for (const char* path :
       {"/proc/version", "/proc/cmdline", "/proc/sys/vm/mmap_min_addr",
        "/proc/sys/kernel/randomize_va_space", "/proc/sys/vm/overcommit_memory",
        "/proc/sys/vm/max_map_count", "/proc/sys/vm/legacy_va_layout",
        "/proc/sys/vm/mmap_rnd_bits", "/proc/sys/vm/mmap_rnd_compat_bits",
        "/sys/kernel/mm/transparent_hugepage/enabled",
        "/sys/kernel/mm/transparent_hugepage/shmem_enabled", "/proc/sys/kernel/pid_max"}) {
    std::string text;
    f.files.emplace_back(path, read_file(path, &text) ? trim(text) : "");
  }
  f.files.emplace_back("/proc/cpuinfo:flags", cpu_flags());
  return f;
}

uint32_t micros_since(std::chrono::steady_clock::time_point t0) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                  t0)
                .count();
  return us > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(us);
}

bool enter_cwd(const VmCase& c, std::string* err) {
  const std::string dir = c.cwd.empty() ? "/" : c.cwd;
  if (::chdir(dir.c_str()) != 0) {
    *err = "chdir " + dir + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

void run_capture_case(const VmCase& c, uint32_t index, Channel* out) {
  rlimit own{};
  ::getrlimit(RLIMIT_STACK, &own);
  const uint32_t repeat = c.repeat == 0 ? 1 : c.repeat;
  for (uint32_t k = 0; k < repeat; ++k) {
    VmCaptureResult r;
    r.case_index = index;
    r.repeat_index = k;
    r.stack_rlimit = c.request.stack_limit ? *c.request.stack_limit : rlim_value(own.rlim_cur);
    auto t0 = std::chrono::steady_clock::now();
    if (enter_cwd(c, &r.error)) {
      std::optional<Capture> cap = capture_at_exec(c.request, &r.error);
      if (cap) {
        r.ok = true;
        r.capture = std::move(*cap);
      }
    }
    ::chdir("/");
    r.elapsed_us = micros_since(t0);
    WireWriter w;
    encode(w, r);
    out->write(RecordType::Capture, w.data());
  }
}

// Reads the child's stdout and stderr until both close or the deadline passes.
bool drain(int out_fd, int err_fd, std::chrono::steady_clock::time_point deadline, VmRunResult* r) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* sinks[2] = {&r->out, &r->err};
  int open_count = 2;
  char buf[65536];
  while (open_count > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) return false;
    int n = ::poll(fds, 2, static_cast<int>(left > 1000 ? 1000 : left));
    if (n < 0 && errno != EINTR) return false;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        fds[i].fd = -1;
        --open_count;
        continue;
      }
      if (sinks[i]->size() < kRunOutputCap)
        sinks[i]->append(buf, std::min(static_cast<size_t>(got), kRunOutputCap - sinks[i]->size()));
    }
  }
  return true;
}

void run_program_case(const VmCase& c, uint32_t index, Channel* out) {
  VmRunResult r;
  r.case_index = index;
  auto t0 = std::chrono::steady_clock::now();
  const auto deadline = t0 + std::chrono::milliseconds(c.request.timeout_ms);
  std::vector<char*> argv, envp;
  for (const std::string& s : c.request.argv) argv.push_back(const_cast<char*>(s.c_str()));
  for (const std::string& s : c.request.envp) envp.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  envp.push_back(nullptr);
  const std::string dir = c.cwd.empty() ? "/" : c.cwd;
  int out_pipe[2], err_pipe[2], report[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0 ||
      ::pipe2(report, O_CLOEXEC) != 0) {
    r.error = std::string("pipe2: ") + std::strerror(errno);
  } else {
    pid_t pid = ::fork();
    if (pid == 0) {
      // The child: only async-signal-safe calls until execve.
      auto fail = [&](int step) {
        int msg[2] = {step, errno};
        ssize_t n = ::write(report[1], msg, sizeof msg);
        (void)n;
        ::_exit(127);
      };
      int null_fd = ::open("/dev/null", O_RDONLY);
      if (null_fd < 0 || ::dup2(null_fd, 0) < 0) fail(1);
      if (::dup2(out_pipe[1], 1) < 0 || ::dup2(err_pipe[1], 2) < 0) fail(2);
      if (::chdir(dir.c_str()) != 0) fail(3);
      unsigned long persona = PER_LINUX;
      if (c.request.disable_aslr) persona |= ADDR_NO_RANDOMIZE;
      persona |= c.request.personality;
      if (::personality(persona) < 0) fail(4);
      if (c.request.stack_limit) {
        rlimit lim{};
        ::getrlimit(RLIMIT_STACK, &lim);
        lim.rlim_cur = static_cast<rlim_t>(*c.request.stack_limit);
        if (lim.rlim_max != RLIM_INFINITY && lim.rlim_cur > lim.rlim_max) lim.rlim_max = lim.rlim_cur;
        if (::setrlimit(RLIMIT_STACK, &lim) != 0) fail(5);
      }
      ::execve(c.request.path.c_str(), argv.data(), envp.data());
      fail(6);
    }
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    ::close(report[1]);
    if (pid < 0) {
      r.error = std::string("fork: ") + std::strerror(errno);
    } else {
      bool drained = drain(out_pipe[0], err_pipe[0], deadline, &r);
      int msg[2] = {0, 0};
      ssize_t got = ::read(report[0], msg, sizeof msg);
      if (!drained) ::kill(pid, SIGKILL);
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      static const char* const steps[] = {"setup",       "stdin",     "stdout/stderr", "chdir",
                                          "personality", "setrlimit", "execve"};
      if (got == static_cast<ssize_t>(sizeof msg)) {
        r.error = std::string(steps[msg[0] >= 1 && msg[0] <= 6 ? msg[0] : 0]) + ": " +
                  std::strerror(msg[1]);
      } else if (!drained) {
        r.error = "timed out after " + std::to_string(c.request.timeout_ms) + " ms";
      } else {
        r.ok = true;
      }
      if (WIFEXITED(status)) r.exit_status = WEXITSTATUS(status);
      if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
    }
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    ::close(report[0]);
  }
  r.elapsed_us = micros_since(t0);
  WireWriter w;
  encode(w, r);
  out->write(RecordType::Run, w.data());
}

[[noreturn]] void power_off() {
  ::sync();
  ::reboot(RB_POWER_OFF);
  // Not reached unless reboot() failed; PID 1 must never exit (the kernel would panic).
  for (;;) ::pause();
}

void agent_main() {
  mount_filesystems();
  const double started = uptime();
  Channel out;
  out.open();

  VmFacts facts = gather_facts(started);
  facts.debugcon = out.debugcon();
  facts.shared_memory = out.shared_memory();
  {
    WireWriter w;
    encode(w, facts);
    out.write(RecordType::Facts, w.data());
  }

  std::string file, err;
  std::vector<VmCase> cases;
  if (!read_file(kCaseFile, &file)) {
    out.write(RecordType::Log, std::string("cannot read ") + kCaseFile + ": " + std::strerror(errno));
  } else if (!decode_cases(file, &cases, &err)) {
    out.write(RecordType::Log, std::string(kCaseFile) + ": " + err);
    cases.clear();
  }
  for (uint32_t i = 0; i < cases.size(); ++i) {
    if (cases[i].kind == VmCase::Kind::Capture)
      run_capture_case(cases[i], i, &out);
    else
      run_program_case(cases[i], i, &out);
    // As PID 1 we inherit every orphan (a run case's background child): reap the dead ones.
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  }

  VmDone done;
  done.cases = static_cast<uint32_t>(cases.size());
  done.records = out.records();
  done.payload_bytes = out.payload_bytes();
  done.framed_bytes = out.framed_bytes();
  done.write_us = out.write_us();
  done.uptime_at_end = uptime();
  WireWriter w;
  encode(w, done);
  out.write(RecordType::Done, w.data());
}

}  // namespace
}  // namespace execmap::live

int main() {
  // It mounts file systems and powers the machine off: never on a host, only as a VM's init.
  if (::getpid() != 1) {
    execmap::live::say("error: this is the VM's /init (PID 1), started by live::run_in_vm");
    return 2;
  }
  try {
    execmap::live::agent_main();
  } catch (const std::exception& e) {
    execmap::live::say(std::string("fatal: ") + e.what());
  }
  execmap::live::power_off();
}
