// The simulated execve(): an ordered list of passes named after load_elf_binary()'s steps.
// One run produces the final layout, the initial stack and the step trace; every view
// (layout, stack, step, JSON) reads this one result.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "loader/elf_bytes.h"
#include "loader/exec_file.h"
#include "sim/address_space.h"
#include "sim/profile.h"

namespace execmap::sim {

class RandomSource;  // sim/aslr.h

// A predicted failure. Before the point of no return execve() returns an errno; after it the
// kernel kills the task (force_fatal_sig(SIGSEGV) in bprm_execve).
struct ExecError {
  // LdSo: the exec succeeds but ld.so stops before the entry point (--stage start) and the
  // process exits with status 127 ("error while loading shared libraries").
  enum class Kind { None, Errno, Signal, Io, LdSo };
  Kind kind = Kind::None;
  int err = 0;            // Kind::Errno
  std::string name;       // "ENOEXEC", or "SIGSEGV" for Kind::Signal
  std::string message;    // one human line, without the "execve would fail" prefix
  std::string check;      // the kernel function or rule that decides
  // Kind::Signal after a successful exec: the task dies in ld.so, before the entry point.
  bool before_entry = false;
};

// The mm_struct fields that /proc/PID/stat shows, plus brk and mmap_base.
struct MmFields {
  uint64_t start_code = 0, end_code = 0, start_data = 0, end_data = 0;
  uint64_t start_brk = 0, brk = 0, start_stack = 0;
  uint64_t arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
  uint64_t mmap_base = 0;
  // !MMF_TOPDOWN: the legacy layout (ADDR_COMPAT_LAYOUT or vm.legacy_va_layout), where
  // mmap_base is mmap_legacy_base and get_unmapped_area() searches bottom-up.
  bool bottom_up = false;
};

struct AuxEntry {
  uint64_t type = 0, value = 0;
};

// One annotated range of the initial stack, for the text view.
struct StackItem {
  enum class Kind { Argc, ArgvPtr, EnvpPtr, Null, Auxv, Padding, Random, Platform, ArgString,
                    EnvString, ExecFn, EndMarker };
  Kind kind;
  uint64_t addr = 0, size = 0;
  std::string label;
};

struct StackResult {
  uint64_t sp = 0;          // final rsp (bprm->p after create_elf_tables)
  uint64_t end = 0;         // end of the [stack] VMA
  std::vector<uint8_t> image;  // bytes [sp, end)
  uint64_t argc = 0;
  std::vector<uint64_t> argv_ptrs, envp_ptrs;
  std::vector<std::string> argv, envp;  // as laid out (argv gains "" when argc was 0)
  std::vector<AuxEntry> auxv;           // without AT_NULL
  uint64_t at_random = 0, platform = 0, execfn = 0;
  std::vector<StackItem> items;         // ascending addresses
};

// An ELF object the exec mapped: the executable or its interpreter.
struct LoadedObject {
  std::string role;  // "exe" or "interp"
  loader::FileIdentity id;
  elf::Ehdr ehdr;
  std::vector<elf::Phdr> phdrs;
  uint64_t bias = 0;  // load_bias (exe) or interp_load_addr (interp)
  int file = -1;      // the vm_file instance its mappings carry
};

struct Step {
  std::string name;      // short pass name
  std::string function;  // kernel function
  std::vector<std::string> changes;
  std::vector<Vma> layout;  // VMAs after the step (only when steps are recorded)
  MmFields mm;
  std::string result;       // --ops steps: the address/break returned, or the errno name
};

// --stage start (sim/rtld_start.h): where ld.so placed each object, on top of the exec.
// ld.so's deepest stack point before the entry point (sim/rtld_stack.h).
struct LdsoStack {
  uint64_t depth = 0;     // bytes below the initial sp of the lowest byte ld.so writes
  std::string where;      // the deepest point: "dl_main", "mapping libc.so.6 (...)", ...
  // Empty when depth is ld.so's exact deepest point; otherwise why it is only a lower bound.
  std::vector<std::string> lower_bound_because;
  // Objects other than libc run initializers before the entry point, and their own stack use
  // is not modelled (on 1069 programs of Debian 12's /usr/bin and /usr/sbin, none went deeper
  // than ld.so's own work).
  bool initializers_not_modelled = false;
  std::optional<uint64_t> room;  // bytes below sp RLIMIT_STACK lets the stack reach
};

struct StartInfo {
  struct Object {
    std::string name;  // the DT_NEEDED name it was loaded by ("" for the program)
    std::string path;  // l_name
    int index = -1;    // its index in ld.so's resolution (RtldResult::objects)
    uint64_t base = 0, start = 0, end = 0;  // l_addr and the mapped span
    uint64_t align = 0;                     // the largest PT_LOAD p_align
  };
  std::vector<Object> objects;  // load order
  bool heap_may_appear = false;
  uint64_t tcb = 0;             // the main thread's thread pointer
  std::optional<LdsoStack> ldso_stack;  // nullopt: not measured for this ld.so
  std::vector<std::string> notes;
};

// The point in time a prediction describes.
enum class Stage { exec, start };

struct ExecRequest {
  std::string filename;              // PATH exactly as given to execve()
  std::vector<std::string> argv, envp;
  KernelProfile profile;             // the kernel: profile_for(target) (sim/target.h)
  HostState host;                    // the machine and the caller
  bool randomize = false;            // PF_RANDOMIZE with randomize_va_space = 2
  // The caller's personality flags besides ADDR_NO_RANDOMIZE (which randomize stands for):
  // ADDR_COMPAT_LAYOUT, READ_IMPLIES_EXEC, ADDR_LIMIT_3GB, ADDR_LIMIT_32BIT, MMAP_PAGE_ZERO
  // (include/uapi/linux/personality.h values).
  uint32_t personality = 0;
  uint64_t seed = 0;
  // Where the random draws come from (not owned); nullptr: SeededRandom(seed) (sim/aslr.h).
  RandomSource* random = nullptr;
  bool record_steps = false;
  // exec: at the first instruction after execve(); start: at AT_ENTRY, after ld.so
  // (sim/pipeline.h runs the second stage; simulate_exec() alone is the first).
  Stage stage = Stage::exec;
  std::vector<std::string> warnings;  // about the target (an unmodelled kernel version)
};

// One binfmt_script pass: the script that was opened and the #! line that replaced it.
struct ScriptPass {
  std::string script;       // the script's path as execve() (or the #! line above) named it
  std::string interpreter;  // the interpreter name as the #! line gives it
  std::string argument;     // its optional argument
  bool has_argument = false;
};

struct ExecResult {
  ExecError error;
  bool ok() const { return error.kind == ExecError::Kind::None; }
  KernelProfile profile;
  HostState host;
  AddressSpace mm_vmas;
  std::vector<loader::FileIdentity> files;  // vm_file instances, indexed by Vma::file
  std::vector<LoadedObject> objects;        // [0] exe, [1] interp if any
  MmFields mm;
  uint64_t entry = 0;      // AT_ENTRY
  uint64_t rip = 0;        // START_THREAD ip: the interpreter's entry, or AT_ENTRY; after the
                           // start stage AT_ENTRY, where ld.so hands over
  uint64_t load_bias = 0;
  std::optional<uint64_t> interp_base;  // AT_BASE when an interpreter is loaded
  uint64_t phdr_addr = 0;  // AT_PHDR
  bool exec_stack = false;
  StackResult stack;
  std::vector<Step> steps;
  std::optional<StartInfo> start;  // set by --stage start
  std::string aslr_forced;         // why the kernel randomizes although ASLR was asked off
  std::vector<std::string> warnings;  // ExecRequest::warnings
  std::vector<ScriptPass> scripts;    // #! scripts passed through, outermost first
  uint32_t personality = 0;           // the task's personality flags after the exec
};

ExecResult simulate_exec(const ExecRequest& req, const loader::FileSystem& fs);

// Appends a Step with the layout and mm fields of r as they are now.
void record_step(ExecResult& r, const std::string& name, const std::string& function,
                 std::vector<std::string> changes);

// The name /proc/PID/maps prints for a VMA (show_map_vma / get_vma_name), given the open
// files and the mm fields at that moment.
// heap_inclusive: KernelProfile::heap_name_inclusive of the kernel.
std::string vma_name(const std::vector<loader::FileIdentity>& files, const MmFields& mm,
                     const Vma& v, bool heap_inclusive = false);
inline std::string vma_name(const ExecResult& r, const Vma& v) {
  return vma_name(r.files, r.mm, v, r.profile.heap_name_inclusive);
}

// errno number -> "ENOEXEC".
std::string errno_name(int err);

}  // namespace execmap::sim
