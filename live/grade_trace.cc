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
#include <set>
#include <sstream>
#include <thread>

#include "util/format.h"
#include "util/maps.h"

namespace execmap::live {
namespace {

using Clock = std::chrono::steady_clock;

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
  Tracer(const LoaderTraceRequest& req, pid_t pid) : req_(req), pid_(pid) {}
  ~Tracer() { kill_all(); }

  // Called at every system-call stop: (re)plant the breakpoint once the entry is executable.
  void update_breakpoint() {
    std::string text;
    if (!read_text("/proc/" + std::to_string(pid_) + "/maps", &text)) return;
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
    if (req_.target_is_dyn && !have_base) have_base = find_copy(maps, &base);
    uint64_t entry = base + req_.e_entry;
    bool exec_ok = false;
    for (const auto& m : maps)
      if (have_base && m.start <= entry && entry < m.end && (m.prot() & util::kProtExec))
        exec_ok = true;
    if (bp_.set && (!exec_ok || bp_.addr != entry)) {
      uint8_t cur;
      if (peek_byte(pid_, bp_.addr, &cur) && cur == 0xcc) poke_byte(pid_, bp_.addr, bp_.orig, nullptr);
      bp_.set = false;
    }
    if (!exec_ok) return;
    uint8_t cur;
    if (bp_.set && peek_byte(pid_, entry, &cur) && cur == 0xcc) return;
    // Not planted yet, or the loader rewrote the byte (read(), memcpy, a new mapping).
    if (poke_byte(pid_, entry, 0xcc, &bp_.orig)) {
      bp_.set = true;
      bp_.addr = entry;
      base_ = base;
    }
  }

  // A copy of PROG in anonymous memory: an executable anonymous mapping that starts where one
  // of PROG's segments would for some base, holding PROG's bytes at that base's entry point
  // (the first byte aside: it may be our int3) and at the start of the segment holding it.
  bool find_copy(const std::vector<util::MapsLine>& maps, uint64_t* base) const {
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
        if (!req_.text_bytes.empty()) {
          std::vector<uint8_t> t = read_mem(pid_, b + req_.text_vaddr, req_.text_bytes.size());
          if (t.size() != req_.text_bytes.size()) continue;
          const uint64_t skip = req_.e_entry - req_.text_vaddr;  // the int3, if it is in range
          bool same = true;
          for (size_t k = 0; k < t.size() && same; ++k) same = k == skip || t[k] == req_.text_bytes[k];
          if (!same) continue;
        }
        *base = b;
        return true;
      }
    }
    return false;
  }

  void capture(LoaderStop* out, const user_regs_struct& regs) {
    if (bp_.set) poke_byte(pid_, bp_.addr, bp_.orig, nullptr);
    bp_.set = false;
    out->rip = regs.rip;
    out->rsp = regs.rsp;
    out->rdx = regs.rdx;
    out->base = base_;
    read_text("/proc/" + std::to_string(pid_) + "/maps", &out->maps);
    uint64_t total = 0;
    for (const auto& m : util::parse_maps(out->maps)) {
      if (m.start <= regs.rsp && regs.rsp < m.end)
        out->stack_image = read_mem(pid_, regs.rsp, m.end - regs.rsp);
      if (!(m.prot() & util::kProtRead) || m.path == "[vvar]" || m.path == "[vvar_vclock]" || m.path == "[vsyscall]")
        continue;
      uint64_t len = m.end - m.start;
      if (len > (256ull << 20) || total + len > (512ull << 20)) continue;
      MemoryRange mr;
      mr.start = m.start;
      mr.bytes = read_mem(pid_, m.start, len);
      total += mr.bytes.size();
      if (!mr.bytes.empty()) out->memory.push_back(std::move(mr));
    }
  }

  // Kills the loader, its process group and every child it forked, and reaps them.
  void kill_all() {
    if (done_) return;
    done_ = true;
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    for (pid_t o : others_) ::kill(o, SIGKILL);
    int st;
    while (::waitpid(pid_, &st, __WALL) < 0 && errno == EINTR) {
    }
    auto deadline = Clock::now() + std::chrono::seconds(2);
    for (pid_t o : others_) {
      for (;;) {
        pid_t r = ::waitpid(o, &st, __WALL | WNOHANG);
        if (r == o && (WIFEXITED(st) || WIFSIGNALED(st))) break;
        if (r < 0 || Clock::now() > deadline) break;  // reaped by its own parent, or gone
        ::kill(o, SIGKILL);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
  }

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
  Breakpoint bp_;
  uint64_t base_ = 0;
  std::set<pid_t> others_;
  bool done_ = false;
};

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

std::string signal_text(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

[[noreturn]] void run_child(const LoaderTraceRequest& req, const char* file, char* const* argv,
                            char* const* envp, int write_fd, int stderr_fd, pid_t parent) {
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
  if (::getppid() != parent) ::_exit(127);
  if (::setpgid(0, 0) != 0) fail(errno);
  int null_fd = ::open("/dev/null", O_RDWR);
  if (null_fd < 0) fail(errno);
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
                {RLIMIT_CORE, 0}};
  for (const auto& l : limits) {
    rlimit r{static_cast<rlim_t>(l.value), static_cast<rlim_t>(l.value)};
    if (::setrlimit(l.resource, &r) != 0) fail(errno);
  }
  if (::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) fail(errno);
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
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    return false;
  }
  if (pid == 0) {
    ::close(pipe_fds[0]);
    run_child(req, file.c_str(), argv.data(), envp.data(), pipe_fds[1], stderr_fd, parent);
  }
  ::close(pipe_fds[1]);
  Tracer tracer(req, pid);
  auto deadline = Clock::now() + std::chrono::milliseconds(req.timeout_ms);

  // The exec stop, or a report of why the child never got there.
  int status = 0;
  pid_t w;
  do {
    w = wait_any(deadline, &status);
  } while (w > 0 && w != pid);
  int child_err = 0;
  ssize_t n = ::read(pipe_fds[0], &child_err, sizeof child_err);
  ::close(pipe_fds[0]);
  if (n == static_cast<ssize_t>(sizeof child_err)) {
    *error = "cannot run the loader '" + req.argv[0] + "': " + std::strerror(child_err);
    return false;
  }
  if (w != pid || !WIFSTOPPED(status)) {
    *error = "the loader did not reach its exec stop";
    return false;
  }
  ::ptrace(PTRACE_SETOPTIONS, pid, nullptr,
           PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK |
               PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC);

  int deliver = 0;
  for (;;) {
    tracer.update_breakpoint();
    if (::ptrace(PTRACE_SYSCALL, pid, nullptr, deliver) != 0) {
      out->outcome = LoaderStop::Outcome::Crashed;
      out->message = std::string("ptrace lost the loader: ") + std::strerror(errno);
      return true;
    }
    deliver = 0;
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
      if (w == pid) break;
      // A child the loader forked (auto-attached): it is killed at once and never runs.
      if (!tracer.is_other(w)) tracer.add_other(w);
      if (WIFSTOPPED(status)) ::ptrace(PTRACE_CONT, w, nullptr, 0);
    }
    if (WIFEXITED(status)) {
      out->outcome = LoaderStop::Outcome::Exited;
      out->message = "the loader exited with status " + std::to_string(WEXITSTATUS(status)) +
                     " without reaching the entry point";
      return true;
    }
    if (WIFSIGNALED(status)) {
      out->outcome = LoaderStop::Outcome::Crashed;
      out->message = "the loader was killed by " + signal_text(WTERMSIG(status)) +
                     " before reaching the entry point";
      return true;
    }
    int sig = WSTOPSIG(status);
    int event = status >> 16;
    if (sig == (SIGTRAP | 0x80)) continue;  // a system-call stop
    if (sig == SIGTRAP && event != 0) {
      if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK ||
          event == PTRACE_EVENT_CLONE) {
        unsigned long child = 0;
        ::ptrace(PTRACE_GETEVENTMSG, pid, nullptr, &child);
        if (child) tracer.add_other(static_cast<pid_t>(child));
      }
      continue;  // PTRACE_EVENT_EXEC: update_breakpoint() starts over from the new maps
    }
    user_regs_struct regs{};
    ::ptrace(PTRACE_GETREGS, pid, nullptr, &regs);
    if (sig == SIGTRAP && tracer.bp().set && regs.rip == tracer.bp().addr + 1) {
      regs.rip = tracer.bp().addr;
      ::ptrace(PTRACE_SETREGS, pid, nullptr, &regs);
      out->outcome = LoaderStop::Outcome::ReachedEntry;
      out->message = "reached the entry point " + util::hex(regs.rip);
      tracer.capture(out, regs);
      return true;
    }
    if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE) {
      siginfo_t si{};
      ::ptrace(PTRACE_GETSIGINFO, pid, nullptr, &si);
      uint64_t addr = reinterpret_cast<uint64_t>(si.si_addr);
      if (sig == SIGSEGV && addr == regs.rip) {
        out->outcome = LoaderStop::Outcome::JumpedElsewhere;
        out->message = "the loader jumped to " + util::hex(regs.rip) +
                       ", which is not executable (" + signal_text(sig) + ")";
        tracer.capture(out, regs);
        return true;
      }
      out->outcome = LoaderStop::Outcome::Crashed;
      out->message = "the loader crashed with " + signal_text(sig) + " at rip " +
                     util::hex(regs.rip) + " (fault address " + util::hex(addr) + ")";
      return true;
    }
    deliver = sig;  // any other signal goes to the loader as usual
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

bool trace_loader(const LoaderTraceRequest& req, LoaderStop* out, std::string* error) {
  *out = LoaderStop{};
  int stderr_fd = ::memfd_create("execmap-loader-stderr", MFD_CLOEXEC);
  bool ok = trace_loader_impl(req, out, error, stderr_fd);
  if (stderr_fd >= 0) {
    out->stderr_tail = tail_lines(stderr_fd, 20);
    ::close(stderr_fd);
  }
  return ok;
}

}  // namespace execmap::live
