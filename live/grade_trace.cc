// Live grading: run an untrusted ELF loader under ptrace with rlimits, a wall-clock bound and
// no inherited descriptors; follow its system calls until PROG's entry page is mapped
// executable, plant an int3 there, and read the state when it is hit. The loader's whole
// process group and every child it forks are killed and reaped, whatever happens.
#include "live/grade_trace.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "util/format.h"
#include "util/maps.h"

namespace execmap::live {
namespace {

using Clock = std::chrono::steady_clock;

// What one stop may copy out of the loader (the grader holds two runs' worth).
constexpr uint64_t kMaxStackImage = 32ull << 20;
constexpr uint64_t kMaxMapping = 64ull << 20;
constexpr uint64_t kMaxMemory = 128ull << 20;

bool read_text(const std::string& path, std::string* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out->clear();
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

// Best effort: the readable prefix of [addr, addr + len).
std::vector<uint8_t> read_mem(pid_t pid, uint64_t addr, uint64_t len) {
  std::vector<uint8_t> out;
  int fd = ::open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  out.resize(len);
  uint64_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd, out.data() + done, len - done, static_cast<off_t>(addr + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<uint64_t>(n);
  }
  out.resize(done);
  ::close(fd);
  return out;
}

// The int3 planted at the entry. Only its low byte is ever written back, so bytes the loader
// writes next to it are kept.
struct Breakpoint {
  bool set = false;
  uint64_t addr = 0;
  uint8_t orig = 0;
};

bool poke_byte(pid_t pid, uint64_t addr, uint8_t byte, uint8_t* old) {
  errno = 0;
  long word = ::ptrace(PTRACE_PEEKTEXT, pid, addr, nullptr);
  if (errno != 0) return false;
  if (old) *old = static_cast<uint8_t>(word & 0xff);
  long nw = static_cast<long>((static_cast<unsigned long>(word) & ~0xfful) | byte);
  return ::ptrace(PTRACE_POKETEXT, pid, addr, nw) == 0;
}

bool peek_byte(pid_t pid, uint64_t addr, uint8_t* b) {
  errno = 0;
  long word = ::ptrace(PTRACE_PEEKTEXT, pid, addr, nullptr);
  if (errno != 0) return false;
  *b = static_cast<uint8_t>(word & 0xff);
  return true;
}

class Tracer {
 public:
  Tracer(const LoaderTraceRequest& req, pid_t pid, const Sandbox* sandbox)
      : req_(req), pid_(pid), stopped_(pid), sandbox_(sandbox) {}

  // The thread in a ptrace stop now: PEEKTEXT and POKETEXT go through it (the leader may be
  // running, or blocked while another thread loads PROG).
  void set_stopped(pid_t tid) { stopped_ = tid; }
  ~Tracer() { kill_all(); }

  // Called at every system-call stop: (re)plant the breakpoint once the entry is executable
  // and lies in PROG: a mapping of PROG's file, or a copy holding PROG's bytes there. An empty
  // executable page at the entry address is not PROG, and gets no breakpoint.
  void update_breakpoint() {
    std::string text;
    if (!read_maps(&text)) return;
    auto maps = util::parse_maps(text);
    bool have_base = !req_.target_is_dyn;
    uint64_t base = 0;
    if (req_.target_is_dyn)
      for (const auto& m : maps)
        if (m.path == req_.target_path && m.offset == req_.first_load_offset &&
            m.start >= req_.first_load_vaddr) {
          base = m.start - req_.first_load_vaddr;
          have_base = true;
          break;
        }
    if (req_.target_is_dyn && !have_base) have_base = find_copy(maps, &base, text);
    uint64_t entry = base + req_.e_entry;
    bool exec_ok = false;
    for (const auto& m : maps)
      if (have_base && m.start <= entry && entry < m.end && (m.prot() & util::kProtExec))
        exec_ok = m.path == req_.target_path || (m.path.empty() && holds_copy(base, text));
    if (bp_.set && (!exec_ok || bp_.addr != entry)) {
      uint8_t cur;
      if (peek_byte(stopped_, bp_.addr, &cur) && cur == 0xcc) poke_byte(stopped_, bp_.addr, bp_.orig, nullptr);
      bp_.set = false;
    }
    if (!exec_ok) return;
    uint8_t cur;
    if (bp_.set && peek_byte(stopped_, entry, &cur) && cur == 0xcc) return;
    // Not planted yet, or the loader rewrote the byte (read(), memcpy, a new mapping).
    if (poke_byte(stopped_, entry, 0xcc, &bp_.orig)) {
      bp_.set = true;
      bp_.addr = entry;
      base_ = base;
    }
  }

  // /proc/PID/maps as the submission names its files (the chroot tree's view translated).
  bool read_maps(std::string* text) const {
    if (!read_text("/proc/" + std::to_string(pid_) + "/maps", text)) return false;
    if (sandbox_) *text = sandbox_->host_view_maps(*text);
    return true;
  }

  // A copy of PROG at `base`: PROG's file bytes of the whole segment holding the entry at
  // base + its p_vaddr (the int3's byte aside). One page of PROG's bytes at the entry is not a
  // loaded PROG. Checked once per base and maps text: a copy is finished when it becomes
  // executable, which changes the maps.
  bool holds_copy(uint64_t base, const std::string& maps_text) {
    if (req_.text_bytes.size() < 2) return false;
    if (maps_text != copy_maps_) {
      copy_maps_ = maps_text;
      copy_checked_.clear();
    }
    auto it = copy_checked_.find(base);
    if (it != copy_checked_.end()) return it->second;
    std::vector<uint8_t> t = read_mem(pid_, base + req_.text_vaddr, req_.text_bytes.size());
    bool same = t.size() == req_.text_bytes.size();
    const uint64_t skip = req_.e_entry - req_.text_vaddr;
    for (size_t k = 0; k < t.size() && same; ++k) same = k == skip || t[k] == req_.text_bytes[k];
    copy_checked_[base] = same;
    return same;
  }

  // A copy of PROG in anonymous memory: an executable anonymous mapping that starts where one
  // of PROG's segments would for some base, holding PROG's bytes at that base's entry point
  // and the whole segment holding it (holds_copy).
  bool find_copy(const std::vector<util::MapsLine>& maps, uint64_t* base, const std::string& text) {
    if (req_.entry_bytes.size() < 2) return false;
    for (const auto& m : maps) {
      if (!m.path.empty() || !(m.prot() & util::kProtExec)) continue;
      for (uint64_t v : req_.load_vaddrs) {
        if (m.start < v) continue;
        const uint64_t b = m.start - v;
        std::vector<uint8_t> at = read_mem(pid_, b + req_.e_entry, req_.entry_bytes.size());
        if (at.size() != req_.entry_bytes.size() ||
            !std::equal(at.begin() + 1, at.end(), req_.entry_bytes.begin() + 1))
          continue;
        if (!holds_copy(b, text)) continue;
        *base = b;
        return true;
      }
    }
    return false;
  }

  void capture(LoaderStop* out, const user_regs_struct& regs) {
    if (bp_.set) poke_byte(stopped_, bp_.addr, bp_.orig, nullptr);
    bp_.set = false;
    out->rip = regs.rip;
    out->rsp = regs.rsp;
    out->rdx = regs.rdx;
    out->base = base_;
    read_maps(&out->maps);
    uint64_t total = 0;
    for (const auto& m : util::parse_maps(out->maps)) {
      // Bounded, whatever the loader maps: the kernel's initial stack is a few pages of
      // strings and pointers, and a graded PROG is small; a hostile loader's sp at the bottom
      // of a huge mapping, or gigabytes of mappings, must not become the grader's memory.
      if (m.start <= regs.rsp && regs.rsp < m.end)
        out->stack_image = read_mem(pid_, regs.rsp, std::min<uint64_t>(m.end - regs.rsp, kMaxStackImage));
      if (!(m.prot() & util::kProtRead) || m.path == "[vvar]" || m.path == "[vvar_vclock]" || m.path == "[vsyscall]")
        continue;
      uint64_t len = m.end - m.start;
      if (len > kMaxMapping || total + len > kMaxMemory) continue;
      MemoryRange mr;
      mr.start = m.start;
      mr.bytes = read_mem(pid_, m.start, len);
      total += mr.bytes.size();
      if (!mr.bytes.empty()) out->memory.push_back(std::move(mr));
    }
  }

  // Kills the loader, its process group, its threads and every child it forked, and reaps
  // them all. In a PID namespace the loader is its init: its death kills the rest
  // (zap_pid_ns_processes). The grader has no other children, so waitpid(-1) until ECHILD
  // reaps exactly the submission's processes and traced threads.
  void kill_all() {
    if (done_) return;
    done_ = true;
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    for (pid_t o : others_) ::kill(o, SIGKILL);
    for (pid_t t : threads_) ::syscall(SYS_tgkill, pid_, t, SIGKILL);
    auto deadline = Clock::now() + std::chrono::seconds(5);
    auto nap = std::chrono::microseconds(50);
    for (;;) {
      int st;
      pid_t r = ::waitpid(-1, &st, __WALL | WNOHANG);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) break;  // ECHILD: everything is reaped
      if (r > 0) continue;
      if (Clock::now() > deadline) break;
      std::this_thread::sleep_for(nap);
      if (nap < std::chrono::milliseconds(5)) nap *= 2;
    }
  }

  void add_thread(pid_t t) { threads_.insert(t); }
  bool is_thread(pid_t t) const { return threads_.count(t) != 0; }
  void drop_thread(pid_t t) { threads_.erase(t); }
  void add_other(pid_t p) {
    others_.insert(p);
    ::kill(p, SIGKILL);
  }
  bool is_other(pid_t p) const { return others_.count(p) != 0; }
  const Breakpoint& bp() const { return bp_; }
  pid_t pid() const { return pid_; }

 private:
  const LoaderTraceRequest& req_;
  pid_t pid_;
  pid_t stopped_;
  Breakpoint bp_;
  uint64_t base_ = 0;
  std::set<pid_t> others_;
  std::set<pid_t> threads_;  // the loader's other threads (traced, running)
  const Sandbox* sandbox_;
  std::string copy_maps_;                    // the maps text copy_checked_ holds for
  std::map<uint64_t, bool> copy_checked_;
  bool done_ = false;
};


// The thread group a task belongs to (/proc/TID/status), or -1.
pid_t tgid_of(pid_t tid) {
  std::string text;
  if (!read_text("/proc/" + std::to_string(tid) + "/status", &text)) return -1;
  size_t at = text.find("\nTgid:");
  if (at == std::string::npos) return -1;
  return static_cast<pid_t>(std::strtol(text.c_str() + at + 6, nullptr, 10));
}

std::string signal_text(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

[[noreturn]] void run_child(const LoaderTraceRequest& req, Sandbox* sandbox, const char* file,
                            char* const* argv, char* const* envp, int write_fd, int null_fd,
                            int stderr_fd, pid_t parent) {
  auto fail = [&](int err) {
    while (::write(write_fd, &err, sizeof err) < 0 && errno == EINTR) {
    }
    ::_exit(127);
  };
  sigset_t mask;
  sigfillset(&mask);
  sigdelset(&mask, SIGTRAP);
  if (::sigprocmask(SIG_SETMASK, &mask, nullptr) != 0) fail(errno);
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) fail(errno);
  // In a PID namespace the parent is outside it: getppid() is 0.
  const pid_t ppid = ::getppid();
  if (ppid != parent && !(ppid == 0 && sandbox->state().level == SandboxLevel::Namespaces))
    ::_exit(127);
  if (::setpgid(0, 0) != 0) fail(errno);
  // stdin and stdout: /dev/null; stderr: a memfd the grader reads the tail of (bounded by
  // RLIMIT_FSIZE; with every signal blocked, a write past it fails with EFBIG).
  for (int fd = 0; fd < 3; ++fd)
    if (::dup2(fd == 2 && stderr_fd >= 0 ? stderr_fd : null_fd, fd) < 0) fail(errno);
  if (write_fd != 3) {
    if (::dup3(write_fd, 3, O_CLOEXEC) < 0) fail(errno);
    write_fd = 3;
  }
  if (::syscall(__NR_close_range, 4u, ~0u, 0u) != 0) {
    for (int fd = 4; fd < 65536; ++fd) ::close(fd);
  }
  if (::personality(PER_LINUX | ADDR_NO_RANDOMIZE) < 0) fail(errno);
  const struct {
    int resource;
    uint64_t value;
  } limits[] = {{RLIMIT_CPU, req.cpu_seconds},
                {RLIMIT_AS, req.address_space_limit},
                {RLIMIT_FSIZE, req.file_size_limit},
                {RLIMIT_CORE, 0},
                {RLIMIT_NPROC, req.nproc},
                {RLIMIT_NOFILE, req.nofile}};
  for (const auto& l : limits) {
    rlimit r{static_cast<rlim_t>(l.value), static_cast<rlim_t>(l.value)};
    if (::setrlimit(l.resource, &r) != 0) fail(errno);
  }
  if (::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) fail(errno);
  const char* step = "";
  if (int err = sandbox->enter(&step)) fail(err);
  ::execve(file, argv, envp);
  fail(errno);
  ::_exit(127);
}

// Polls for the next state change of any tracee until the deadline.
pid_t wait_any(Clock::time_point deadline, int* status) {
  auto nap = std::chrono::microseconds(20);
  for (;;) {
    pid_t r = ::waitpid(-1, status, __WALL | WNOHANG);
    if (r != 0) return r;
    if (Clock::now() >= deadline) return 0;
    std::this_thread::sleep_for(nap);
    if (nap < std::chrono::milliseconds(2)) nap *= 2;
  }
}


bool trace_loader_impl(const LoaderTraceRequest& req, LoaderStop* out, std::string* error,
                       int stderr_fd) {
  if (req.argv.empty()) {
    *error = "empty loader command";
    return false;
  }
  std::string file = resolve_command(req.argv[0]);
  // Built before fork(): the child only calls async-signal-safe functions.
  std::vector<std::string> arg_strings = req.argv, env_strings = req.envp;
  std::vector<char*> argv, envp;
  for (auto& s : arg_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) {
    *error = std::string("/dev/null: ") + std::strerror(errno);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    return false;
  }
  Sandbox sandbox(req.sandbox);  // outlives the tracer: its tree and cgroup go after the reaping
  pid_t parent = ::getpid();
  pid_t pid = sandbox.spawn(error);
  if (pid < 0) {
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    ::close(null_fd);
    return false;
  }
  if (pid == 0) {
    ::close(pipe_fds[0]);
    run_child(req, &sandbox, file.c_str(), argv.data(), envp.data(), pipe_fds[1], null_fd,
              stderr_fd, parent);
  }
  ::close(pipe_fds[1]);
  ::close(null_fd);
  out->sandbox = sandbox.state();
  out->sandbox.detail += "; rlimits: cpu " + std::to_string(req.cpu_seconds) + " s, address space " +
                         std::to_string(req.address_space_limit >> 20) + " MiB, file size " +
                         std::to_string(req.file_size_limit >> 20) + " MiB, " +
                         std::to_string(req.nproc) + " processes, " + std::to_string(req.nofile) +
                         " descriptors";
  Tracer tracer(req, pid, &sandbox);
  auto deadline = Clock::now() + std::chrono::milliseconds(req.timeout_ms);

  // The exec stop, or a report of why the child never got there.
  int status = 0;
  pid_t w;
  do {
    w = wait_any(deadline, &status);
  } while (w > 0 && w != pid);
  std::string setup_failure = sandbox.child_failure();
  if (!setup_failure.empty()) {
    ::close(pipe_fds[0]);
    *error = setup_failure;
    return false;
  }
  int child_err = 0;
  ssize_t n = ::read(pipe_fds[0], &child_err, sizeof child_err);
  ::close(pipe_fds[0]);
  if (n == static_cast<ssize_t>(sizeof child_err)) {
    *error = "cannot run the loader '" + req.argv[0] + "': " + std::strerror(child_err);
    return false;
  }
  if (w != pid || !WIFSTOPPED(status)) {
    *error = "the loader did not reach its exec stop";
    if (w == pid && WIFEXITED(status))
      *error += " (its process exited with status " + std::to_string(WEXITSTATUS(status)) + ")";
    else if (w == pid && WIFSIGNALED(status))
      *error += " (its process was killed by " + signal_text(WTERMSIG(status)) + ")";
    else if (w == 0)
      *error += " within " + std::to_string(req.timeout_ms) + " ms";
    return false;
  }
  ::ptrace(PTRACE_SETOPTIONS, pid, nullptr,
           PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK |
               PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC);

  // Every thread of the loader runs from system call to system call, so the breakpoint follows
  // whichever thread maps PROG; any thread may be the one that jumps.
  auto resume = [&](pid_t t, int sig) {
    tracer.set_stopped(t);
    tracer.update_breakpoint();
    return ::ptrace(PTRACE_SYSCALL, t, nullptr, sig) == 0;
  };
  std::set<pid_t> fresh;  // threads whose first stop (the attach SIGSTOP) is still to come
  if (!resume(pid, 0)) {
    out->outcome = LoaderStop::Outcome::Crashed;
    out->message = std::string("ptrace lost the loader: ") + std::strerror(errno);
    return true;
  }
  for (;;) {
    w = wait_any(deadline, &status);
    if (w == 0) {
      out->outcome = LoaderStop::Outcome::TimedOut;
      out->message = "the loader did not reach the entry point within " +
                     std::to_string(req.timeout_ms) + " ms (killed)";
      return true;
    }
    if (w < 0) {
      out->outcome = LoaderStop::Outcome::Crashed;
      out->message = std::string("waitpid: ") + std::strerror(errno);
      return true;
    }
    const bool leader = w == pid;
    if (!leader && !tracer.is_thread(w)) {
      // A child the loader forked (auto-attached): killed at once, it never runs. A thread seen
      // before its clone event is the loader's own.
      if (!tracer.is_other(w) && WIFSTOPPED(status) && tgid_of(w) == pid) {
        tracer.add_thread(w);
        resume(w, 0);
        continue;
      }
      if (!tracer.is_other(w)) tracer.add_other(w);
      if (WIFSTOPPED(status)) ::ptrace(PTRACE_CONT, w, nullptr, 0);
      continue;
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      if (!leader) {
        tracer.drop_thread(w);
        continue;
      }
      out->outcome = WIFEXITED(status) ? LoaderStop::Outcome::Exited : LoaderStop::Outcome::Crashed;
      out->message = WIFEXITED(status)
                         ? "the loader exited with status " + std::to_string(WEXITSTATUS(status)) +
                               " without reaching the entry point"
                         : "the loader was killed by " + signal_text(WTERMSIG(status)) +
                               " before reaching the entry point";
      return true;
    }
    int sig = WSTOPSIG(status);
    int event = status >> 16;
    if (sig == (SIGTRAP | 0x80)) {  // a system-call stop
      resume(w, 0);
      continue;
    }
    if (sig == SIGSTOP && fresh.erase(w)) {
      resume(w, 0);
      continue;
    }
    if (sig == SIGTRAP && event != 0) {
      if (event == PTRACE_EVENT_EXEC) {
        out->outcome = LoaderStop::Outcome::KernelLoaded;
        out->message = "the kernel loaded PROG, not your loader: it called execve() after its "
                       "own start";
        return true;
      }
      if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK ||
          event == PTRACE_EVENT_CLONE) {
        unsigned long child = 0;
        ::ptrace(PTRACE_GETEVENTMSG, w, nullptr, &child);
        const pid_t c = static_cast<pid_t>(child);
        if (c > 0 && event == PTRACE_EVENT_CLONE && tgid_of(c) == pid) {
          if (!tracer.is_thread(c)) {
            tracer.add_thread(c);
            fresh.insert(c);
          }
        } else if (c > 0 && !tracer.is_other(c)) {
          tracer.add_other(c);
        }
      }
      resume(w, 0);
      continue;
    }
    user_regs_struct regs{};
    ::ptrace(PTRACE_GETREGS, w, nullptr, &regs);
    if (sig == SIGTRAP && tracer.bp().set && regs.rip == tracer.bp().addr + 1) {
      regs.rip = tracer.bp().addr;
      ::ptrace(PTRACE_SETREGS, w, nullptr, &regs);
      tracer.set_stopped(w);
      out->outcome = LoaderStop::Outcome::ReachedEntry;
      out->message = "reached the entry point " + util::hex(regs.rip);
      tracer.capture(out, regs);
      return true;
    }
    if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE) {
      siginfo_t si{};
      ::ptrace(PTRACE_GETSIGINFO, w, nullptr, &si);
      uint64_t addr = reinterpret_cast<uint64_t>(si.si_addr);
      if (sig == SIGSEGV && addr == regs.rip) {
        out->outcome = LoaderStop::Outcome::JumpedElsewhere;
        out->message = "the loader jumped to " + util::hex(regs.rip) +
                       ", which is not executable (" + signal_text(sig) + ")";
        tracer.set_stopped(w);
        tracer.capture(out, regs);
        return true;
      }
      out->outcome = LoaderStop::Outcome::Crashed;
      out->message = "the loader crashed with " + signal_text(sig) + " at rip " +
                     util::hex(regs.rip) + " (fault address " + util::hex(addr) + ")";
      return true;
    }
    // The loader is its PID namespace's init, which ignores a signal whose action is the
    // default (sig_task_ignored(): SIGNAL_UNKILLABLE), and a traced init is not made killable
    // by faults either (force_sig_info_to_task()). Anywhere else the default action kills it:
    // that is the verdict.
    if (out->sandbox.level == SandboxLevel::Namespaces && signal_kills_by_default(w, sig)) {
      out->outcome = LoaderStop::Outcome::Crashed;
      out->message = "the loader was killed by " + signal_text(sig) + " at rip " +
                     util::hex(regs.rip) + " before reaching the entry point";
      return true;
    }
    resume(w, sig);  // any other signal goes to the loader as usual
  }
}

// The last `lines` lines of what the loader wrote to fd, each at most 300 bytes, control
// characters but tab shown as '?'.
std::string tail_lines(int fd, size_t lines) {
  off_t size = ::lseek(fd, 0, SEEK_END);
  if (size <= 0) return "";
  const off_t want = std::min<off_t>(size, 64 << 10);
  std::string buf(static_cast<size_t>(want), '\0');
  ssize_t n = ::pread(fd, &buf[0], buf.size(), size - want);
  if (n <= 0) return "";
  buf.resize(static_cast<size_t>(n));
  std::vector<std::string> all;
  std::string cur;
  for (char ch : buf) {
    if (ch == '\n') {
      all.push_back(cur);
      cur.clear();
    } else if (cur.size() < 300) {
      bool ctl = (static_cast<unsigned char>(ch) < 0x20 && ch != '\t') || ch == 0x7f;
      cur.push_back(ctl ? '?' : ch);
    }
  }
  if (!cur.empty()) all.push_back(cur);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i)
    out += all[i] + (i + 1 < all.size() ? "\n" : "");
  return out;
}

}  // namespace

std::string resolve_command(const std::string& cmd) {
  if (cmd.find('/') != std::string::npos) return cmd;
  const char* path = std::getenv("PATH");
  std::istringstream in(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(in, dir, ':')) {
    std::string p = (dir.empty() ? "." : dir) + "/" + cmd;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return cmd;
}

bool trace_loader(const LoaderTraceRequest& req, LoaderStop* out, std::string* error) {
  *out = LoaderStop{};
  int stderr_fd = ::memfd_create("execmap-loader-stderr", MFD_CLOEXEC);
  bool ok = trace_loader_impl(req, out, error, stderr_fd);
  // Namespaces that could be created but not set up (a container that refuses the mounts): as
  // root, the chroot fallback still holds.
  if (!ok && req.sandbox.enabled && req.sandbox.allow_namespaces && ::geteuid() == 0 &&
      error->rfind("sandbox (namespaces)", 0) == 0) {
    const std::string first = *error;
    LoaderTraceRequest again = req;
    again.sandbox.allow_namespaces = false;
    *out = LoaderStop{};
    if (stderr_fd >= 0) ::ftruncate(stderr_fd, 0);
    ok = trace_loader_impl(again, out, error, stderr_fd);
    if (ok) out->sandbox.detail += "; namespaces failed: " + first;
  }
  if (stderr_fd >= 0) {
    out->stderr_tail = tail_lines(stderr_fd, 20);
    ::close(stderr_fd);
  }
  return ok;
}

}  // namespace execmap::live
