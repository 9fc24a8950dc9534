// Live capture: fork, PTRACE_TRACEME, execve, and read the child's address space, registers,
// auxv, stat and initial stack at the post-exec SIGTRAP stop (or, with stop_at_entry, at an int3
// on AT_ENTRY after ld.so has run), then kill it. The program's own code never runs.
#include "live/capture.h"

#include <elf.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <exception>
#include <thread>

#include "util/format.h"
#include "util/maps.h"

namespace execmap::live {
namespace {

using Clock = std::chrono::steady_clock;
using util::hex;

// What the child reports through the CLOEXEC pipe when it cannot reach (or survive) execve().
// Only kStageExec is an outcome of the request; the others are failures of the capture itself.
enum ChildStage : int32_t {
  kStageExec = 0,
  kStageSignals = 1,
  kStagePdeathsig = 2,
  kStageStdin = 3,
  kStageFds = 4,
  kStagePersonality = 5,
  kStageRlimit = 6,
  kStageTraceme = 7,
  kStageSandbox = 8,
};

struct ChildMessage {
  int32_t stage;
  int32_t err;
};
static_assert(sizeof(ChildMessage) <= PIPE_BUF, "the child's report must be one atomic write");

const char* stage_name(int32_t stage) {
  switch (stage) {
    case kStageExec:
      return "execve";
    case kStageSignals:
      return "setting the signal mask";
    case kStagePdeathsig:
      return "arming PR_SET_PDEATHSIG";
    case kStageStdin:
      return "redirecting stdin from /dev/null";
    case kStageFds:
      return "closing inherited descriptors";
    case kStagePersonality:
      return "personality()";
    case kStageRlimit:
      return "setrlimit(RLIMIT_STACK)";
    case kStageTraceme:
      return "ptrace(PTRACE_TRACEME)";
    case kStageSandbox:
      return "entering the sandbox";
    default:
      return "unknown step";
  }
}

std::string errno_text(int err) { return std::strerror(err); }

void set_error(std::string* error, const std::string& text) {
  if (error) *error = text;
}

int close_noeintr(int fd) {
  // Linux always releases the descriptor even when close() reports EINTR, so never retry.
  return fd >= 0 ? ::close(fd) : 0;
}

// Owns a file descriptor so every early return closes it.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) close_noeintr(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// Owns the forked child: whatever path leaves capture_at_exec, the child is SIGKILLed and reaped
// exactly once, so no zombie or stray tracee survives us. Once reaped, the pid is never signalled
// again (it could have been recycled by then).
class ChildGuard {
 public:
  explicit ChildGuard(pid_t pid) : pid_(pid) {}
  ChildGuard(const ChildGuard&) = delete;
  ChildGuard& operator=(const ChildGuard&) = delete;
  ~ChildGuard() { kill_and_reap(); }
  pid_t pid() const { return pid_; }
  void mark_reaped() { reaped_ = true; }
  void kill_and_reap() {
    if (pid_ <= 0 || reaped_) return;
    ::kill(pid_, SIGKILL);  // also ends a ptrace-stopped tracee
    for (pid_t f : forked_) ::kill(f, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    for (pid_t f : forked_)
      while (::waitpid(f, &status, __WALL) < 0 && errno == EINTR) {
      }
    reaped_ = true;
  }
  // A process the program forked before its entry (auto-attached, never resumed).
  void add_forked(pid_t p) { forked_.push_back(p); }

 private:
  pid_t pid_;
  std::vector<pid_t> forked_;
  bool reaped_ = false;
};

int remaining_ms(Clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return 0;
  return left > 1000000 ? 1000000 : static_cast<int>(left);
}

// waitpid(WNOHANG) that retries EINTR. Returns pid, 0 (no change) or -1 with errno.
pid_t waitpid_nohang(pid_t pid, int* status) {
  pid_t r;
  do {
    r = ::waitpid(pid, status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  return r;
}

enum class WaitResult { Changed, Timeout, Failed };

// Waits for the next state change of `pid` until `deadline`. There is no portable way to poll
// for a ptrace stop (pidfds only report exit), so this polls with a short, growing sleep.
WaitResult wait_until(pid_t pid, Clock::time_point deadline, int* status, int* err) {
  auto nap = std::chrono::microseconds(50);
  for (;;) {
    pid_t r = waitpid_nohang(pid, status);
    if (r == pid) return WaitResult::Changed;
    if (r < 0) {
      *err = errno;
      return WaitResult::Failed;
    }
    if (Clock::now() >= deadline) return WaitResult::Timeout;
    std::this_thread::sleep_for(nap);
    if (nap < std::chrono::milliseconds(5)) nap *= 2;
  }
}

// Reads a whole (proc) file. /proc files report size 0, so read until EOF.
bool read_file(const std::string& path, std::string* out, int* err) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    *err = errno;
    return false;
  }
  out->clear();
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      *err = errno;
      return false;
    }
    if (n == 0) return true;
    out->append(buf, static_cast<size_t>(n));
  }
}

// Finds the maps line whose [start, end) contains addr; returns its end.
bool vma_end_containing(const std::string& maps, uint64_t addr, uint64_t* end_out) {
  for (const util::MapsLine& m : util::parse_maps(maps))
    if (m.start <= addr && addr < m.end) {
      *end_out = m.end;
      return true;
    }
  return false;
}

// Parses the mm fields of /proc/PID/stat. comm (field 2) may hold spaces and ')', so the
// numbered fields are counted from after the LAST ')': the first token there is field 3.
bool parse_stat(const std::string& stat, StatMm* mm, std::string* why) {
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) {
    *why = "no ')' after comm";
    return false;
  }
  std::vector<std::string> tokens;  // tokens[i] is field i + 3
  size_t pos = paren + 1;
  while (pos < stat.size()) {
    while (pos < stat.size() && (stat[pos] == ' ' || stat[pos] == '\n')) ++pos;
    size_t start = pos;
    while (pos < stat.size() && stat[pos] != ' ' && stat[pos] != '\n') ++pos;
    if (pos > start) tokens.push_back(stat.substr(start, pos - start));
  }
  if (tokens.size() < 51 - 3 + 1) {
    *why = "only " + std::to_string(tokens.size() + 2) + " fields";
    return false;
  }
  struct Field {
    int number;
    uint64_t* slot;
  };
  const Field fields[] = {
      {26, &mm->start_code}, {27, &mm->end_code},  {28, &mm->start_stack}, {45, &mm->start_data},
      {46, &mm->end_data},   {47, &mm->start_brk}, {48, &mm->arg_start},   {49, &mm->arg_end},
      {50, &mm->env_start},  {51, &mm->env_end},
  };
  for (const Field& f : fields) {
    if (!util::parse_dec_u64(tokens[static_cast<size_t>(f.number - 3)], f.slot)) {
      *why = "field " + std::to_string(f.number) + " is not a number";
      return false;
    }
  }
  return true;
}

// /proc/PID/auxv is mm->saved_auxv as create_elf_tables() filled it: pairs of elf_addr_t, 8-byte
// words for a 64-bit task and 4-byte ones for an ia32 task (compat_binfmt_elf.c), whatever the
// reader's own word size.
bool parse_auxv(const std::string& raw, size_t word,
                std::vector<std::pair<uint64_t, uint64_t>>* out) {
  out->clear();
  for (size_t off = 0; off + 2 * word <= raw.size(); off += 2 * word) {
    uint64_t key = 0, value = 0;
    std::memcpy(&key, raw.data() + off, word);  // little-endian: the low bytes
    std::memcpy(&value, raw.data() + off + word, word);
    if (key == AT_NULL) return true;
    out->emplace_back(key, value);
  }
  return false;  // no AT_NULL terminator: truncated
}

// Reads [addr, addr + len) of the stopped child through /proc/PID/mem.
bool read_child_memory(pid_t pid, uint64_t addr, size_t len, std::vector<uint8_t>* out, int* err) {
  Fd fd(::open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    *err = errno;
    return false;
  }
  out->assign(len, 0);
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd.get(), out->data() + done, len - done, static_cast<off_t>(addr + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      *err = errno;
      return false;
    }
    if (n == 0) {
      *err = EIO;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

// compat: the tracee runs 32-bit code (cs is __USER32_CS, 0x23: an ia32 program, started by
// compat_start_thread()).
bool read_registers(pid_t pid, uint64_t* rip, uint64_t* rsp, int* err, bool* compat = nullptr) {
#if defined(__x86_64__)
  user_regs_struct regs{};
  if (::ptrace(PTRACE_GETREGS, pid, nullptr, &regs) != 0) {
    *err = errno;
    return false;
  }
  *rip = regs.rip;
  *rsp = regs.rsp;
  if (compat) *compat = regs.cs == 0x23;
  return true;
#else
  (void)pid;
  *rip = *rsp = 0;
  *err = ENOSYS;  // only x86_64 register layouts are supported
  return false;
#endif
}

// Puts rip back on `rip` (after an int3, the kernel reports the address past it).
bool set_rip(pid_t pid, uint64_t rip, int* err) {
#if defined(__x86_64__)
  user_regs_struct regs{};
  if (::ptrace(PTRACE_GETREGS, pid, nullptr, &regs) != 0 ||
      (regs.rip = rip, ::ptrace(PTRACE_SETREGS, pid, nullptr, &regs) != 0)) {
    *err = errno;
    return false;
  }
  return true;
#else
  (void)pid;
  (void)rip;
  *err = ENOSYS;  // only x86_64 register layouts are supported
  return false;
#endif
}

// One int3 byte patched into the child's text. The aligned word that holds the byte is used for
// PTRACE_PEEKTEXT/POKETEXT: it never straddles a page, so it is readable whenever the byte is.
struct Breakpoint {
  uint64_t addr = 0;  // the patched byte
  uint8_t orig = 0;   // what was there before
};

uint64_t word_of(uint64_t addr) { return addr & ~uint64_t{7}; }
unsigned shift_of(uint64_t addr) { return static_cast<unsigned>(addr & 7) * 8; }

bool peek_word(pid_t pid, uint64_t addr, uint64_t* out, int* err) {
  errno = 0;  // PTRACE_PEEKTEXT returns the word itself, so -1 is only an error with errno set
  long word = ::ptrace(PTRACE_PEEKTEXT, pid, reinterpret_cast<void*>(addr), nullptr);
  if (word == -1 && errno != 0) {
    *err = errno;
    return false;
  }
  *out = static_cast<uint64_t>(word);
  return true;
}

bool poke_word(pid_t pid, uint64_t addr, uint64_t word, int* err) {
  if (::ptrace(PTRACE_POKETEXT, pid, reinterpret_cast<void*>(addr),
               reinterpret_cast<void*>(word)) != 0) {
    *err = errno;
    return false;
  }
  return true;
}

// Replaces the byte at `addr` with `byte`, keeping the other seven of its word as they are now.
bool poke_byte(pid_t pid, uint64_t addr, uint8_t byte, uint8_t* old, int* err) {
  uint64_t word = 0;
  if (!peek_word(pid, word_of(addr), &word, err)) return false;
  const unsigned shift = shift_of(addr);
  if (old) *old = static_cast<uint8_t>(word >> shift);
  word = (word & ~(uint64_t{0xff} << shift)) | (uint64_t{byte} << shift);
  return poke_word(pid, word_of(addr), word, err);
}

// The child between fork() and execve(). Only async-signal-safe calls: the parent may be
// multi-threaded (sanitizer runtimes are), so no allocation or locking here.
[[noreturn]] void run_child(const CaptureRequest& req, char* const* argv, char* const* envp,
                            int read_fd, int write_fd, pid_t parent, Sandbox* sandbox) {
  auto fail = [&](int32_t stage, int err) {
    ChildMessage msg{stage, err};
    while (::write(write_fd, &msg, sizeof msg) < 0 && errno == EINTR) {
    }
    ::_exit(127);
  };
  close_noeintr(read_fd);

  // The mask survives execve(). SIGTRAP must be open or the exec stop never comes. Everything
  // else is blocked: a tracee stops for every delivered signal, so a stream of, say, SIGWINCH
  // to our process group could otherwise keep the child stopping before it ever reaches exec.
  // Kernel-forced signals (the SIGSEGV of a failed exec, faults) ignore the mask.
  sigset_t mask;
  sigfillset(&mask);
  sigdelset(&mask, SIGTRAP);
  if (::sigprocmask(SIG_SETMASK, &mask, nullptr) != 0) fail(kStageSignals, errno);

  // If we die (crash, Ctrl-C) before killing the child, the tracee would be detached and run
  // the target for real. PDEATHSIG (kept across execve) kills it instead; the getppid() check
  // closes the race with a parent that died before prctl().
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) fail(kStagePdeathsig, errno);
  // In a PID namespace the parent is outside it: getppid() is 0.
  const pid_t ppid = ::getppid();
  if (ppid != parent &&
      !(ppid == 0 && sandbox && sandbox->state().level == SandboxLevel::Namespaces))
    ::_exit(127);

  // stdin from /dev/null so the child can never read (or get SIGTTIN from) the terminal.
  // The address space does not depend on fd 0, so a missing /dev/null only closes it.
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    close_noeintr(0);
  } else if (null_fd != 0) {
    if (::dup2(null_fd, 0) < 0) fail(kStageStdin, errno);
    close_noeintr(null_fd);
  } else if (::fcntl(0, F_SETFD, 0) != 0) {
    fail(kStageStdin, errno);
  }

  // Keep only 0, 1, 2 and the report pipe (moved to fd 3, still CLOEXEC). Inherited descriptors
  // are irrelevant to the layout but must not leak into (or be held open by) the tracee.
  if (write_fd != 3) {
    if (::dup3(write_fd, 3, O_CLOEXEC) < 0) fail(kStageFds, errno);
    write_fd = 3;
  }
#ifdef __NR_close_range
  if (::syscall(__NR_close_range, 4u, ~0u, 0u) != 0)
#endif
  {
    // Kernels before 5.9: close one by one up to the descriptor limit.
    rlimit nofile{};
    rlim_t top = (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY)
                     ? nofile.rlim_cur
                     : 65536;
    for (rlim_t fd = 4; fd < top; ++fd) close_noeintr(static_cast<int>(fd));
  }

  // An exact persona rather than the inherited one, so the parent's own setarch flags (e.g. -R
  // or -L) cannot leak into the capture.
  unsigned long persona = static_cast<unsigned long>(PER_LINUX);
  if (req.disable_aslr) persona |= static_cast<unsigned long>(ADDR_NO_RANDOMIZE);
  persona |= req.personality;
  if (::personality(persona) < 0) fail(kStagePersonality, errno);

  if (req.stack_limit) {
    rlimit lim{};
    if (::getrlimit(RLIMIT_STACK, &lim) != 0) fail(kStageRlimit, errno);
    lim.rlim_cur = static_cast<rlim_t>(*req.stack_limit);
    // Raising the hard limit needs CAP_SYS_RESOURCE; setrlimit() reports EPERM otherwise.
    if (lim.rlim_max != RLIM_INFINITY &&
        (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur > lim.rlim_max))
      lim.rlim_max = lim.rlim_cur;
    if (::setrlimit(RLIMIT_STACK, &lim) != 0) fail(kStageRlimit, errno);
  }

  if (::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) fail(kStageTraceme, errno);
  if (sandbox) {
    const char* step = "";
    if (int err = sandbox->enter(&step)) fail(kStageSandbox, err);
  }
  ::execve(req.path.c_str(), argv, envp);
  fail(kStageExec, errno);
  ::_exit(127);  // not reached; keeps [[noreturn]] obvious to the compiler
}

// Reads the child's report. Returns 1 with *msg when it wrote one, 0 on EOF (the write end was
// closed by a successful exec, or the child died), -1 on error.
int read_report(int fd, ChildMessage* msg, int* err) {
  char buf[sizeof(ChildMessage)];
  size_t got = 0;
  while (got < sizeof buf) {
    ssize_t n = ::read(fd, buf + got, sizeof buf - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      *err = errno;
      return -1;
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got == 0) return 0;
  if (got != sizeof buf) {
    *err = EPROTO;
    return -1;
  }
  std::memcpy(msg, buf, sizeof buf);
  return 1;
}

// The part after the exec trap: everything is read while the child sits in the SIGTRAP stop.
// sandbox: the chroot fallback's maps are translated back to the original files.
bool read_stopped_child(pid_t pid, const Sandbox* sandbox, Capture* cap, std::string* error) {
  const std::string proc = "/proc/" + std::to_string(pid);
  int err = 0;
  if (!read_file(proc + "/maps", &cap->maps, &err)) {
    set_error(error, "reading " + proc + "/maps: " + errno_text(err));
    return false;
  }
  if (sandbox) cap->maps = sandbox->host_view_maps(cap->maps);
  if (!read_registers(pid, &cap->rip, &cap->rsp, &err, &cap->compat)) {
    set_error(error, "reading registers: " + errno_text(err));
    return false;
  }
  std::string raw;
  if (!read_file(proc + "/auxv", &raw, &err)) {
    set_error(error, "reading " + proc + "/auxv: " + errno_text(err));
    return false;
  }
  if (!parse_auxv(raw, cap->compat ? 4 : 8, &cap->auxv)) {
    set_error(error, proc + "/auxv has no AT_NULL terminator");
    return false;
  }
  if (!read_file(proc + "/stat", &raw, &err)) {
    set_error(error, "reading " + proc + "/stat: " + errno_text(err));
    return false;
  }
  std::string why;
  if (!parse_stat(raw, &cap->mm, &why)) {
    set_error(error, "parsing " + proc + "/stat: " + why);
    return false;
  }
  if (!vma_end_containing(cap->maps, cap->rsp, &cap->stack_end)) {
    set_error(error, "no mapping in " + proc + "/maps contains rsp");
    return false;
  }
  if (!read_child_memory(pid, cap->rsp, static_cast<size_t>(cap->stack_end - cap->rsp),
                         &cap->stack_image, &err)) {
    set_error(error, "reading the initial stack from " + proc + "/mem: " + errno_text(err));
    return false;
  }
  return true;
}

// measure_stack_depth: the span below sp that holds the pattern, [lo, sp).
constexpr uint8_t kStackFill = 0xa5;

// Fills [max(stack VMA start, sp - kStackDepthSpan), sp) of the stopped child with kStackFill
// through /proc/PID/mem (the stack VMA already spans it: setup_arg_pages() expanded it).
bool fill_below_sp(pid_t pid, uint64_t sp, uint64_t* lo, int* err) {
  std::string maps;
  if (!read_file("/proc/" + std::to_string(pid) + "/maps", &maps, err)) return false;
  uint64_t start = 0;
  for (const util::MapsLine& m : util::parse_maps(maps))
    if (m.start <= sp - 1 && sp - 1 < m.end) start = m.start;
  if (start == 0) {
    *err = ESRCH;
    return false;
  }
  *lo = sp - start > kStackDepthSpan ? sp - kStackDepthSpan : start;
  Fd fd(::open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDWR | O_CLOEXEC));
  if (fd.get() < 0) {
    *err = errno;
    return false;
  }
  std::vector<uint8_t> fill(static_cast<size_t>(sp - *lo), kStackFill);
  size_t done = 0;
  while (done < fill.size()) {
    ssize_t n = ::pwrite(fd.get(), fill.data() + done, fill.size() - done,
                         static_cast<off_t>(*lo + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *err = n < 0 ? errno : EIO;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

// stop_at_entry: runs the child from the exec trap to an int3 on AT_ENTRY, so that ld.so (when
// there is one) has mapped and relocated every library, then undoes the int3 and rewinds rip.
// Returns false with *error when the capture fails. Otherwise cap->outcome is Stopped (the
// child sits at the entry point; read it next), ExitedBeforeEntry or Killed (child reaped).
bool run_to_entry(const CaptureRequest& req, ChildGuard* child, Clock::time_point deadline,
                  Capture* cap, std::string* error) {
  const pid_t pid = child->pid();
  const std::string proc = "/proc/" + std::to_string(pid);
  int err = 0;
  std::string raw;
  std::vector<std::pair<uint64_t, uint64_t>> auxv;
  uint64_t rip0 = 0, rsp0 = 0;
  bool compat = false;
  if (!read_registers(pid, &rip0, &rsp0, &err, &compat)) {
    set_error(error, "reading registers: " + errno_text(err));
    return false;
  }
  if (!read_file(proc + "/auxv", &raw, &err)) {
    set_error(error, "reading " + proc + "/auxv: " + errno_text(err));
    return false;
  }
  if (!parse_auxv(raw, compat ? 4 : 8, &auxv)) {
    set_error(error, proc + "/auxv has no AT_NULL terminator");
    return false;
  }
  // AT_ENTRY is the executable's own entry (create_elf_tables() stores e_entry plus load bias),
  // where ld.so's _dl_start_user jumps once every object is mapped and relocated.
  std::optional<uint64_t> entry;
  for (const auto& a : auxv)
    if (a.first == AT_ENTRY) entry = a.second;
  if (!entry) {
    set_error(error, proc + "/auxv has no AT_ENTRY");
    return false;
  }
  uint64_t fill_lo = 0;
  if (req.measure_stack_depth && !fill_below_sp(pid, rsp0, &fill_lo, &err)) {
    set_error(error, "filling the stack below sp: " + errno_text(err));
    return false;
  }
  Breakpoint bp;
  bp.addr = *entry;
  if (!poke_byte(pid, bp.addr, /*byte=*/0xcc, &bp.orig, &err)) {
    set_error(error, "planting the int3 at the entry point " + hex(bp.addr) + ": " +
                         errno_text(err));
    return false;
  }

  // ld.so and the initializers run for real from here: a process they fork is attached at
  // birth and never resumed, and ChildGuard kills it (threads run, inside the sandbox).
  if (::ptrace(PTRACE_SETOPTIONS, pid, nullptr,
               reinterpret_cast<void*>(PTRACE_O_EXITKILL | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK)) != 0) {
    set_error(error, "ptrace(PTRACE_SETOPTIONS, PTRACE_O_TRACEFORK): " + errno_text(errno));
    return false;
  }
  int sig = 0;  // the signal to deliver on the next PTRACE_CONT; 0 suppresses the exec SIGTRAP
  for (;;) {
    if (::ptrace(PTRACE_CONT, pid, nullptr, reinterpret_cast<void*>(static_cast<long>(sig))) != 0) {
      set_error(error, "ptrace(PTRACE_CONT) towards the entry point: " + errno_text(errno));
      return false;
    }
    int status = 0;
    WaitResult w = wait_until(pid, deadline, &status, &err);
    if (w == WaitResult::Timeout) {
      set_error(error, "timed out after " + std::to_string(req.timeout_ms) + " ms waiting for " +
                           req.path + " to reach its entry point " + hex(bp.addr));
      return false;
    }
    if (w == WaitResult::Failed) {
      set_error(error, "waitpid: " + errno_text(err));
      return false;
    }
    if (WIFEXITED(status)) {  // e.g. ld.so: "error while loading shared libraries", status 127
      child->mark_reaped();
      cap->outcome = Capture::Outcome::ExitedBeforeEntry;
      cap->exit_status = WEXITSTATUS(status);
      return true;
    }
    if (WIFSIGNALED(status)) {
      child->mark_reaped();
      cap->outcome = Capture::Outcome::Killed;
      cap->signal = WTERMSIG(status);
      return true;
    }
    if (!WIFSTOPPED(status)) {
      set_error(error, "unexpected wait status " + std::to_string(status));
      return false;
    }
    sig = WSTOPSIG(status);
    if (sig == SIGTRAP && (status >> 16) != 0) {  // PTRACE_EVENT_FORK or _VFORK
      unsigned long forked = 0;
      if (::ptrace(PTRACE_GETEVENTMSG, pid, nullptr, &forked) == 0 && forked != 0)
        child->add_forked(static_cast<pid_t>(forked));
      sig = 0;
      continue;
    }
    if (sig == SIGTRAP) {
      uint64_t rip = 0, rsp = 0;
      if (!read_registers(pid, &rip, &rsp, &err)) {
        set_error(error, "reading registers: " + errno_text(err));
        return false;
      }
      if (rip == bp.addr + 1) {  // the int3 at the entry point: the only trap we planted
        if (!poke_byte(pid, bp.addr, bp.orig, nullptr, &err)) {
          set_error(error, "removing the int3 at the entry point " + hex(bp.addr) + ": " +
                               errno_text(err));
          return false;
        }
        if (!set_rip(pid, bp.addr, &err)) {
          set_error(error, "rewinding rip to the entry point: " + errno_text(err));
          return false;
        }
        if (req.measure_stack_depth) {
          std::vector<uint8_t> back;
          if (!read_child_memory(pid, fill_lo, static_cast<size_t>(rsp0 - fill_lo), &back, &err)) {
            set_error(error, "reading the stack below sp back: " + errno_text(err));
            return false;
          }
          size_t i = 0;
          while (i < back.size() && back[i] == kStackFill) ++i;
          if (i == back.size()) cap->stack_depth = 0;
          else if (i > 0) cap->stack_depth = rsp0 - (fill_lo + i);
        }
        cap->outcome = Capture::Outcome::Stopped;
        return true;
      }
    }
    // In the sandbox the program is its PID namespace's init, which would ignore a signal
    // whose action is the default; anywhere else that signal kills it, and so it does here.
    if (cap->sandbox.level == SandboxLevel::Namespaces && signal_kills_by_default(pid, sig)) {
      cap->outcome = Capture::Outcome::Killed;
      cap->signal = sig;
      return true;
    }
    // Any other signal belongs to the child: deliver it, as it would have been without us. A
    // group-stop (PTRACE_GETSIGINFO fails with EINVAL, ptrace(2)) has nothing to deliver.
    siginfo_t si{};
    if (::ptrace(PTRACE_GETSIGINFO, pid, nullptr, &si) != 0) {
      if (errno != EINVAL) {
        set_error(error, "ptrace(PTRACE_GETSIGINFO): " + errno_text(errno));
        return false;
      }
      sig = 0;
    }
  }
}

std::optional<Capture> capture_impl(const CaptureRequest& req, std::string* error) {
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(req.timeout_ms);

  // Built before fork(): the child must not allocate.
  std::vector<char*> argv, envp;
  argv.reserve(req.argv.size() + 1);
  envp.reserve(req.envp.size() + 1);
  for (const std::string& s : req.argv) argv.push_back(const_cast<char*>(s.c_str()));
  for (const std::string& s : req.envp) envp.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  envp.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    set_error(error, "pipe2: " + errno_text(errno));
    return std::nullopt;
  }
  Fd read_end(fds[0]), write_end(fds[1]);
  // If our own 0/1/2 are closed the pipe may land there, and the child's stdin redirection
  // would clobber it; move both ends to 3 or above.
  for (Fd* end : {&read_end, &write_end}) {
    if (end->get() < 3) {
      int moved = ::fcntl(end->get(), F_DUPFD_CLOEXEC, 3);
      if (moved < 0) {
        set_error(error, "fcntl(F_DUPFD_CLOEXEC): " + errno_text(errno));
        return std::nullopt;
      }
      end->reset(moved);
    }
  }

  const pid_t parent = ::getpid();
  // Declared before the guard: its tree and cgroup go only once the child is reaped.
  std::optional<Sandbox> sandbox;
  if (req.sandbox && req.stop_at_entry) sandbox.emplace(*req.sandbox);
  std::string spawn_error;
  const pid_t pid = sandbox ? sandbox->spawn(&spawn_error) : ::fork();
  if (pid < 0) {
    set_error(error, sandbox ? spawn_error : "fork: " + errno_text(errno));
    return std::nullopt;
  }
  if (pid == 0)
    run_child(req, argv.data(), envp.data(), read_end.get(), write_end.get(), parent,
              sandbox ? &*sandbox : nullptr);

  ChildGuard child(pid);
  write_end.reset();  // otherwise our own copy would keep the pipe from ever reaching EOF

  // Phase 1: wait until the pipe says exec failed (a report) or succeeded (EOF via CLOEXEC).
  // The child is polled too: a traced child stops on any signal, even one sent before execve
  // (say SIGWINCH to the process group), and would then never reach exec without a PTRACE_CONT.
  int status = 0;
  bool have_status = false;
  for (;;) {
    pollfd p{read_end.get(), POLLIN, 0};
    int slice = remaining_ms(deadline);
    if (slice > 10) slice = 10;
    int r = ::poll(&p, 1, slice);
    if (r < 0 && errno != EINTR) {
      set_error(error, "poll: " + errno_text(errno));
      return std::nullopt;
    }
    if (r > 0) break;  // readable or hung up: the report, or EOF
    pid_t w = waitpid_nohang(pid, &status);
    if (w < 0) {
      set_error(error, "waitpid: " + errno_text(errno));
      return std::nullopt;
    }
    if (w == pid) {
      if (!WIFSTOPPED(status)) {  // died or exited: its report (if any) is already in the pipe
        child.mark_reaped();
        have_status = true;
        break;
      }
      pollfd again{read_end.get(), POLLIN, 0};
      if (::poll(&again, 1, 0) > 0) {  // exec completed in the meantime: this is the exec stop
        have_status = true;
        break;
      }
      // Stopped before execve: suppress the signal (the child is killed later anyway).
      if (::ptrace(PTRACE_CONT, pid, nullptr, nullptr) != 0) {
        set_error(error, "ptrace(PTRACE_CONT) before exec: " + errno_text(errno));
        return std::nullopt;
      }
      continue;
    }
    if (Clock::now() >= deadline) {
      set_error(error, "timed out after " + std::to_string(req.timeout_ms) +
                           " ms waiting for the child to exec " + req.path);
      return std::nullopt;
    }
  }

  if (sandbox) {
    const std::string failed = sandbox->child_failure();
    if (!failed.empty()) {
      set_error(error, failed);
      return std::nullopt;
    }
  }
  ChildMessage msg{};
  int err = 0;
  int got = read_report(read_end.get(), &msg, &err);
  if (got < 0) {
    set_error(error, "reading the child's report: " + errno_text(err));
    return std::nullopt;
  }
  Capture cap;
  if (sandbox) cap.sandbox = sandbox->state();
  if (got == 1) {
    if (msg.stage != kStageExec) {
      set_error(error, std::string("child setup failed at ") + stage_name(msg.stage) + ": " +
                           errno_text(msg.err));
      return std::nullopt;
    }
    cap.outcome = Capture::Outcome::ExecFailed;
    cap.exec_errno = msg.err;
    child.kill_and_reap();
    return cap;
  }

  // Phase 2: exec went past the point of no return. Expect the SIGTRAP stop.
  if (!have_status) {
    WaitResult w = wait_until(pid, deadline, &status, &err);
    if (w == WaitResult::Timeout) {
      set_error(error, "timed out after " + std::to_string(req.timeout_ms) +
                           " ms waiting for the exec trap of " + req.path);
      return std::nullopt;
    }
    if (w == WaitResult::Failed) {
      set_error(error, "waitpid: " + errno_text(err));
      return std::nullopt;
    }
    if (!WIFSTOPPED(status)) child.mark_reaped();
  }
  if (WIFSIGNALED(status)) {
    // E.g. a fatal SIGSEGV forced after the point of no return (SA_IMMUTABLE: no ptrace stop).
    cap.outcome = Capture::Outcome::Killed;
    cap.signal = WTERMSIG(status);
    return cap;
  }
  if (WIFEXITED(status)) {
    set_error(error, "child exited with status " + std::to_string(WEXITSTATUS(status)) +
                         " before the exec trap");
    return std::nullopt;
  }
  if (!WIFSTOPPED(status)) {
    set_error(error, "unexpected wait status " + std::to_string(status));
    return std::nullopt;
  }
  if (WSTOPSIG(status) != SIGTRAP) {
    // A signal other than the exec trap stopped the new image first (typically a SIGSEGV
    // queued by exec itself). It would kill the child if continued; we kill it instead.
    cap.outcome = Capture::Outcome::Killed;
    cap.signal = WSTOPSIG(status);
    return cap;
  }

  // If we exit now, the kernel must SIGKILL the tracee rather than detach it and let it run for
  // real (PR_SET_PDEATHSIG follows only the thread that forked, not the tracer process).
  if (::ptrace(PTRACE_SETOPTIONS, pid, nullptr, reinterpret_cast<void*>(PTRACE_O_EXITKILL)) != 0) {
    set_error(error, "ptrace(PTRACE_SETOPTIONS, PTRACE_O_EXITKILL): " + errno_text(errno));
    return std::nullopt;
  }

  cap.outcome = Capture::Outcome::Stopped;
  if (req.stop_at_entry) {
    if (!run_to_entry(req, &child, deadline, &cap, error)) return std::nullopt;
    if (cap.outcome != Capture::Outcome::Stopped) return cap;
    cap.at_entry = true;
  }
  if (!read_stopped_child(pid, sandbox ? &*sandbox : nullptr, &cap, error)) return std::nullopt;
  return cap;
}

struct PtraceProbe {
  bool ok = false;
  std::string why;
};

PtraceProbe probe_ptrace() {
  PtraceProbe result;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    result.why = "ptrace probe: pipe2: " + errno_text(errno);
    return result;
  }
  Fd read_end(fds[0]), write_end(fds[1]);
  const pid_t pid = ::fork();
  if (pid < 0) {
    result.why = "ptrace probe: fork: " + errno_text(errno);
    return result;
  }
  if (pid == 0) {
    close_noeintr(read_end.get());
    int rc = ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    int e = rc == 0 ? 0 : errno;
    while (::write(write_end.get(), &e, sizeof e) < 0 && errno == EINTR) {
    }
    if (rc != 0) ::_exit(127);
    ::kill(::getpid(), SIGSTOP);
    ::_exit(0);
  }
  ChildGuard child(pid);
  write_end.reset();

  int e = 0;
  ssize_t n;
  do {
    n = ::read(read_end.get(), &e, sizeof e);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof e)) {
    result.why = "ptrace probe: the trial child did not report";
    return result;
  }
  if (e != 0) {
    result.why = "ptrace denied: " + errno_text(e) + " (seccomp, or kernel.yama.ptrace_scope?)";
    return result;
  }
  int status = 0, err = 0;
  WaitResult w = wait_until(pid, Clock::now() + std::chrono::seconds(5), &status, &err);
  if (w != WaitResult::Changed) {
    result.why = w == WaitResult::Timeout ? "ptrace probe: the trial child never stopped"
                                          : "ptrace probe: waitpid: " + errno_text(err);
    return result;
  }
  if (!WIFSTOPPED(status)) {
    child.mark_reaped();
    result.why = "ptrace probe: the trial child ended instead of stopping";
    return result;
  }
  // PTRACE_TRACEME can succeed while the tracer's own requests are filtered; try one.
  uint64_t rip = 0, rsp = 0;
  if (!read_registers(pid, &rip, &rsp, &err)) {
    result.why = "ptrace denied: PTRACE_GETREGS: " + errno_text(err);
    return result;
  }
  result.ok = true;
  return result;
}

}  // namespace

std::optional<Capture> capture_at_exec(const CaptureRequest& req, std::string* error) {
  try {
    std::optional<Capture> cap = capture_impl(req, error);
    // Namespaces that could be created but not set up: as root, the chroot fallback holds.
    if (!cap && req.sandbox && req.sandbox->allow_namespaces && ::geteuid() == 0 && error &&
        error->rfind("sandbox (namespaces)", 0) == 0) {
      const std::string first = *error;
      CaptureRequest again = req;
      again.sandbox->allow_namespaces = false;
      cap = capture_impl(again, error);
      if (cap) cap->sandbox.detail += "; namespaces failed: " + first;
    }
    return cap;
  } catch (const std::exception& e) {  // bad_alloc and the like; the guards already cleaned up
    set_error(error, std::string("capture failed: ") + e.what());
    return std::nullopt;
  }
}

bool ptrace_available(std::string* why) {
  static const PtraceProbe probe = [] {
    try {
      return probe_ptrace();
    } catch (const std::exception& e) {
      PtraceProbe failed;
      failed.why = std::string("ptrace probe failed: ") + e.what();
      return failed;
    }
  }();
  if (!probe.ok && why) *why = probe.why;
  return probe.ok;
}

}  // namespace execmap::live
