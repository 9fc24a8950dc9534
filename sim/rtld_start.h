// The start stage: the address space at the program's own entry point (AT_ENTRY), after
// glibc 2.36's ld.so has mapped every object. It replays, on the exec result, the memory
// system calls ld.so makes (strace shows them): its minimal malloc's page mappings
// (elf/dl-minimal-malloc.c), the ld.so.cache mapping, each object's reservation and segment
// mappings (elf/dl-map-segments.h), the TLS block of the main thread (init_tls), the RELRO
// mprotects after relocation and the cache unmapping (_dl_unload_cache).
//
// What initializers do after that (libc's malloc growing a [heap], for example) depends on
// their code; the result says so instead of guessing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/exec.h"
#include "sim/rtld.h"

namespace execmap::sim {

struct StartObject {
  int object = -1;            // index into RtldResult::objects
  uint64_t l_addr = 0;        // load bias: the base address `libs' prints
  uint64_t map_start = 0, map_end = 0;
};

struct StartResult {
  bool ok = true;
  std::string error;          // ld.so's fatal error: the process exits with status 127
  std::vector<StartObject> placed;  // load order: main, then objects as ld.so mapped them
  uint64_t tcb = 0;           // the main thread's thread pointer (arch_prctl ARCH_SET_FS)
  std::vector<std::string> notes;
  // True when an initializer of these objects may allocate before the entry point (anything
  // with DT_INIT/DT_INIT_ARRAY besides libc), so a [heap] may be present at AT_ENTRY.
  bool heap_may_appear = false;
};

// Applies ld.so's mappings to r (which must be a successful exec of a dynamically linked
// program with its interpreter). Records a Step per phase when record_steps.
StartResult simulate_rtld_start(ExecResult& r, const RtldResult& libs, const RtldConfig& cfg,
                                bool record_steps);

}  // namespace execmap::sim
