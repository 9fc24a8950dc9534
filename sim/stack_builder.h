// The initial stack as create_elf_tables() writes it: platform string, AT_RANDOM bytes,
// 16-byte alignment, argc, argv, envp, auxv, above them the strings copy_strings() placed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/exec.h"

namespace execmap::sim {

struct StackInputs {
  uint64_t stack_end = 0;      // end of the stack VMA (8 zero bytes sit just below it)
  // sizeof(elf_addr_t): 8 for a 64-bit program, 4 for an ia32 one (compat_binfmt_elf.c).
  // argc, the pointers and the auxv pairs are words of this size.
  uint64_t word = 8;
  uint64_t strings_start = 0;  // bprm->p after copy_strings() and the stack shift
  std::vector<std::string> argv, envp;  // argv already has "" added when argc was 0
  std::string filename;
  uint64_t execfn = 0;         // bprm->exec: address of the filename copy
  std::string platform;        // ELF_PLATFORM; empty for none
  uint64_t align_random = 0;   // arch_align_stack()'s random subtraction (0 without ASLR)
  uint8_t random_bytes[16] = {};
  std::vector<AuxEntry> auxv;  // emission order, without AT_NULL; AT_RANDOM/AT_PLATFORM
                               // values are filled in here
};

StackResult build_stack(const StackInputs& in);

}  // namespace execmap::sim
