// Hardening properties of an ELF executable, read with bounded reads from its program headers,
// dynamic section and GNU property note: PIE, RELRO, NX stack, separate code, IBT/SHSTK.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "loader/exec_file.h"

namespace execmap::loader {

struct Hardening {
  uint16_t e_type = 0;
  bool has_interp = false;          // PT_INTERP present
  bool pie = false;                 // ET_DYN: position independent (static-pie included)
  bool gnu_relro = false;           // PT_GNU_RELRO present
  bool bind_now = false;            // DT_BIND_NOW, DT_FLAGS & DF_BIND_NOW or DT_FLAGS_1 & DF_1_NOW
  std::string relro = "none";       // none / partial (PT_GNU_RELRO) / full (and BIND_NOW)
  bool gnu_stack = false;           // PT_GNU_STACK present
  uint32_t gnu_stack_flags = 0;     // its p_flags
  bool separate_code = false;       // no executable PT_LOAD shares a page with non-exec data
  bool property_note = false;       // a GNU_PROPERTY_X86_FEATURE_1_AND property was found
  uint32_t x86_feature_1 = 0;       // its value: bit 0 IBT, bit 1 SHSTK
  bool ibt = false, shstk = false;
  std::vector<std::string> problems;  // parts the bounded reader refused (too big, truncated)
};

// Returns false (and *why) only when the ELF header or program headers cannot be read; a
// damaged dynamic section or note only adds to problems.
bool read_hardening(const ExecFile& f, Hardening* out, std::string* why);

}  // namespace execmap::loader
