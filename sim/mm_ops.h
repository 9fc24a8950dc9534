// Memory operations applied after the exec (`--ops FILE`): brk, mmap, munmap and mprotect,
// each one step with the kernel's semantics (sim/vm.h), on the result of simulate_exec().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/exec.h"

namespace execmap::sim {

// An address operand: a literal, or `$K+OFF`, the address the K-th mmap returned.
struct AddrExpr {
  int ref = 0;          // 0: literal
  int64_t offset = 0;   // added to the reference
  uint64_t value = 0;   // the literal
};

struct MemOp {
  enum class Kind { BrkRelative, BrkAbsolute, Mmap, Munmap, Mprotect };
  Kind kind = Kind::Mmap;
  int line = 0;
  std::string text;      // the script line, for the step trace
  int64_t delta = 0;     // BrkRelative
  AddrExpr addr;         // BrkAbsolute, Munmap, Mprotect, and Mmap's `at`
  bool has_addr = false; // Mmap: `at ADDR` given
  uint64_t len = 0;
  uint32_t prot = 0;
  bool shared = false;
  int file = -1;         // index into ExecResult::files; -1 anonymous
  uint64_t offset = 0;   // file offset
  int open_errno = 0;    // the file could not be opened: the mmap fails with this errno
  enum class Placement { Hint, Fixed, Noreplace } placement = Placement::Hint;
};

struct OpOutcome {
  bool ok = true;
  uint64_t value = 0;    // the address (mmap) or the break (brk)
  int err = 0;           // errno when !ok
  std::string text() const;  // "0x7ffff7ff0000" or "EEXIST"
};

// Applies the operations in order; each becomes a Step when r.steps are being recorded.
// Failed operations leave the address space as the kernel would and are reported in the
// returned outcomes; they never stop the script.
std::vector<OpOutcome> apply_ops(ExecResult& r, const std::vector<MemOp>& ops, bool record_steps);

}  // namespace execmap::sim
