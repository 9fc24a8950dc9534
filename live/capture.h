// Live ground truth: run a program under ptrace and read its address space at the exec trap, or
// (stop_at_entry) at its own entry point once ld.so has mapped every library.
// This is the only module that touches ptrace and /proc/PID; sim/ never includes it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "live/sandbox.h"

namespace execmap::live {

struct CaptureRequest {
  std::string path;               // passed to execve() exactly as given
  std::vector<std::string> argv;  // exact argv (argv[0] included; may be empty)
  std::vector<std::string> envp;  // exact envp
  bool disable_aslr = true;       // personality(ADDR_NO_RANDOMIZE) in the child
  unsigned long personality = 0;  // further personality flags for the child (setarch -L, -Z...)
  std::optional<uint64_t> stack_limit;  // RLIMIT_STACK soft limit for the child; nullopt = inherit
  unsigned timeout_ms = 10000;    // wall-clock bound on waiting for the child
  // Let ld.so run and capture at AT_ENTRY (an int3 planted there) instead of at the exec trap.
  // Without an interpreter the entry is the first instruction, so nothing else runs.
  bool stop_at_entry = false;
  // With stop_at_entry: fill the stack below sp with a pattern at the exec trap and, at the
  // entry point, report how deep the start-up code (ld.so, initializers) wrote below sp.
  bool measure_stack_depth = false;
  // With stop_at_entry, ld.so and the libraries' initializers run for real: in this sandbox
  // (live/sandbox.h), and every process they fork is traced, never run, and killed.
  std::optional<SandboxSpec> sandbox;
};

// /proc/PID/stat fields 26-28 and 45-51 (proc(5)).
struct StatMm {
  uint64_t start_code = 0, end_code = 0, start_stack = 0;
  uint64_t start_data = 0, end_data = 0, start_brk = 0;
  uint64_t arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
};

struct Capture {
  // ExitedBeforeEntry (stop_at_entry only): the program exited before reaching its entry
  // point, typically ld.so's "error while loading shared libraries" and exit status 127.
  enum class Outcome { Stopped, ExecFailed, Killed, ExitedBeforeEntry };
  Outcome outcome = Outcome::Stopped;
  int exec_errno = 0;   // Outcome::ExecFailed: the errno execve() returned in the child
  int signal = 0;       // Outcome::Killed: the signal that killed the child
  int exit_status = 0;  // Outcome::ExitedBeforeEntry: the child's exit code
  bool at_entry = false;  // Outcome::Stopped: taken at the AT_ENTRY breakpoint, not the exec trap
  std::string maps;    // /proc/PID/maps, byte for byte
  uint64_t rip = 0, rsp = 0;
  bool compat = false;                // an ia32 task (cs = __USER32_CS): 4-byte auxv words
  uint64_t stack_end = 0;             // end of the VMA that holds rsp
  std::vector<uint8_t> stack_image;   // bytes [rsp, stack_end)
  StatMm mm;
  std::vector<std::pair<uint64_t, uint64_t>> auxv;  // /proc/PID/auxv, AT_NULL excluded
  // measure_stack_depth, at the entry point: bytes below the exec-time sp of the lowest byte
  // the start-up code overwrote (0: none). nullopt when not measured, or when the writes
  // reached the bottom of the filled span (kStackDepthSpan, or less in a smaller stack VMA).
  std::optional<uint64_t> stack_depth;
  SandboxState sandbox;  // the level the program ran in (None without CaptureRequest::sandbox)
};

// How far below sp measure_stack_depth fills the stack.
constexpr uint64_t kStackDepthSpan = 64 * 1024;

// Fork, apply the request in the child, PTRACE_TRACEME, execve, and stop at the exec trap (or,
// with stop_at_entry, at AT_ENTRY: the snapshot then has rip == AT_ENTRY and the original code
// byte restored). The child is always killed and reaped before returning. Returns nullopt and
// sets *error when the capture itself fails (fork/ptrace unavailable, timeout, unreadable /proc).
std::optional<Capture> capture_at_exec(const CaptureRequest& req, std::string* error);

// True when this process may ptrace a child (checked by a real trial, cached).
bool ptrace_available(std::string* why);

}  // namespace execmap::live
