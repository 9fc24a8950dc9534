// The host side of the VM harness: builds the initramfs (newc cpio, written here), runs qemu with
// a wall-clock timeout, and decodes the agent's framed records from the shared-memory file, the
// debugcon file and the console into a VmReport.
#include "live/vm.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <thread>

namespace execmap::live {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kShmMagic[] = "EXECMAP-SHM1\n";  // as written by vm_agent.cc
constexpr size_t kShmHeader = 64;
constexpr size_t kConsoleKeep = 64u << 10;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string errno_text(int e) { return std::strerror(e); }

bool read_whole(const std::string& path, std::string* out, uint64_t limit = UINT64_MAX) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out->clear();
  char buf[1 << 16];
  while (out->size() < limit) {
    size_t want = sizeof buf;
    if (limit - out->size() < want) want = static_cast<size_t>(limit - out->size());
    ssize_t n = ::read(fd, buf, want);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

// Reads the header's `used` field of the shared-memory file: bytes of frames after the header.
uint64_t shm_used(int fd) {
  char head[kShmHeader];
  if (::pread(fd, head, sizeof head, 0) != static_cast<ssize_t>(sizeof head)) return 0;
  if (std::memcmp(head, kShmMagic, sizeof kShmMagic - 1) != 0) return 0;
  uint64_t used = 0;
  for (int i = 7; i >= 0; --i) used = (used << 8) | static_cast<uint8_t>(head[16 + i]);
  return used;
}

// qemu's option parser splits on ',': a comma inside a value is written twice.
std::string qemu_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

bool is_executable_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}


// Removes a work directory we created (flat: only the files written here).
void remove_work_dir(const std::string& dir) {
  for (const char* name : {"initramfs.cpio", "shm", "debugcon", "console", "qemu.log"})
    ::unlink((dir + "/" + name).c_str());
  ::rmdir(dir.c_str());
}

struct QemuRun {
  int status = 0;
  bool timed_out = false;
  double first_record_seconds = -1;  // when the shared memory (or debugcon) first had a byte
  double wall_seconds = 0;
};

// Runs argv with stdin from /dev/null and stdout/stderr to log_path, polling for the first
// record, and kills it at the deadline. qemu dies with us (PR_SET_PDEATHSIG).
bool run_qemu(const std::vector<std::string>& argv, const std::string& log_path,
              const std::string& shm_path, const std::string& dbg_path, unsigned timeout_seconds,
              QemuRun* run, std::string* err) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    *err = "creating " + log_path + ": " + errno_text(errno);
    return false;
  }
  const pid_t parent = ::getpid();
  const auto t0 = Clock::now();
  pid_t pid = ::fork();
  if (pid < 0) {
    *err = "fork: " + errno_text(errno);
    ::close(log_fd);
    return false;
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (::getppid() != parent) ::_exit(127);
    int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::setpgid(0, 0);  // our terminal's Ctrl-C goes to us, not to qemu directly
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(log_fd);
  int shm_fd = shm_path.empty() ? -1 : ::open(shm_path.c_str(), O_RDONLY | O_CLOEXEC);
  const auto deadline = t0 + std::chrono::seconds(timeout_seconds);
  auto nap = std::chrono::milliseconds(5);
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      run->status = status;
      break;
    }
    if (r < 0 && errno != EINTR) {
      *err = "waitpid: " + errno_text(errno);
      ::kill(pid, SIGKILL);
      if (shm_fd >= 0) ::close(shm_fd);
      return false;
    }
    if (run->first_record_seconds < 0) {
      struct stat st {};
      if ((shm_fd >= 0 && shm_used(shm_fd) > 0) ||
          (::stat(dbg_path.c_str(), &st) == 0 && st.st_size > 0))
        run->first_record_seconds = seconds_since(t0);
    }
    if (Clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      run->status = status;
      run->timed_out = true;
      break;
    }
    std::this_thread::sleep_for(nap);
    if (nap < std::chrono::milliseconds(50)) nap *= 2;
  }
  if (shm_fd >= 0) ::close(shm_fd);
  run->wall_seconds = seconds_since(t0);
  return true;
}

std::string tail_of(const std::string& s, size_t n) {
  return s.size() <= n ? s : s.substr(s.size() - n);
}

// Decodes the records into the report; false with *err when a record is missing or damaged.
bool decode_records(const std::vector<Record>& records, size_t case_count, VmReport* out,
                    std::string* err) {
  std::map<uint32_t, const Record*> by_seq;
  for (const Record& r : records) by_seq.emplace(r.seq, &r);  // a duplicate keeps the first copy
  bool have_done = false;
  uint32_t expected = 0;
  for (const auto& [seq, rec] : by_seq) {
    if (seq != expected) {
      *err = "record " + std::to_string(expected) + " never arrived (or was damaged)";
      return false;
    }
    ++expected;
    WireReader r(rec->payload);
    bool ok = true;
    switch (rec->type) {
      case RecordType::Facts:
        ok = decode(r, &out->facts) && r.at_end();
        out->have_facts = ok;
        break;
      case RecordType::Capture: {
        VmCaptureResult c;
        ok = decode(r, &c) && r.at_end() && c.case_index < case_count;
        if (ok) out->captures.push_back(std::move(c));
        break;
      }
      case RecordType::Run: {
        VmRunResult c;
        ok = decode(r, &c) && r.at_end() && c.case_index < case_count;
        if (ok) out->runs.push_back(std::move(c));
        break;
      }
      case RecordType::Log:
        out->logs.push_back(rec->payload);
        break;
      case RecordType::Done:
        ok = decode(r, &out->done) && r.at_end();
        have_done = ok;
        break;
    }
    if (!ok) {
      *err = "record " + std::to_string(seq) + " does not decode";
      return false;
    }
    if (have_done) break;
  }
  if (!have_done) {
    *err = expected == 0 ? "the agent wrote no record" : "the agent stopped after record " +
                                                             std::to_string(expected - 1);
    return false;
  }
  if (out->done.records != expected - 1) {
    *err = "the agent wrote " + std::to_string(out->done.records) + " records before Done, " +
           std::to_string(expected - 1) + " arrived";
    return false;
  }
  if (out->done.cases != case_count) {
    *err = "the agent ran " + std::to_string(out->done.cases) + " of " +
           std::to_string(case_count) + " cases";
    for (const std::string& l : out->logs) *err += "; agent: " + l;
    return false;
  }
  return true;
}

bool probe_kvm(const VmConfig& cfg, std::string* why) {
  int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    *why = "/dev/kvm: " + errno_text(errno);
    return false;
  }
  ::close(fd);
  VmConfig probe = cfg;
  probe.accel = VmConfig::Accel::Kvm;
  probe.files.clear();
  probe.timeout_seconds = cfg.kvm_probe_timeout_seconds;
  probe.work_dir.clear();
  probe.keep_work_dir = false;
  VmReport report;
  std::string err;
  if (!run_in_vm(probe, {}, &report, &err)) {
    *why = "a KVM probe boot failed (" + err + ")";
    return false;
  }
  *why = "a KVM probe boot completed in " + std::to_string(report.wall_seconds) + " s";
  return true;
}

}  // namespace

// The qemu binary: cfg.qemu as a path, or searched in PATH.
std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return is_executable_file(name) ? name : "";
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t pos = 0;
  while (pos <= dirs.size()) {
    size_t colon = dirs.find(':', pos);
    if (colon == std::string::npos) colon = dirs.size();
    std::string dir = dirs.substr(pos, colon - pos);
    if (!dir.empty() && is_executable_file(dir + "/" + name)) return dir + "/" + name;
    pos = colon + 1;
  }
  return "";
}

std::string resolve_accel(const VmConfig& cfg, std::string* why) {
  switch (cfg.accel) {
    case VmConfig::Accel::Tcg:
      if (why) *why = "TCG requested";
      return "tcg";
    case VmConfig::Accel::Kvm:
      if (why) *why = "KVM requested";
      return "kvm";
    case VmConfig::Accel::Auto:
      break;
  }
  static std::string cached, cached_why;
  if (cached.empty()) cached = probe_kvm(cfg, &cached_why) ? "kvm" : "tcg";
  if (why) *why = cached_why;
  return cached;
}

std::string find_vm_agent() {
  if (const char* env = std::getenv("EXECMAP_VM_AGENT"); env && *env)
    return is_executable_file(env) ? env : "";
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "";
  self[n] = '\0';
  std::string dir(self);
  dir.resize(dir.rfind('/'));
  for (const std::string& p : {dir + "/execmap-vm-agent", dir + "/../libexec/execmap/execmap-vm-agent"})
    if (is_executable_file(p)) return p;
  return "";
}

std::optional<std::string> bzimage_release(const std::string& image, std::string* err) {
  std::string head;
  struct stat st;
  if (::stat(image.c_str(), &st) != 0) {
    *err = image + ": " + errno_text(errno);
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {  // a FIFO would block the read, a directory has no header
    *err = image + ": not a regular file";
    return std::nullopt;
  }
  if (!read_whole(image, &head, 0x10000)) {
    *err = image + ": " + errno_text(errno);
    return std::nullopt;
  }
  // Setup header: "HdrS" at 0x202, protocol version at 0x206, kernel_version at 0x20e.
  if (head.size() < 0x210 || head.compare(0x202, 4, "HdrS") != 0) {
    *err = image + ": no bzImage setup header (HdrS)";
    return std::nullopt;
  }
  uint16_t version = static_cast<uint16_t>(static_cast<uint8_t>(head[0x206]) |
                                           static_cast<uint8_t>(head[0x207]) << 8);
  uint16_t ptr = static_cast<uint16_t>(static_cast<uint8_t>(head[0x20e]) |
                                       static_cast<uint8_t>(head[0x20f]) << 8);
  size_t at = size_t{ptr} + 0x200;
  if (version < 0x0200 || ptr == 0 || at >= head.size()) {
    *err = image + ": the setup header has no kernel_version";
    return std::nullopt;
  }
  size_t end = at;
  while (end < head.size() && end - at < 256 && head[end] != '\0' && head[end] != ' ') ++end;
  if (end == at) {
    *err = image + ": empty kernel_version";
    return std::nullopt;
  }
  return head.substr(at, end - at);
}

// ---- newc cpio -------------------------------------------------------------------------------

bool CpioWriter::write(const void* data, size_t size) {
  if (!ok_) return false;
  if (size != 0 && std::fwrite(data, 1, size, out_) != size) ok_ = false;
  bytes_ += size;
  return ok_;
}

bool CpioWriter::pad() {
  static const char zeros[4] = {};
  return write(zeros, (4 - bytes_ % 4) % 4);
}

bool CpioWriter::header(const std::string& path, uint32_t mode, uint64_t size,
                        uint32_t rdev_major, uint32_t rdev_minor) {
  if (size > 0xffffffffu) {
    ok_ = false;
    return false;
  }
  // Names are stored relative to the root ("usr/lib/..."), as cpio(1) writes them.
  std::string name = path;
  while (!name.empty() && name[0] == '/') name.erase(0, 1);
  if (name.empty()) name = ".";
  char head[111];
  std::snprintf(head, sizeof head,
                "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08zX%08X", next_ino_++, mode,
                0u, 0u, (mode & S_IFMT) == S_IFDIR ? 2u : 1u, 0u, static_cast<uint32_t>(size), 0u,
                0u, rdev_major, rdev_minor, name.size() + 1, 0u);
  return write(head, 110) && write(name.c_str(), name.size() + 1) && pad();
}

bool CpioWriter::add_dir(const std::string& path, uint32_t mode) {
  if (!added_.insert(path).second) return ok_;
  return header(path, S_IFDIR | (mode & 07777), 0, 0, 0);
}

bool CpioWriter::add_file(const std::string& path, uint32_t mode, const std::string& data) {
  if (!added_.insert(path).second) return ok_;
  return header(path, S_IFREG | (mode & 07777), data.size(), 0, 0) &&
         write(data.data(), data.size()) && pad();
}

bool CpioWriter::add_symlink(const std::string& path, const std::string& target) {
  if (!added_.insert(path).second) return ok_;
  return header(path, S_IFLNK | 0777, target.size(), 0, 0) &&
         write(target.data(), target.size()) && pad();
}

bool CpioWriter::add_char_device(const std::string& path, uint32_t mode, uint32_t major,
                                 uint32_t minor) {
  if (!added_.insert(path).second) return ok_;
  return header(path, S_IFCHR | (mode & 07777), 0, major, minor);
}

bool CpioWriter::add_host_file(const std::string& path, uint32_t mode, uint64_t size,
                               std::string* err) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *err = path + ": " + errno_text(errno);
    return false;
  }
  if (!header(path, S_IFREG | (mode & 07777), size, 0, 0)) {
    ::close(fd);
    *err = path + ": cannot write the archive (or larger than 4 GiB)";
    return false;
  }
  char buf[1 << 16];
  uint64_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    size_t take = static_cast<size_t>(n);
    if (take > size - done) take = static_cast<size_t>(size - done);
    if (!write(buf, take)) break;
    done += take;
  }
  ::close(fd);
  if (done != size) {
    *err = path + ": changed size while being copied";
    ok_ = false;
    return false;
  }
  return pad();
}

bool CpioWriter::add_host_path(const std::string& path, std::string* err) {
  if (path.empty() || path[0] != '/') {
    *err = "not an absolute path: " + path;
    return false;
  }
  return add_host_path_at(path, 0, err);
}

// Walks the path one component at a time on the host, as path lookup does: a symlink is added as
// a symlink and the walk goes on from its target, so the guest resolves every name as the host.
bool CpioWriter::add_host_path_at(const std::string& path, int depth, std::string* err) {
  if (depth > 40) {
    *err = path + ": too many levels of symbolic links";
    return false;
  }
  std::vector<std::string> comps;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    std::string c = path.substr(pos, slash - pos);
    if (!c.empty() && c != ".") comps.push_back(c);
    pos = slash + 1;
  }
  std::string cur;  // the walked prefix, free of symlinks
  for (size_t i = 0; i < comps.size(); ++i) {
    if (comps[i] == "..") {
      size_t slash = cur.rfind('/');
      cur = slash == std::string::npos ? "" : cur.substr(0, slash);
      continue;
    }
    const std::string next = cur + "/" + comps[i];
    struct stat st {};
    if (::lstat(next.c_str(), &st) != 0) {
      *err = next + ": " + errno_text(errno);
      return false;
    }
    const bool last = i + 1 == comps.size();
    if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlink(next.c_str(), &target[0], target.size());
      if (n < 0 || static_cast<size_t>(n) >= target.size()) {
        *err = next + ": readlink failed";
        return false;
      }
      target.resize(static_cast<size_t>(n));
      if (!add_symlink(next, target)) break;
      std::string resolved = target[0] == '/' ? target : (cur.empty() ? "" : cur) + "/" + target;
      for (size_t k = i + 1; k < comps.size(); ++k) resolved += "/" + comps[k];
      return add_host_path_at(resolved, depth + 1, err);
    }
    if (S_ISDIR(st.st_mode)) {
      if (!add_dir(next, st.st_mode)) break;
      cur = next;
      continue;
    }
    if (S_ISREG(st.st_mode) && last) {
      if (added_.count(next)) return true;
      added_.insert(next);
      return add_host_file(next, st.st_mode, static_cast<uint64_t>(st.st_size), err);
    }
    *err = next + (S_ISREG(st.st_mode) ? ": not a directory" : ": not a file, directory or symlink");
    return false;
  }
  if (!ok_) {
    *err = "cannot write the archive";
    return false;
  }
  return true;
}

bool CpioWriter::finish() {
  header("TRAILER!!!", 0, 0, 0, 0);
  return ok_ && std::fflush(out_) == 0;
}

bool write_initramfs(const std::string& path, const VmConfig& cfg,
                     const std::vector<VmCase>& cases, uint64_t* bytes, std::string* err) {
  std::string agent;
  if (!read_whole(cfg.agent, &agent)) {
    *err = "cannot read the agent " + cfg.agent + ": " + errno_text(errno);
    return false;
  }
  if (agent.size() < 4 || agent.compare(0, 4, "\x7f" "ELF") != 0) {
    *err = cfg.agent + " is not an ELF file";
    return false;
  }
  std::FILE* f = std::fopen(path.c_str(), "wbe");
  if (!f) {
    *err = "creating " + path + ": " + errno_text(errno);
    return false;
  }
  CpioWriter cpio(f);
  bool ok = true;
  // /dev/console first: the kernel opens it as the init's stdin/stdout/stderr (console_on_rootfs).
  for (const char* dir : {"/dev", "/proc", "/sys", "/tmp", "/execmap"}) ok = ok && cpio.add_dir(dir, 0755);
  ok = ok && cpio.add_char_device("/dev/console", 0600, 5, 1) &&
       cpio.add_char_device("/dev/null", 0666, 1, 3) && cpio.add_file("/init", 0755, agent) &&
       cpio.add_file("/execmap/cases", 0644, encode_cases(cases));
  if (!ok) {
    *err = "writing " + path + ": " + errno_text(errno);
    std::fclose(f);
    return false;
  }
  std::vector<std::string> paths = cfg.files;
  for (const VmCase& c : cases)
    if (!c.cwd.empty()) paths.push_back(c.cwd);
  for (const std::string& p : paths) {
    if (!cpio.add_host_path(p, err)) {
      std::fclose(f);
      return false;
    }
  }
  ok = cpio.finish();
  if (std::fclose(f) != 0) ok = false;
  if (!ok) {
    *err = "writing " + path + ": " + errno_text(errno);
    return false;
  }
  *bytes = cpio.bytes();
  return true;
}

bool run_in_vm(const VmConfig& cfg, const std::vector<VmCase>& cases, VmReport* out,
               std::string* err) {
  *out = VmReport{};
  const std::string qemu = find_program(cfg.qemu);
  if (qemu.empty()) {
    *err = cfg.qemu + ": not found (Debian package qemu-system-x86)";
    return false;
  }
  struct stat st {};
  if (::stat(cfg.kernel.c_str(), &st) != 0) {
    *err = "kernel image " + cfg.kernel + ": " + errno_text(errno);
    return false;
  }
  if (cfg.channel == VmConfig::Channel::SharedMemory &&
      (cfg.shared_memory_bytes < (1u << 20) ||
       (cfg.shared_memory_bytes & (cfg.shared_memory_bytes - 1)) != 0)) {
    *err = "shared_memory_bytes must be a power of two of at least 1 MiB";
    return false;
  }
  out->accel = resolve_accel(cfg, &out->accel_why);

  std::string dir = cfg.work_dir;
  bool temp_dir = false;
  if (dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/execmap-vm.XXXXXX";
    if (!::mkdtemp(&templ[0])) {
      *err = "mkdtemp " + templ + ": " + errno_text(errno);
      return false;
    }
    dir = templ;
    temp_dir = true;
  } else if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    *err = "mkdir " + dir + ": " + errno_text(errno);
    return false;
  }
  struct Cleanup {
    std::string dir;
    bool active;
    ~Cleanup() {
      if (active) remove_work_dir(dir);
    }
  } cleanup{dir, temp_dir && !cfg.keep_work_dir};

  const std::string cpio = dir + "/initramfs.cpio", shm = dir + "/shm", dbg = dir + "/debugcon",
                    console = dir + "/console", log = dir + "/qemu.log";
  auto t_cpio = Clock::now();
  if (!write_initramfs(cpio, cfg, cases, &out->initramfs_bytes, err)) return false;
  out->initramfs_seconds = seconds_since(t_cpio);

  const bool use_shm = cfg.channel == VmConfig::Channel::SharedMemory;
  for (const std::string& p : {shm, dbg, console}) ::unlink(p.c_str());
  if (use_shm) {
    int fd = ::open(shm.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(cfg.shared_memory_bytes)) != 0) {
      *err = "creating " + shm + ": " + errno_text(errno);
      if (fd >= 0) ::close(fd);
      return false;
    }
    ::close(fd);
  }

  std::string cmdline = "console=ttyS0 quiet loglevel=0 panic=-1 execmap.debugcon=1";
  for (const std::string& a : cfg.extra_cmdline) cmdline += " " + a;
  std::vector<std::string>& argv = out->qemu_argv;
  argv = {qemu, "-M", cfg.machine, "-m", std::to_string(cfg.memory_mib), "-accel", out->accel,
          "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
          "-kernel", cfg.kernel, "-initrd", cpio, "-append", cmdline,
          "-serial", "file:" + console,
          "-chardev", "file,id=execmap-dbg,path=" + qemu_escape(dbg),
          "-device", "isa-debugcon,iobase=0xe9,chardev=execmap-dbg"};
  if (use_shm) {
    argv.insert(argv.end(),
                {"-object",
                 "memory-backend-file,id=execmap-shm,share=on,mem-path=" + qemu_escape(shm) +
                     ",size=" + std::to_string(cfg.shared_memory_bytes),
                 "-device", "ivshmem-plain,memdev=execmap-shm"});
  }
  argv.insert(argv.end(), cfg.extra_qemu_args.begin(), cfg.extra_qemu_args.end());

  QemuRun run;
  if (!run_qemu(argv, log, use_shm ? shm : "", dbg, cfg.timeout_seconds, &run, err)) return false;
  out->wall_seconds = run.wall_seconds;
  out->boot_seconds = run.first_record_seconds < 0 ? 0 : run.first_record_seconds;
  out->cases_seconds = run.first_record_seconds < 0 ? 0 : run.wall_seconds - run.first_record_seconds;

  // Collect the frames from every channel; the console is scanned too (the agent's last resort).
  std::vector<Record> records;
  size_t damaged = 0, d = 0;
  if (use_shm) {
    int fd = ::open(shm.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      uint64_t used = shm_used(fd);
      ::close(fd);
      out->shared_memory_used = used;
      std::string data;
      if (used > 0 && used <= cfg.shared_memory_bytes - kShmHeader &&
          read_whole(shm, &data, kShmHeader + used)) {
        data.erase(0, kShmHeader);
        records = scan_records(data, &d);
        damaged += d;
      }
    }
  }
  std::string text;
  if (read_whole(dbg, &text)) {
    out->debugcon_bytes = text.size();
    for (Record& r : scan_records(text, &d)) records.push_back(std::move(r));
    damaged += d;
  }
  if (read_whole(console, &text)) {
    for (Record& r : scan_records(text, &d)) records.push_back(std::move(r));
    out->console = tail_of(text, kConsoleKeep);
  }
  out->damaged_frames = damaged;

  std::string qemu_log;
  read_whole(log, &qemu_log);
  auto fail_with = [&](const std::string& what) {
    *err = what;
    if (run.timed_out) *err += " (qemu killed after the " + std::to_string(cfg.timeout_seconds) + " s timeout)";
    else if (WIFEXITED(run.status) && WEXITSTATUS(run.status) != 0)
      *err += " (qemu exited with status " + std::to_string(WEXITSTATUS(run.status)) + ": " +
              tail_of(qemu_log, 2000) + ")";
    if (!out->console.empty()) *err += "\n--- console (tail)\n" + tail_of(out->console, 3000);
    if (temp_dir && cfg.keep_work_dir) *err += "\n(work files kept in " + dir + ")";
    return false;
  };
  std::string why_records;
  if (!decode_records(records, cases.size(), out, &why_records)) return fail_with(why_records);
  if (run.timed_out) return fail_with("every record arrived but qemu did not power off");
  return true;
}

}  // namespace execmap::live
