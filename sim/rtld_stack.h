// How deep glibc's ld.so reaches below the initial stack pointer before it jumps to the
// program's entry point, from the objects it maps (sim/rtld.h) and the frame sizes of its build
// (RtldConfig::StackUse). With a small RLIMIT_STACK the kernel cannot grow the stack that far
// (mm/mmap.c acct_stack_growth) and kills the process with SIGSEGV before the entry point.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/exec.h"
#include "sim/rtld.h"

namespace execmap::sim {

// nullopt when cfg.stack_use is not known for this ld.so.
std::optional<LdsoStack> rtld_stack_depth(const RtldResult& libs, const RtldConfig& cfg,
                                               const std::optional<std::string>& ld_library_path,
                                               bool secure);

// The bytes below sp that the stack may still reach: mm/mmap.c acct_stack_growth() refuses
// a stack VMA larger than RLIMIT_STACK (rlim_cur, in bytes), and expand_downwards() grows it by
// whole pages, so the lowest usable page starts stack_end - (rlim rounded down to pages).
// nullopt for an unlimited stack.
std::optional<uint64_t> stack_room(uint64_t sp, uint64_t stack_end, uint64_t rlim,
                                   uint64_t page_size);

}  // namespace execmap::sim
