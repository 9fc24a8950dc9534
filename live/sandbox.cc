// The submission sandbox. Its shape follows bubblewrap (bubblewrap.c: a tmpfs new root, files
// bound from descriptors opened before, pivot_root, then no_new_privs and a dropped bounding
// set), isolate (isolate.c: a dedicated unprivileged uid, rlimits, a cgroup per box) and nsjail
// (a user namespace mapping one id, a fresh PID namespace whose init is the jailed process).
#include "live/sandbox.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <grp.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

namespace execmap::live {
namespace {

// The calls the filter refuses with EPERM, and why. clone and clone3 are handled apart.
struct Refused {
  const char* name;
  const char* why;
};
const Refused kRefused[] = {
    {"ptrace", "tracing the grader or another process"},
    {"process_vm_readv", "reading another process's memory"},
    {"process_vm_writev", "writing another process's memory"},
    {"pidfd_getfd", "stealing another process's descriptors"},
    {"kcmp", "probing another process's descriptors and memory"},
    {"unshare", "new namespaces (a way out of the sandbox's)"},
    {"setns", "entering other namespaces"},
    {"mount", "changing the filesystem view"},
    {"umount2", "uncovering what the sandbox hides"},
    {"pivot_root", "changing the root"},
    {"chroot", "changing the root"},
    {"open_tree", "the new mount API"},
    {"move_mount", "the new mount API"},
    {"fsopen", "the new mount API"},
    {"fsconfig", "the new mount API"},
    {"fsmount", "the new mount API"},
    {"fspick", "the new mount API"},
    {"mount_setattr", "the new mount API"},
    {"init_module", "loading kernel code"},
    {"finit_module", "loading kernel code"},
    {"delete_module", "unloading kernel code"},
    {"kexec_load", "replacing the kernel"},
    {"kexec_file_load", "replacing the kernel"},
    {"bpf", "loading BPF programs"},
    {"perf_event_open", "observing other processes and the kernel"},
    {"keyctl", "the kernel keyrings, shared beyond the sandbox"},
    {"add_key", "the kernel keyrings"},
    {"request_key", "the kernel keyrings"},
    {"userfaultfd", "stalling the kernel in page faults (a race amplifier)"},
    {"open_by_handle_at", "opening files by handle, around the filesystem view"},
    {"name_to_handle_at", "file handles"},
    {"reboot", "the machine's state"},
    {"swapon", "the machine's state"},
    {"swapoff", "the machine's state"},
    {"acct", "the machine's state"},
    {"quotactl", "the machine's state"},
    {"syslog", "the kernel log"},
    {"iopl", "port I/O"},
    {"ioperm", "port I/O"},
    {"socketcall", "i386's multiplexed sockets, whose domain a filter cannot read"},
};

// clone() flags that leave the grader's reach: an untraced child, or new namespaces.
constexpr uint64_t kRefusedCloneFlags[] = {
    CLONE_UNTRACED, CLONE_NEWNS,  CLONE_NEWUSER, CLONE_NEWPID,
    CLONE_NEWNET,   CLONE_NEWIPC, CLONE_NEWUTS,  CLONE_NEWCGROUP,
};

bool build_filter(std::vector<unsigned char>* out, std::string* error) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) {
    *error = "seccomp_init failed";
    return false;
  }
  // ia32 and x32 programs enter through their own tables: filter them too.
  seccomp_arch_add(ctx, SCMP_ARCH_X86);
  seccomp_arch_add(ctx, SCMP_ARCH_X32);
  const uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
  int rc = 0;
  for (const Refused& r : kRefused) {
    int nr = seccomp_syscall_resolve_name(r.name);
    if (nr == __NR_SCMP_ERROR) continue;  // not on this libseccomp's tables
    int e = seccomp_rule_add(ctx, eperm, nr, 0);
    if (e != 0 && e != -EDOM && rc == 0) rc = e;
  }
  // clone3's flags sit in memory a filter cannot read: ENOSYS makes glibc fall back to clone.
  seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  for (uint64_t f : kRefusedCloneFlags) {
    int e = seccomp_rule_add(ctx, eperm, SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, f, f));
    if (e != 0 && rc == 0) rc = e;
  }
  // No sockets at all: the network namespace has no interface up, but abstract AF_UNIX names
  // are per network namespace, and the chroot level has none of its own. A loader needs none.
  int e = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 0);
  if (e != 0 && rc == 0) rc = e;
  if (rc != 0) {
    *error = std::string("seccomp rule: ") + std::strerror(-rc);
    seccomp_release(ctx);
    return false;
  }
  int fd = ::memfd_create("execmap-seccomp", MFD_CLOEXEC);
  if (fd < 0 || seccomp_export_bpf(ctx, fd) != 0) {
    *error = "cannot export the seccomp program";
    if (fd >= 0) ::close(fd);
    seccomp_release(ctx);
    return false;
  }
  seccomp_release(ctx);
  off_t size = ::lseek(fd, 0, SEEK_END);
  out->resize(size > 0 ? size_t(size) : 0);
  bool ok = size > 0 && ::pread(fd, out->data(), out->size(), 0) == size;
  ::close(fd);
  if (!ok) *error = "cannot read the seccomp program back";
  return ok;
}

// Async-signal-safe helpers for the child.
bool write_all(int fd, const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  while (n) {
    ssize_t w = ::write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    c += w;
    n -= size_t(w);
  }
  return true;
}

// setgroups({}), setresgid and setresuid as raw system calls. glibc's wrappers apply them to
// every thread of a multi-threaded process (nptl's __nptl_setxid signals each and waits on a
// futex); a child made by a raw clone() inherits glibc's list of the grader's threads without
// the threads, and waited forever. The child is single-threaded: the raw calls are exact.
int raw_setids(uint32_t uid, uint32_t gid, const char** step) {
  if (::syscall(SYS_setgroups, 0, nullptr) != 0) return *step = "setgroups", -1;
  if (::syscall(SYS_setresgid, gid, gid, gid) != 0) return *step = "setresgid", -1;
  if (::syscall(SYS_setresuid, uid, uid, uid) != 0) return *step = "setresuid", -1;
  return 0;
}

// "/proc/self/fd/N" into buf without snprintf.
void fd_path(int fd, char* buf) {
  const char* pre = "/proc/self/fd/";
  size_t i = 0;
  for (; pre[i]; ++i) buf[i] = pre[i];
  char digits[16];
  int n = 0;
  do {
    digits[n++] = char('0' + fd % 10);
    fd /= 10;
  } while (fd);
  while (n) buf[i++] = digits[--n];
  buf[i] = 0;
}

// Parses a /proc/PID/status mask line ("SigIgn:\t0000000000000000").
uint64_t status_mask(const std::string& status, const char* key) {
  size_t at = status.find(key);
  if (at == std::string::npos) return 0;
  return std::strtoull(status.c_str() + at + std::strlen(key), nullptr, 16);
}

bool write_file(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write_all(fd, text.data(), text.size());
  ::close(fd);
  return ok;
}

std::string read_line(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s);
  return s;
}

// The directories a path needs inside the new root, parents first.
void add_parents(const std::string& path, std::vector<std::string>* dirs, std::set<std::string>* seen) {
  for (size_t at = path.find('/', 1); at != std::string::npos; at = path.find('/', at + 1)) {
    std::string d = path.substr(0, at);
    if (seen->insert(d).second) dirs->push_back(d);
  }
}

}  // namespace

uint32_t chroot_level_uid() { return kChrootUidBase + uint32_t(::getpid()); }

bool signal_kills_by_default(pid_t tid, int sig) {
  switch (sig) {  // default action ignore, continue or stop (signal(7))
    case SIGCHLD: case SIGCONT: case SIGURG: case SIGWINCH:
    case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU:
      return false;
    default:
      break;
  }
  if (sig <= 0 || sig > 64) return false;
  std::ifstream f("/proc/" + std::to_string(tid) + "/status");
  std::string status((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (status.empty()) return false;
  const uint64_t bit = 1ull << (sig - 1);
  return !(status_mask(status, "\nSigIgn:") & bit) && !(status_mask(status, "\nSigCgt:") & bit);
}

const char* sandbox_level_name(SandboxLevel level) {
  switch (level) {
    case SandboxLevel::None: return "none";
    case SandboxLevel::Chroot: return "chroot";
    case SandboxLevel::Namespaces: return "namespaces";
  }
  return "?";
}

std::string sandbox_refused_calls() {
  std::ostringstream o;
  for (const Refused& r : kRefused) o << r.name << ": " << r.why << "\n";
  o << "clone with CLONE_UNTRACED or a CLONE_NEW* flag: a child the grader cannot trace, or new "
       "namespaces\n"
    << "clone3: ENOSYS, since a filter cannot read its flags (glibc falls back to clone)\n"
    << "socket: EACCES, no network and no abstract AF_UNIX names\n";
  return o.str();
}

Sandbox::~Sandbox() {
  for (int fd : file_fds_) ::close(fd);
  for (int fd : {report_fd_[0], report_fd_[1], go_fd_[0], go_fd_[1]})
    if (fd >= 0) ::close(fd);
  if (!chroot_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(chroot_dir_, ec);
  }
  if (!cgroup_dir_.empty()) ::rmdir(cgroup_dir_.c_str());
}

bool Sandbox::prepare(std::string* error) {
  root_ = ::geteuid() == 0;
  if (!build_filter(&bpf_, error)) return false;
  // The files, with /dev's harmless devices (loaders read /dev/urandom for AT_RANDOM).
  std::vector<std::string> files = spec_.files;
  for (const char* dev : {"/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"}) files.push_back(dev);
  std::set<std::string> seen_files, seen_dirs;
  std::vector<std::string> kept;
  for (const std::string& f : files) {
    if (f.empty() || f[0] != '/' || !seen_files.insert(f).second) continue;
    int fd = ::open(f.c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0) continue;  // a path that does not exist is simply absent inside too
    struct stat st{};
    if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
      ::close(fd);
      continue;
    }
    struct statvfs vfs{};
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
    if (::statvfs(f.c_str(), &vfs) == 0) {
      // A remount in a user namespace must keep the source mount's locked flags.
      if (vfs.f_flag & ST_NOSUID) flags |= MS_NOSUID;
      if (vfs.f_flag & ST_NODEV) flags |= MS_NODEV;
      if (vfs.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
      if (vfs.f_flag & ST_NOATIME) flags |= MS_NOATIME;
      if (vfs.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
      if (vfs.f_flag & ST_RELATIME) flags |= MS_RELATIME;
    }
    if (!S_ISCHR(st.st_mode)) flags |= MS_NOSUID | MS_NODEV;
    file_fds_.push_back(fd);
    remount_flags_.push_back(flags);
    kept.push_back(f);
    add_parents(f, &dirs_, &seen_dirs);
  }
  spec_.files = kept;
  std::vector<std::pair<std::string, std::string>> links;
  for (const auto& l : spec_.links) {
    if (l.first.empty() || l.first[0] != '/' || l.first == l.second || seen_files.count(l.first) ||
        !seen_files.count(l.second))
      continue;
    seen_files.insert(l.first);
    links.push_back(l);
    add_parents(l.first, &dirs_, &seen_dirs);
  }
  spec_.links = links;
  if (!spec_.cwd.empty() && spec_.cwd[0] == '/') add_parents(spec_.cwd + "/", &dirs_, &seen_dirs);
  scratch_opts_ = "size=" + std::to_string(spec_.scratch_bytes) + ",nr_inodes=4096,mode=0700";
  if (::pipe2(report_fd_, O_CLOEXEC) != 0 || ::pipe2(go_fd_, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  return true;
}

// The parent's word that the child may go on (the id maps, the cgroup are in place); the child
// waits for it before any step of its own.
void Sandbox::send_go() {
  char go = 1;
  write_all(go_fd_[1], &go, 1);
  ::close(go_fd_[1]);
  go_fd_[1] = -1;
}

bool Sandbox::wait_go() {
  ::close(go_fd_[1]);
  char go = 0;
  while (::read(go_fd_[0], &go, 1) < 0 && errno == EINTR) {
  }
  return go == 1;
}

void Sandbox::child_fail(const char* step, int err) {
  // The step's name travels as its index in a fixed table would; a short string is simpler.
  char buf[96] = {};
  size_t n = 0;
  for (; step[n] && n < sizeof buf - 5; ++n) buf[n] = step[n];
  std::memcpy(buf + sizeof buf - 4, &err, 4);
  write_all(report_fd_[1], buf, sizeof buf);
  ::_exit(126);
}

std::string Sandbox::child_failure() {
  if (report_fd_[0] < 0) return "";
  if (report_fd_[1] >= 0) {
    ::close(report_fd_[1]);
    report_fd_[1] = -1;
  }
  char buf[96];
  int fl = ::fcntl(report_fd_[0], F_GETFL);
  ::fcntl(report_fd_[0], F_SETFL, fl | O_NONBLOCK);
  ssize_t n = ::read(report_fd_[0], buf, sizeof buf);
  if (n != ssize_t(sizeof buf)) return "";
  int err;
  std::memcpy(&err, buf + sizeof buf - 4, 4);
  buf[sizeof buf - 5] = 0;
  return std::string("sandbox (") + sandbox_level_name(state_.level) + "): " + buf + ": " +
         std::strerror(err);
}

pid_t Sandbox::spawn(std::string* error) {
  if (!spec_.enabled) {
    state_.level = SandboxLevel::None;
    state_.detail = "--no-sandbox: the submission runs as the grader's user, with rlimits only";
    return ::fork();
  }
  if (!prepare(error)) return -1;
  std::string why_not = "not tried (EXECMAP_SANDBOX=chroot, or their set-up failed)";
  if (spec_.allow_namespaces) {
    pid_t pid = spawn_namespaces(&why_not);
    if (pid >= 0) return pid;
  }
  if (!root_) {
    *error = "no sandbox level can be built: " + why_not +
             "; the chroot fallback needs root (--no-sandbox runs the submission unconfined)";
    return -1;
  }
  pid_t pid = spawn_chroot(error);
  if (pid > 0) state_.detail += "; namespaces refused: " + why_not;
  return pid;
}

pid_t Sandbox::spawn_namespaces(std::string* why_not) {
  const uid_t outer_uid = root_ ? spec_.uid : ::geteuid();
  const gid_t outer_gid = root_ ? spec_.gid : ::getegid();
  const unsigned long flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET |
                              CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD;
  state_.level = SandboxLevel::Namespaces;  // the child reads it too
  pid_t pid = pid_t(::syscall(SYS_clone, flags, nullptr, nullptr, nullptr, nullptr));
  if (pid < 0) {
    state_.level = SandboxLevel::None;
    *why_not = std::string("clone(CLONE_NEWUSER|CLONE_NEWPID|...): ") + std::strerror(errno);
    return -1;
  }
  if (pid == 0) {
    const char* step = "";
    int err = setup_namespaces_child(&step);
    if (err) child_fail(step, err);
    return 0;
  }
  // One id mapped: the same id inside and out (as root, the unprivileged spec_.uid).
  const std::string proc = "/proc/" + std::to_string(pid);
  bool ok = (root_ || write_file(proc + "/setgroups", "deny")) &&
            write_file(proc + "/uid_map", std::to_string(outer_uid) + " " + std::to_string(outer_uid) + " 1\n") &&
            write_file(proc + "/gid_map", std::to_string(outer_gid) + " " + std::to_string(outer_gid) + " 1\n");
  if (!ok) {
    *why_not = "cannot write the user namespace's id maps: " + std::string(std::strerror(errno));
    ::kill(pid, SIGKILL);
    int st;
    ::waitpid(pid, &st, 0);
    state_.level = SandboxLevel::None;
    return -1;
  }
  std::string cg = try_cgroup(pid);
  state_.detail = "uid " + std::to_string(outer_uid) +
                  ", user+pid+mount+net+ipc+uts namespaces, read-only files, " +
                  std::to_string(spec_.scratch_bytes >> 20) +
                  " MiB scratch tmpfs at /tmp, no capabilities, no_new_privs, seccomp; " + cg;
  send_go();
  return pid;
}

int Sandbox::setup_namespaces_child(const char** step) {
  if (!wait_go()) return *step = "waiting for the id maps", ECANCELED;
  // The sources, opened again here (as root still: directories only root may search are
  // passed through): a bind mount's source must be a mount of this namespace
  // (do_loopback's check_mnt), and the copies exist only since clone. Before the tmpfs goes
  // over /tmp, so a file under /tmp is still reachable.
  for (size_t i = 0; i < spec_.files.size(); ++i) {
    int fd = ::open(spec_.files[i].c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0) return *step = "opening a file to bind", errno;
    ::close(file_fds_[i]);
    file_fds_[i] = fd;
  }
  if (root_) {
    // Root's supplementary groups (group 0 among them) go before anything runs.
    if (raw_setids(spec_.uid, spec_.gid, step) != 0) return errno;
  }
  // Nothing this namespace mounts propagates back.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return *step = "mount --make-rprivate /", errno;
  // The new root: a small tmpfs over /tmp, private to this namespace.
  if (::mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,nr_inodes=4096,mode=0755") != 0)
    return *step = "mount tmpfs (new root)", errno;
  char path[4096];
  auto inside = [&](const std::string& p) {
    size_t n = std::min(p.size(), sizeof path - 6);
    std::memcpy(path, "/tmp", 4);
    std::memcpy(path + 4, p.data(), n);
    path[4 + n] = 0;
    return path;
  };
  // The scratch first: files under /tmp (a test's temporary directory) are bound onto it.
  if (::mkdir("/tmp/tmp", 0755) != 0 && errno != EEXIST) return *step = "mkdir /tmp", errno;
  if (::mount("tmpfs", "/tmp/tmp", "tmpfs", MS_NOSUID | MS_NODEV, scratch_opts_.c_str()) != 0)
    return *step = "mount the scratch tmpfs", errno;
  for (const std::string& d : dirs_)
    if (::mkdir(inside(d), 0755) != 0 && errno != EEXIST) return *step = "mkdir", errno;
  for (size_t i = 0; i < spec_.files.size(); ++i) {
    int fd = ::open(inside(spec_.files[i]), O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
    if (fd < 0) return *step = "creating a bind target", errno;
    ::close(fd);
    char src[32];
    fd_path(file_fds_[i], src);
    if (::mount(src, path, nullptr, MS_BIND, nullptr) != 0) return *step = "bind mount", errno;
    if (::mount(nullptr, path, nullptr, remount_flags_[i], nullptr) != 0)
      return *step = "read-only remount", errno;
  }
  for (const auto& l : spec_.links) {
    inside(l.first);
    if (::symlink(l.second.c_str(), path) != 0 && errno != EEXIST) return *step = "symlink", errno;
  }
  // Its own /proc (this process is the PID namespace's init). Containers that mask parts of
  // /proc refuse a fresh one (mount_too_revealing): then there is no /proc inside.
  if (::mkdir("/tmp/proc", 0555) == 0)
    ::mount("proc", "/tmp/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
  // pivot_root(".", "."): the old root ends up stacked on the new one and is detached.
  if (::chdir("/tmp") != 0) return *step = "chdir new root", errno;
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return *step = "pivot_root", errno;
  if (::umount2(".", MNT_DETACH) != 0) return *step = "detaching the old root", errno;
  if (::chdir("/") != 0) return *step = "chdir /", errno;
  if (::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0)
    return *step = "read-only root", errno;
  ::sethostname("execmap-sandbox", 15);
  if (!spec_.cwd.empty() && ::chdir(spec_.cwd.c_str()) != 0) return *step = "chdir cwd", errno;
  return 0;
}

bool Sandbox::prepare_chroot_tree(std::string* error) {
  namespace fs = std::filesystem;
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/execmap-sandbox-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back(0);
  if (!::mkdtemp(buf.data())) {
    *error = "mkdtemp " + templ + ": " + std::strerror(errno);
    return false;
  }
  chroot_dir_ = buf.data();
  ::chmod(chroot_dir_.c_str(), 0755);
  std::error_code ec;
  for (const std::string& d : dirs_) {
    fs::create_directory(chroot_dir_ + d, ec);
    ::chmod((chroot_dir_ + d).c_str(), 0755);
  }
  for (size_t i = 0; i < spec_.files.size(); ++i) {
    const std::string& f = spec_.files[i];
    const std::string to = chroot_dir_ + f;
    struct stat st{};
    if (::stat(f.c_str(), &st) != 0) continue;
    if (S_ISCHR(st.st_mode)) {
      if (::mknod(to.c_str(), S_IFCHR | 0666, st.st_rdev) != 0) continue;  // no CAP_MKNOD
      ::chmod(to.c_str(), 0666);
      continue;
    }
    // A copy, not a link: the submission must not reach the original inode.
    fs::copy_file(f, to, fs::copy_options::overwrite_existing, ec);
    if (ec) {
      *error = "cannot copy " + f + " into the sandbox tree: " + ec.message();
      return false;
    }
    ::chmod(to.c_str(), (st.st_mode & 0111) ? 0555 : 0444);
  }
  for (const auto& l : spec_.links) fs::create_symlink(l.second, chroot_dir_ + l.first, ec);
  // No writable scratch: without a mount nothing bounds the total a directory holds (RLIMIT_FSIZE
  // bounds one file), so the whole tree, /tmp included, is read-only.
  fs::create_directory(chroot_dir_ + "/tmp", ec);
  ::chmod((chroot_dir_ + "/tmp").c_str(), 0755);
  return true;
}

pid_t Sandbox::spawn_chroot(std::string* error) {
  // Without a PID namespace every process of a uid can signal the others: a uid of this run's
  // own (the grader's pid makes it unique among concurrent runs on this machine).
  spec_.uid = spec_.gid = chroot_level_uid();
  if (!prepare_chroot_tree(error)) return -1;
  state_.level = SandboxLevel::Chroot;
  pid_t pid = ::fork();
  if (pid < 0) {
    state_.level = SandboxLevel::None;
    *error = std::string("fork: ") + std::strerror(errno);
    return -1;
  }
  if (pid == 0) {
    const char* step = "";
    int err = setup_chroot_child(&step);
    if (err) child_fail(step, err);
    return 0;
  }
  std::string cg = try_cgroup(pid);
  state_.detail = "uid " + std::to_string(spec_.uid) +
                  " (this run's own), chroot into a prepared read-only tree with no writable "
                  "scratch, no capabilities, no_new_privs, seccomp; " + cg;
  send_go();
  return pid;
}

int Sandbox::setup_chroot_child(const char** step) {
  if (!wait_go()) return *step = "waiting for the grader", ECANCELED;
  if (::chroot(chroot_dir_.c_str()) != 0) return *step = "chroot", errno;
  if (::chdir("/") != 0) return *step = "chdir /", errno;
  if (!spec_.cwd.empty() && ::chdir(spec_.cwd.c_str()) != 0) return *step = "chdir cwd", errno;
  // From root to an unprivileged uid: every capability goes (cap_emulate_setxuid).
  if (raw_setids(spec_.uid, spec_.gid, step) != 0) return errno;
  return 0;
}

int Sandbox::enter(const char** step) {
  if (state_.level == SandboxLevel::None) return 0;
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return *step = "no_new_privs", errno;
  // No capability survives exec, whatever the uid inside (bubblewrap's drop_privs).
  for (int cap = 0; cap <= 63; ++cap)
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL && errno != EPERM)
      return *step = "dropping the bounding set", errno;
  ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capset, &hdr, data) != 0) return *step = "capset", errno;
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(bpf_.size() / sizeof(sock_filter));
  prog.filter = reinterpret_cast<sock_filter*>(bpf_.data());
  if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0)
    return *step = "seccomp", errno;
  return 0;
}

std::string Sandbox::host_view_maps(const std::string& maps) const {
  if (chroot_dir_.empty()) return maps;
  std::string out;
  out.reserve(maps.size());
  std::istringstream in(maps);
  std::string line;
  while (std::getline(in, line)) {
    unsigned long long start = 0, end = 0, offset = 0, ino = 0;
    unsigned major_ = 0, minor_ = 0;
    char perms[8] = {};
    int path_at = -1;
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &offset,
                    &major_, &minor_, &ino, &path_at) < 7 ||
        path_at < 0) {
      out += line + "\n";
      continue;
    }
    std::string path = line.substr(size_t(path_at));
    if (path.compare(0, chroot_dir_.size() + 1, chroot_dir_ + "/") != 0) {
      out += line + "\n";
      continue;
    }
    path.erase(0, chroot_dir_.size());
    struct stat st{};
    bool original = false;
    for (const std::string& f : spec_.files) original = original || f == path;
    if (original && ::stat(path.c_str(), &st) == 0) {
      major_ = ::major(st.st_dev);
      minor_ = ::minor(st.st_dev);
      ino = st.st_ino;
    }
    char head[160];
    int n = std::snprintf(head, sizeof head, "%08llx-%08llx %s %08llx %02x:%02x %llu ", start, end,
                          perms, offset, major_, minor_, ino);
    std::string h(head, size_t(std::max(n, 0)));
    if (h.size() < 73) h.append(73 - h.size(), ' ');
    out += h + path + "\n";
  }
  return out;
}

// cgroup v2, where the grader may create one beside its own: pids.max and memory.max.
std::string Sandbox::try_cgroup(pid_t child) {
  std::ifstream mi("/proc/self/mountinfo");
  std::string line, mnt;
  while (std::getline(mi, line)) {
    size_t dash = line.find(" - cgroup2 ");
    if (dash == std::string::npos) continue;
    std::istringstream in(line);
    std::string id, parent, dev, root;
    in >> id >> parent >> dev >> root >> mnt;
    break;
  }
  if (mnt.empty()) return "cgroup: no cgroup v2 mounted";
  std::ifstream cg("/proc/self/cgroup");
  std::string rel;
  while (std::getline(cg, line))
    if (line.rfind("0::", 0) == 0) rel = line.substr(3);
  const std::string parent = mnt + (rel == "/" ? "" : rel);
  std::string controllers = read_line(parent + "/cgroup.subtree_control");
  if (controllers.find("pids") == std::string::npos || controllers.find("memory") == std::string::npos)
    return "cgroup: v2 at " + mnt + " does not delegate pids and memory here";
  const std::string dir = parent + "/execmap-" + std::to_string(child);
  if (::mkdir(dir.c_str(), 0755) != 0)
    return "cgroup: cannot create " + dir + ": " + std::strerror(errno);
  cgroup_dir_ = dir;
  if (!write_file(dir + "/pids.max", "64") || !write_file(dir + "/memory.max", std::to_string(1ull << 30)) ||
      !write_file(dir + "/cgroup.procs", std::to_string(child)))
    return "cgroup: cannot set limits in " + dir + ": " + std::strerror(errno);
  return "cgroup " + dir + " (pids.max 64, memory.max 1 GiB)";
}

}  // namespace execmap::live
