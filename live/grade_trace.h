// Live grading of a user-space ELF loader: run it under ptrace, follow its system calls until
// execution first reaches the target's entry point, and read the state there.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "live/sandbox.h"

namespace execmap::live {

struct LoaderTraceRequest {
  std::vector<std::string> argv;  // the loader's command line: CMD words, PROG, ARG...
  std::vector<std::string> envp;  // the loader's environment (it passes it on to PROG)
  std::string target_path;        // PROG's canonical path, as /proc/PID/maps prints it
  bool target_is_dyn = false;     // ET_DYN: the base is learned from the loader's mappings
  uint64_t e_entry = 0;
  uint64_t first_load_offset = 0, first_load_vaddr = 0;  // page-rounded down
  // For a loader that copies PROG into anonymous memory instead of mapping the file: the
  // page-rounded vaddr of every PT_LOAD (where a copy's mapping may start) and the file's
  // bytes at e_entry and of the whole segment holding it (bounded), which identify the copy.
  std::vector<uint64_t> load_vaddrs;
  std::vector<uint8_t> entry_bytes, text_bytes;
  uint64_t text_vaddr = 0;  // p_vaddr of the PT_LOAD holding e_entry (text_bytes are its file bytes)
  unsigned timeout_ms = 10000;
  unsigned cpu_seconds = 5;
  uint64_t address_space_limit = 16ull << 30;
  uint64_t file_size_limit = 1ull << 20;
  unsigned nproc = 64, nofile = 64;  // RLIMIT_NPROC, RLIMIT_NOFILE
  SandboxSpec sandbox;               // where the loader runs (live/sandbox.h)
};

struct MemoryRange {
  uint64_t start = 0;
  std::vector<uint8_t> bytes;
};

struct LoaderStop {
  // ReachedEntry: the breakpoint at base + e_entry was hit. JumpedElsewhere: the loader
  // jumped to an address it cannot execute (an instruction fetch fault at rip), so the state
  // is the one it handed over. KernelLoaded: the loader called execve() after its own start, so
  // the kernel loaded PROG. The others never reached a jump; `message` says what happened.
  enum class Outcome { ReachedEntry, JumpedElsewhere, Crashed, Exited, TimedOut, KernelLoaded };
  Outcome outcome = Outcome::Crashed;
  std::string message;
  std::string maps;
  uint64_t rip = 0, rsp = 0;
  uint64_t rdx = 0;                   // %rdx (%edx) at the stop: the psABI's atexit function
  std::vector<uint8_t> stack_image;   // [rsp, end of the mapping holding rsp)
  std::vector<MemoryRange> memory;    // every readable mapping (bounded)
  uint64_t base = 0;                  // the base used for the breakpoint
  std::string stderr_tail;            // the last 20 lines the loader wrote to stderr
  SandboxState sandbox;               // the level that was in force
};

// The loader command's file as execvp() would find it (PATH searched for a bare name).
std::string resolve_command(const std::string& cmd);

// Runs the loader. Returns false with *error only when tracing itself is impossible (fork or
// ptrace failed, or no sandbox level could be built); everything the loader does is reported in
// the LoaderStop. Every process and thread of the submission is dead and reaped on return.
bool trace_loader(const LoaderTraceRequest& req, LoaderStop* out, std::string* error);

}  // namespace execmap::live
