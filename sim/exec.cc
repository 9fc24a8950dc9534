// The simulated execve() for x86_64 ELF on Linux 6.18: fs/exec.c, fs/binfmt_elf.c,
// mm/vma_exec.c, arch/x86/mm/mmap.c and arch/x86/entry/vdso/vma.c, as a list of passes.
#include "sim/exec.h"

#include <cerrno>
#include <cstring>

#include "loader/checked.h"
#include "loader/elf_defs.h"
#include "sim/aslr.h"
#include "sim/stack_builder.h"
#include "sim/target.h"
#include "sim/vm.h"
#include "util/format.h"

namespace execmap::sim {
namespace {

using elf::Phdr;
using util::hex;

constexpr int EXSTACK_DEFAULT = 0, EXSTACK_DISABLE_X = 1, EXSTACK_ENABLE_X = 2;
// include/uapi/linux/personality.h
constexpr uint32_t kAddrCompatLayout = 0x0200000, kReadImpliesExec = 0x0400000,
                   kMmapPageZero = 0x0100000;
// EM_486: compat_elf_check_arch() -> elf_check_arch_ia32() takes it as well as EM_386.
constexpr uint16_t kEm486 = 6;
// PER_CLEAR_ON_SETID, less ADDR_NO_RANDOMIZE (ExecRequest::randomize stands for that one).
constexpr uint32_t kPerClearOnSetid = kReadImpliesExec | kAddrCompatLayout | kMmapPageZero;

class ExecSim {
 public:
  ExecSim(const ExecRequest& req, const loader::FileSystem& fs, ExecResult& r)
      : req_(req), fs_(fs), P_(req.profile), H_(req.host), r_(r), seeded_(req.seed),
        rnd_(req.random ? req.random : &seeded_), page_(P_.page_size),
        vm_(P_, H_, r_.mm_vmas, r_.mm) {
    // The executable's and interpreter's headers are read with the native layout until
    // check_elf_header() finds an ia32 program.
    r_.profile = P_;
    r_.host = H_;
    r_.warnings = req.warnings;
    r_.mm_vmas = AddressSpace(P_.page_size, P_.stack_guard_gap);
  }

  void run() {
    // Each pass returns false once the exec has failed; r_.error then says why.
    if (!open_file()) return;                 // do_open_execat()
    if (!copy_strings_pass()) return;         // bprm_stack_limits(), copy_strings()
    if (!prepare_binprm()) return;            // prepare_binprm(), search_binary_handler()
    if (!check_elf_header()) return;          // load_elf_binary(): header checks
    if (!read_phdrs()) return;                // load_elf_phdrs()
    if (!find_interpreter()) return;          // PT_INTERP, open_exec(interpreter)
    scan_gnu_stack();                         // PT_GNU_STACK
    if (!check_interpreter()) return;         // ELIBBAD checks, interpreter phdrs
    if (!parse_properties()) return;          // parse_elf_properties()
    begin_new_exec();                         // point of no return
    setup_new_exec();                         // arch_pick_mmap_layout(): mmap_base
    if (!setup_arg_pages()) return;           // the stack VMA
    if (!map_segments()) return;              // every PT_LOAD, with its bss
    if (!load_interp()) return;               // load_elf_interp()
    if (!map_vdso()) return;                  // ARCH_SETUP_ADDITIONAL_PAGES
    if (!create_elf_tables()) return;         // the initial stack
    set_brk();                                // start_brk / brk
    map_page_zero();                          // MMAP_PAGE_ZERO
    start_thread();                           // START_THREAD
  }

 private:
  // ---- failure helpers -------------------------------------------------------------------
  bool fail_errno(int err, const std::string& check, const std::string& msg) {
    r_.error.kind = ExecError::Kind::Errno;
    r_.error.err = err;
    r_.error.name = errno_name(err);
    r_.error.check = check;
    r_.error.message = msg;
    record("fail", check, {r_.error.name + ": " + msg});
    return false;
  }
  // After begin_new_exec() an error cannot be returned: bprm_execve() kills the task.
  bool fail_kill(int err, const std::string& check, const std::string& msg) {
    r_.error.kind = ExecError::Kind::Signal;
    r_.error.err = err;
    r_.error.name = "SIGSEGV";
    r_.error.check = check;
    r_.error.message = msg + " (" + errno_name(err) + " after the point of no return)";
    record("fail", check, {"SIGSEGV: " + r_.error.message});
    return false;
  }
  bool fail_io(const std::string& msg) {
    r_.error.kind = ExecError::Kind::Io;
    r_.error.message = msg;
    r_.error.check = "read";
    return false;
  }
  void record(const std::string& name, const std::string& function,
              std::vector<std::string> changes) {
    if (req_.record_steps) record_step(r_, name, function, std::move(changes));
  }
  // kernel_read() + elf_read(): rw_verify_area() refuses offsets that overflow loff_t
  // (EINVAL); a short read is EIO.
  int elf_read(const loader::ExecFile& f, uint64_t pos, uint64_t len, std::vector<uint8_t>* out) {
    uint64_t end;
    if (pos >= (1ull << 63) || !checked_add(pos, len, &end) || end >= (1ull << 63))
      return -EINVAL;
    out->assign(len, 0);
    int64_t n = f.read_at(pos, out->data(), len);
    if (n < 0) return static_cast<int>(n);
    if (static_cast<uint64_t>(n) != len) return -EIO;
    return 0;
  }

  // ---- do_open_execat --------------------------------------------------------------------
  bool open_file() {
    loader::OpenResult o = fs_.open_exec(req_.filename);
    if (o.unreadable) return fail_io(req_.filename + ": " + o.why);
    if (o.err)
      return fail_errno(o.err, o.check.empty() ? "do_open_execat" : o.check,
                        req_.filename + ": " + o.why);
    file_ = std::move(o.file);
    record("bprm_execve", "do_open_execat",
           {"opened " + file_->identity().path + " (" + std::to_string(file_->size()) + " bytes)"});
    return true;
  }

  // begin_new_exec() -> bprm_creds_from_file(): the credentials come from the file that is
  // finally executed (for a #! script, its ELF interpreter: Linux ignores set-ID scripts).
  void creds_from_file() {
    // bprm_fill_uid() (fs/exec.c): nothing on a nosuid mount or under NoNewPrivs; else a
    // set-user-ID file makes euid the file's owner, a set-group-ID one with group execute
    // makes egid its group, and either sets per_clear = PER_CLEAR_ON_SETID, which
    // begin_new_exec() applies to the personality: ADDR_NO_RANDOMIZE is cleared, so
    // setarch -R has no effect.
    const loader::FileIdentity& fid = file_->identity();
    const bool suid = fid.mode & 04000, sgid = (fid.mode & 02010) == 02010;
    bool setid = false;
    euid_ = H_.euid;
    egid_ = H_.egid;
    rlim_stack_ = H_.stack_rlimit;
    if ((suid || sgid) && !fid.nosuid_mount && !H_.no_new_privs) {
      setid = true;
      if (suid) euid_ = fid.uid;
      if (sgid) egid_ = fid.gid;
    }
    // cap_bprm_creds_from_file() (security/commoncap.c): a privilege-elevated exec (euid not
    // the real uid, or egid not the real gid) is a secure exec, AT_SECURE 1; a tracer that
    // may not trace the new credentials keeps the old euid/egid (the "downgrade"), but the
    // exec is still secure.
    secure_ = H_.secure || euid_ != H_.uid || egid_ != H_.gid;
    if (setid && H_.traced_unprivileged) {
      euid_ = H_.uid;
      egid_ = H_.gid;
    }
    // begin_new_exec(): me->personality &= ~bprm->per_clear.
    personality_ = req_.personality;
    if (setid) personality_ &= ~kPerClearOnSetid;
    if (setid && !randomize_ && H_.randomize_va_space != 0) {
      randomize_ = true;
      r_.aslr_forced = std::string(suid ? "set-user-ID" : "set-group-ID") +
                       " program: the kernel clears ADDR_NO_RANDOMIZE (PER_CLEAR_ON_SETID), so "
                       "the layout is randomized even with ASLR off; this is the draw of seed " +
                       std::to_string(req_.seed);
    }
  }

  // copy_strings() / copy_string_kernel(): one string onto the temporary stack, below
  // bprm->p.
  bool copy_string(const std::string& s, const char* what) {
    // strnlen_user() counts up to the first NUL; a string longer than MAX_ARG_STRLEN is E2BIG.
    uint64_t len = strnlen(s.c_str(), s.size()) + 1;
    if (len > P_.max_arg_strlen)
      return fail_errno(E2BIG, "valid_arg_len",
                        std::string(what) + " longer than MAX_ARG_STRLEN (" +
                            std::to_string(P_.max_arg_strlen) + " bytes)");
    bprm_p_ -= len;
    if (bprm_p_ < argmin_)
      return fail_errno(E2BIG, "copy_strings",
                        "arguments and environment exceed the argument space (" +
                            std::to_string(arg_limit_) + " bytes)");
    // get_arg_page(): a string reaching below the temporary stack VMA (one page under
    // STACK_TOP_MAX) grows it with expand_downwards(), and acct_stack_growth() refuses a VMA
    // larger than the caller's RLIMIT_STACK; copy_strings() turns that into E2BIG. Only a
    // stack limit under ARG_MAX (128 KiB) lets this happen before the argmin check.
    uint64_t low = page_start(bprm_p_, page_);
    if (low < P_.stack_top_max - page_ && P_.stack_top_max - low > H_.stack_rlimit)
      return fail_errno(E2BIG, "get_arg_page",
                        "the argument pages (" + std::to_string(P_.stack_top_max - low) +
                            " bytes) exceed the stack limit (" +
                            std::to_string(H_.stack_rlimit) + " bytes)");
    return true;
  }

  // ---- do_execveat_common: bprm_stack_limits, copy_string_kernel, copy_strings -----------
  bool copy_strings_pass() {
    argv_ = req_.argv;
    envp_ = req_.envp;
    if (argv_.size() > P_.max_arg_strings || envp_.size() > P_.max_arg_strings)
      return fail_errno(E2BIG, "count", "too many arguments");
    // __bprm_mm_init(): the temporary stack ends at STACK_TOP_MAX, minus one pointer.
    uint64_t p = P_.stack_top_max - sizeof(uint64_t);
    // bprm_stack_limits(): 3/4 of _STK_LIM, at most 1/4 of the stack rlimit, at least ARG_MAX,
    // less the pointers the tables will need.
    uint64_t limit = P_.stk_lim / 4 * 3;
    limit = std::min(limit, H_.stack_rlimit / 4);
    limit = std::max(limit, P_.arg_max);
    uint64_t ptr_size = (std::max<uint64_t>(argv_.size(), 1) + envp_.size()) * sizeof(uint64_t);
    if (limit <= ptr_size)
      return fail_errno(E2BIG, "bprm_stack_limits", "argument pointers exceed the stack limit");
    limit -= ptr_size;
    argmin_ = p - limit;
    arg_limit_ = limit;
    bprm_p_ = p;

    // The filename first (it ends up highest), then envp and argv, each last string first.
    if (!copy_string(req_.filename, "filename")) return false;
    exec_p_ = bprm_p_;
    for (size_t i = envp_.size(); i-- > 0;)
      if (!copy_string(envp_[i], "an environment string")) return false;
    for (size_t i = argv_.size(); i-- > 0;)
      if (!copy_string(argv_[i], "an argument")) return false;
    // "When argv is empty, add an empty string as argv[0]" (do_execveat_common).
    if (argv_.empty()) {
      argv_.push_back("");
      if (!copy_string(argv_[0], "an argument")) return false;
    }
    record("copy_strings", "copy_strings",
           {"copied filename, " + std::to_string(envp_.size()) + " env and " +
            std::to_string(argv_.size()) + " arg strings; bprm->p = " + hex(bprm_p_)});
    return true;
  }

  // ---- exec_binprm / search_binary_handler / prepare_binprm -------------------------------
  // exec_binprm() (fs/exec.c) runs search_binary_handler() once per file: binfmt_script's
  // load_script() may name an interpreter to run instead, and "This allows 4 levels of binfmt
  // rewrites before failing hard": past depth 5 the exec fails with ELOOP.
  bool prepare_binprm() {
    std::string interp = req_.filename;  // bprm->interp: the script path the next level sees
    for (int depth = 0;; ++depth) {
      if (depth > 5)
        return fail_errno(ELOOP, "exec_binprm",
                          "more than 5 levels of #! interpreters (" + interp + " is the 6th)");
      // prepare_binprm(): the first BINPRM_BUF_SIZE bytes, zero-padded for a shorter file.
      buf_.assign(P_.binprm_buf_size, 0);
      int64_t n = file_->read_at(0, buf_.data(), buf_.size());
      if (n < 0) return fail_io(file_->identity().path + ": read error: " + std::strerror(int(-n)));
      if (!(buf_[0] == '#' && buf_[1] == '!')) break;
      if (!load_script(&interp)) return false;
    }
    creds_from_file();
    return true;
  }

  // fs/binfmt_script.c load_script(): parse the #! line in bprm->buf (not NUL-terminated: a
  // line that does not end within it must at least end its interpreter name), then replace
  // argv[0] by the interpreter's name, its optional argument and the script path, and open
  // the interpreter.
  bool load_script(std::string* interp) {
    const std::string script = *interp;  // the script's path as execve() or the #! above named it
    const char* buf = reinterpret_cast<const char*>(buf_.data());
    const size_t buf_end = buf_.size() - 1;  // bprm->buf + sizeof(bprm->buf) - 1
    auto spacetab = [](char c) { return c == ' ' || c == '\t'; };
    // next_non_spacetab() and next_terminator(): inclusive of last; npos for NULL.
    auto non_spacetab = [&](size_t first, size_t last) {
      for (; first <= last; ++first)
        if (!spacetab(buf[first])) return first;
      return std::string::npos;
    };
    auto terminator = [&](size_t first, size_t last) {
      for (; first <= last; ++first)
        if (spacetab(buf[first]) || !buf[first]) return first;
      return std::string::npos;
    };
    auto noexec = [&](const std::string& why) {
      return fail_errno(ENOEXEC, "load_script", script + ": " + why);
    };
    // strnchr(bprm->buf, sizeof(bprm->buf), '\n'): stops at a NUL.
    size_t i_end = std::string::npos;
    for (size_t i = 0; i < buf_.size() && buf[i]; ++i)
      if (buf[i] == '\n') {
        i_end = i;
        break;
      }
    if (i_end == std::string::npos) {
      size_t first = non_spacetab(2, buf_end);
      if (first == std::string::npos)
        return noexec("the #! line is only spaces and tabs for " + std::to_string(buf_.size()) +
                      " bytes");
      if (terminator(first, buf_end) == std::string::npos)
        return noexec("the interpreter path does not end within the first " +
                      std::to_string(buf_.size()) + " bytes, so it may be truncated");
      i_end = buf_end;
    }
    while (spacetab(buf[i_end - 1])) --i_end;  // buf[1] is '!', so this stops at 2
    size_t i_name = non_spacetab(2, i_end);
    if (i_name == std::string::npos || i_name == i_end)
      return noexec("the #! line names no interpreter");
    size_t i_sep = terminator(i_name, i_end), i_arg = std::string::npos;
    if (i_sep != std::string::npos && buf[i_sep] != '\0') i_arg = non_spacetab(i_sep, i_end);
    // *i_end = '\0', and *i_sep = '\0' when there is an argument: the strings end there or at
    // an earlier NUL.
    auto cstr = [&](size_t from, size_t to) {
      std::string v(buf + from, to - from);
      return v.substr(0, v.find('\0'));
    };
    const std::string name = cstr(i_name, i_sep != std::string::npos ? std::min(i_sep, i_end) : i_end);
    const std::string arg = i_arg != std::string::npos ? cstr(i_arg, i_end) : std::string();
    // remove_arg_zero(), then copy_string_kernel() of bprm->interp, the argument and the
    // name, each below the last (so argv reads name, argument, script path, argv[1]...).
    if (!argv_.empty()) {
      bprm_p_ += strnlen(argv_[0].c_str(), argv_[0].size()) + 1;
      argv_.erase(argv_.begin());
    }
    if (!copy_string(*interp, "the script path")) return false;
    argv_.insert(argv_.begin(), *interp);
    if (i_arg != std::string::npos) {
      if (!copy_string(arg, "the #! argument")) return false;
      argv_.insert(argv_.begin(), arg);
    }
    if (!copy_string(name, "the #! interpreter name")) return false;
    argv_.insert(argv_.begin(), name);
    // bprm_change_interp(), then open_exec() of the name as written (relative to the cwd).
    *interp = name;
    loader::OpenResult o = fs_.open_exec(name);
    if (o.unreadable) return fail_io(name + ": " + o.why);
    if (o.err)
      return fail_errno(o.err, "load_script: open_exec" + (o.check.empty() ? "" : ": " + o.check),
                        "#! interpreter " + name + " of " + script + ": " + o.why);
    file_ = std::move(o.file);
    r_.scripts.push_back({script, name, arg, i_arg != std::string::npos});
    record("load_script", "load_script",
           {script + ": #!" + name + (i_arg != std::string::npos ? " [" + arg + "]" : ""),
            "argv now " + std::to_string(argv_.size()) + " strings, argv[0] = " + name +
                "; bprm->p = " + hex(bprm_p_),
            "opened " + file_->identity().path + " (" + std::to_string(file_->size()) + " bytes)"});
    return true;
  }

  static bool ia32_machine(uint16_t m) { return m == elf::EM_386 || m == kEm486; }

  // search_binary_handler() offers the file to each binfmt: binfmt_elf reads its header as
  // ELF64 and takes EM_X86_64 (elf_check_arch()); compat_binfmt_elf reads it as ELF32 and takes
  // EM_386 and EM_486 when ia32 emulation is on (compat_elf_check_arch()). Neither looks at
  // EI_CLASS, so the class follows from e_machine (offset 18 in both layouts). An x32 file
  // (ELFCLASS32, EM_X86_64) is read as ELF64 here: CONFIG_X86_X32_ABI is off in Debian's
  // kernels, so no compat loader claims it.
  bool check_elf_header() {
    const uint16_t machine = elf::read_le16(buf_.data() + 18);
    const bool ia32 = ia32_machine(machine) && P_.ia32.enabled;
    ehdr_ = elf::decode_ehdr(buf_.data(), ia32 ? elf::ElfClass::Elf32 : elf::ElfClass::Elf64);
    if (std::memcmp(ehdr_.e_ident, "\x7f" "ELF", 4) != 0)
      return fail_errno(ENOEXEC, "search_binary_handler",
                        "not an ELF file and no other binary format claims it");
    if (ehdr_.e_type != elf::ET_EXEC && ehdr_.e_type != elf::ET_DYN)
      return fail_errno(ENOEXEC, "load_elf_binary",
                        "e_type is " + elf::et_name(ehdr_.e_type) + ", not ET_EXEC or ET_DYN");
    if (ia32_machine(machine) && !P_.ia32.enabled)
      return fail_errno(ENOEXEC, "compat_elf_check_arch",
                        "an ia32 program (e_machine " + std::to_string(machine) +
                            "), and this kernel does not run ia32 programs (ia32 emulation is "
                            "off: CONFIG_IA32_EMULATION, ia32_emulation=)");
    if (machine != elf::EM_X86_64 && !ia32)
      return fail_errno(ENOEXEC, "elf_check_arch",
                        "e_machine is " + std::to_string(machine) +
                            ", the kernel requires 62 (EM_X86_64) or 3 (EM_386)");
    if (ia32) {
      // SET_PERSONALITY2() -> set_personality_ia32(): TIF_ADDR32 and TS_COMPAT from here on, so
      // TASK_SIZE, STACK_TOP, mmap_is_ia32() and in_32bit_syscall() take the 32-bit values.
      P_ = compat_profile(P_, personality_);
      r_.profile = P_;
      record("compat_binfmt_elf", "compat_elf_check_arch",
             {"an ia32 program: compat_binfmt_elf loads it with 32-bit ELF structures"});
    }
    return true;
  }

  // load_elf_phdrs(): returns nullptr on any problem, which the caller turns into its own
  // errno (ENOEXEC for the executable, ELIBBAD for the interpreter).
  bool load_phdrs(const loader::ExecFile& f, const elf::Ehdr& eh, std::vector<Phdr>* out,
                  std::string* why) {
    const uint64_t phent = elf::phdr_size(eh.cls);
    if (eh.e_phentsize != phent) {
      *why = "e_phentsize is " + std::to_string(eh.e_phentsize) + ", the kernel requires " +
             std::to_string(phent);
      return false;
    }
    uint64_t size = phent * eh.e_phnum;
    uint64_t max = P_.phdr_table_max;
    if (P_.phdr_table_max_page) max = std::min(max, page_);
    if (size == 0 || size > max) {
      *why = "e_phnum is " + std::to_string(eh.e_phnum) + ": the program header table is " +
             std::to_string(size) + " bytes, the kernel accepts 1 to " + std::to_string(max);
      return false;
    }
    std::vector<uint8_t> bytes;
    int rv = elf_read(f, eh.e_phoff, size, &bytes);
    if (rv) {
      *why = "program header table at " + hex(eh.e_phoff) + " (" + std::to_string(size) +
             " bytes) lies past the end of the file";
      return false;
    }
    *out = elf::decode_phdrs(bytes.data(), eh.e_phnum, eh.cls);
    return true;
  }

  bool read_phdrs() {
    std::string why;
    if (!load_phdrs(*file_, ehdr_, &phdrs_, &why)) {
      // An x32 program (ELFCLASS32, EM_X86_64) fails binfmt_elf's ELF64 reading here, and
      // compat_binfmt_elf takes it only with x32 support on: not in this machine's kernel (no
      // CONFIG_X86_X32_ABI), nor in Debian's, which build it disabled (CONFIG_X86_X32_DISABLED;
      // measured ENOEXEC on 5.10, 6.1, 6.12 and 7.2).
      if (ehdr_.e_ident[4] == 1 && ehdr_.e_machine == elf::EM_X86_64)
        return fail_errno(ENOEXEC, "compat_elf_check_arch",
                          "an x32 program (ELFCLASS32, EM_X86_64): the 64-bit loader reads it "
                          "as ELF64 (" + why + ") and x32 support is off in this kernel");
      return fail_errno(ENOEXEC, "load_elf_phdrs", why);
    }
    record("load_elf_phdrs", "load_elf_phdrs",
           {"read " + std::to_string(phdrs_.size()) + " program headers at " + hex(ehdr_.e_phoff)});
    return true;
  }

  bool find_interpreter() {
    for (size_t i = 0; i < phdrs_.size(); ++i) {
      const Phdr& ph = phdrs_[i];
      if (ph.p_type == elf::PT_GNU_PROPERTY) {
        property_phdr_ = &phdrs_[i];
        property_file_ = file_.get();
        continue;
      }
      if (ph.p_type != elf::PT_INTERP) continue;
      if (ph.p_filesz > P_.path_max || ph.p_filesz < 2)
        return fail_errno(ENOEXEC, "load_elf_binary: PT_INTERP",
                          "PT_INTERP p_filesz is " + std::to_string(ph.p_filesz) +
                              ", the kernel accepts 2 to " + std::to_string(P_.path_max));
      std::vector<uint8_t> name;
      int rv = elf_read(*file_, ph.p_offset, ph.p_filesz, &name);
      if (rv)
        return fail_errno(-rv, "load_elf_binary: PT_INTERP",
                          "cannot read the PT_INTERP string at " + hex(ph.p_offset) +
                              " (" + std::to_string(ph.p_filesz) + " bytes)");
      if (name.back() != 0)
        return fail_errno(ENOEXEC, "load_elf_binary: PT_INTERP",
                          "the PT_INTERP string is not NUL-terminated");
      interp_path_ = std::string(reinterpret_cast<const char*>(name.data()));
      // open_exec() takes the name through getname_kernel(), which (unlike getname() for
      // execve's own path) accepts "": the lookup ends at the working directory, and
      // do_open_execat() refuses a directory with EACCES.
      if (interp_path_.empty())
        return fail_errno(EACCES, "open_exec(interpreter)",
                          "the PT_INTERP string is empty: it names the working directory");
      loader::OpenResult o = fs_.open_exec(interp_path_);
      if (o.unreadable) return fail_io(interp_path_ + ": " + o.why);
      if (o.err)
        return fail_errno(o.err,
                          "open_exec(interpreter)" + (o.check.empty() ? "" : ": " + o.check),
                          "interpreter " + interp_path_ + ": " + o.why);
      interp_ = std::move(o.file);
      std::vector<uint8_t> ibuf;
      rv = elf_read(*interp_, 0, elf::ehdr_size(ehdr_.cls), &ibuf);
      if (rv)
        return fail_errno(-rv, "load_elf_binary: interpreter header",
                          "interpreter " + interp_path_ + " is shorter than an ELF header");
      iehdr_ = elf::decode_ehdr(ibuf.data(), ehdr_.cls);
      record("open_interpreter", "open_exec", {"interpreter " + interp_path_});
      break;
    }
    return true;
  }

  void scan_gnu_stack() {
    for (const Phdr& ph : phdrs_)
      if (ph.p_type == elf::PT_GNU_STACK)
        executable_stack_ = (ph.p_flags & elf::PF_X) ? EXSTACK_ENABLE_X : EXSTACK_DISABLE_X;
  }

  bool check_interpreter() {
    if (!interp_) return true;
    if (std::memcmp(iehdr_.e_ident, "\x7f" "ELF", 4) != 0)
      return fail_errno(ELIBBAD, "load_elf_binary: interpreter",
                        "interpreter " + interp_path_ + " is not an ELF file");
    if (P_.compat ? !ia32_machine(iehdr_.e_machine) : iehdr_.e_machine != elf::EM_X86_64)
      return fail_errno(ELIBBAD, "elf_check_arch(interpreter)",
                        "interpreter " + interp_path_ + " has e_machine " +
                            std::to_string(iehdr_.e_machine) +
                            (P_.compat ? ", not 3 (EM_386)" : ", not 62 (EM_X86_64)"));
    std::string why;
    if (!load_phdrs(*interp_, iehdr_, &iphdrs_, &why))
      return fail_errno(ELIBBAD, "load_elf_phdrs(interpreter)", "interpreter: " + why);
    // The interpreter's PT_GNU_PROPERTY replaces the executable's.
    property_phdr_ = nullptr;
    for (const Phdr& ph : iphdrs_)
      if (ph.p_type == elf::PT_GNU_PROPERTY) {
        property_phdr_ = &ph;
        property_file_ = interp_.get();
      }
    return true;
  }

  bool parse_properties() {
    // x86_64 does not select ARCH_USE_GNU_PROPERTY in 6.18: parse_elf_properties() returns 0
    // without reading the note, whichever file's PT_GNU_PROPERTY was chosen.
    if (property_phdr_ && property_file_)
      record("parse_elf_properties", "parse_elf_properties",
             {"PT_GNU_PROPERTY present; not parsed on x86_64"});
    return true;
  }

  void begin_new_exec() {
    std::vector<std::string> notes{
        "point of no return: the old mm is released; later failures kill the task"};
    // begin_new_exec(): "For secureexec, reset the stack limit to sane default" (commit
    // "exec: Use sane stack rlimit under secureexec", v4.14): bprm->rlim_stack is capped at
    // _STK_LIM before arch_pick_mmap_layout() and setup_arg_pages() read it.
    if (secure_ && rlim_stack_ > P_.stk_lim) {
      rlim_stack_ = P_.stk_lim;
      notes.push_back("secure exec: the stack limit is reset to _STK_LIM (" +
                      std::to_string(P_.stk_lim) + " bytes) for the new program");
    }
    // SET_PERSONALITY2() -> set_personality_64bit() (arch/x86/kernel/process_64.c) clears
    // READ_IMPLIES_EXEC, and elf_read_implies_exec() sets it again only for ia32 programs
    // ("x86/elf: Disable automatic READ_IMPLIES_EXEC on 64-bit", 5.8): setarch -X changes
    // nothing for a 64-bit program. set_personality_ia32() keeps the caller's flag, and
    // elf_read_implies_exec() adds it for an ia32 program without PT_GNU_STACK
    // (mmap_is_ia32() && executable_stack == EXSTACK_DEFAULT).
    if (!P_.compat && (personality_ & kReadImpliesExec)) {
      personality_ &= ~kReadImpliesExec;
      notes.push_back("set_personality_64bit(): READ_IMPLIES_EXEC cleared");
    }
    if (P_.compat && executable_stack_ == EXSTACK_DEFAULT && !(personality_ & kReadImpliesExec)) {
      personality_ |= kReadImpliesExec;
      notes.push_back("elf_read_implies_exec(): an ia32 program without PT_GNU_STACK gets "
                      "READ_IMPLIES_EXEC: readable mappings are executable");
    }
    vm_.set_personality(personality_);
    r_.personality = personality_ | (randomize_ ? 0 : 0x0040000u);  // ADDR_NO_RANDOMIZE
    record("begin_new_exec", "begin_new_exec", notes);
  }

  // ---- setup_new_exec: arch_pick_mmap_layout (arch/x86/mm/mmap.c) -------------------------
  // arch_rnd(mmap64_rnd_bits): drawn once for mmap_base and again, independently, for the
  // PIE load bias (arch_mmap_rnd() in load_elf_binary).
  uint64_t arch_mmap_rnd(Draw d) {
    if (!randomize_) return 0;
    // arch_rnd(mmap_is_ia32() ? mmap32_rnd_bits : mmap64_rnd_bits)
    const uint64_t bits = P_.compat ? H_.mmap_rnd_compat_bits : H_.mmap_rnd_bits;
    return rnd_->draw(d, 1ull << bits) * page_;
  }
  uint64_t stack_maxrandom_size() const {
    return randomize_ ? P_.stack_rnd_range - page_ : 0;
  }
  void setup_new_exec() {
    uint64_t rnd = arch_mmap_rnd(Draw::MmapBase);
    uint64_t gap = rlim_stack_;
    uint64_t pad = stack_maxrandom_size() + P_.stack_guard_gap;
    if (gap + pad > gap) gap += pad;  // "Values close to RLIM_INFINITY can overflow."
    // mmap_base(rnd, task_size_64bit(0)): the 47-bit window even with 5-level paging; an ia32
    // task gets mmap_compat_base = mmap_base(arch_rnd(mmap32_rnd_bits), task_size_32bit())
    // (arch_pick_mmap_base() for CONFIG_HAVE_ARCH_COMPAT_MMAP_BASES; get_mmap_base() picks it
    // while in_32bit_syscall()), the compat profile's window.
    const uint64_t window = P_.default_map_window;
    uint64_t gap_min = P_.mmap_gap_min, gap_max = window / 6 * 5;
    if (gap < gap_min) gap = gap_min;
    else if (gap > gap_max) gap = gap_max;
    r_.mm.mmap_base = page_align(window - gap - rnd, page_);
    // mmap_is_legacy(): ADDR_COMPAT_LAYOUT or vm.legacy_va_layout (an unlimited stack does not
    // count on x86); then MMF_TOPDOWN is clear and mmap_base = mmap_legacy_base =
    // __TASK_UNMAPPED_BASE(task_size) + rnd, searched bottom-up (arch/x86/mm/mmap.c).
    if ((personality_ & kAddrCompatLayout) || H_.legacy_va_layout) {
      r_.mm.bottom_up = true;
      r_.mm.mmap_base = P_.task_unmapped_base + rnd;
      record("setup_new_exec", "arch_pick_mmap_layout",
             {"legacy layout (" +
              std::string(personality_ & kAddrCompatLayout ? "ADDR_COMPAT_LAYOUT"
                                                           : "vm.legacy_va_layout") +
              "): mmap_base = mmap_legacy_base = " + hex(r_.mm.mmap_base) + ", bottom-up"});
      return;
    }
    record("setup_new_exec", "arch_pick_mmap_layout",
           {"mmap_base = " + hex(r_.mm.mmap_base) + " (stack rlimit " +
            (rlim_stack_ == kRlimInfinity ? std::string("unlimited")
                                          : std::to_string(rlim_stack_)) +
            ")"});
  }

  // ---- setup_arg_pages (mm/vma_exec.c in 6.16+, fs/exec.c before) -------------------------
  bool setup_arg_pages() {
    uint64_t stack_top = P_.stack_top;
    if (randomize_) {
      // randomize_stack_top(): up to STACK_RND_MASK pages below STACK_TOP.
      uint64_t rv = rnd_->draw(Draw::StackTop, P_.stack_rnd_range / page_) * page_;
      stack_top = page_align(stack_top, page_) - rv;
      // arch_align_stack() then PAGE_ALIGN().
      stack_top -= rnd_->draw(Draw::StackAlign, P_.stack_sub_page_rnd);
      stack_top &= ~uint64_t(15);
      stack_top = page_align(stack_top, page_);
    }
    uint64_t vm_end = P_.stack_top_max;  // the temporary stack of __bprm_mm_init()
    uint64_t vm_start = page_start(bprm_p_, page_);
    if (stack_top < H_.mmap_min_addr || vm_end - vm_start >= stack_top - H_.mmap_min_addr)
      return fail_kill(ENOMEM, "setup_arg_pages", "the argument pages do not fit below the stack top");
    uint64_t shift = vm_end - stack_top;
    bprm_p_ -= shift;
    exec_p_ -= shift;
    vm_start -= shift;
    vm_end -= shift;
    r_.mm.arg_start = bprm_p_;
    uint64_t stack_size = vm_end - vm_start;
    uint64_t rlim = rlim_stack_ & ~(page_ - 1);
    uint64_t expand = std::min(rlim, stack_size + P_.stack_expand);
    uint64_t stack_base = vm_end - expand;
    if (stack_base < vm_start) vm_start = stack_base;
    Vma v;
    v.start = vm_start;
    v.end = vm_end;
    // VM_STACK_FLAGS: VM_STACK_DEFAULT_FLAGS has TASK_EXEC, VM_EXEC under READ_IMPLIES_EXEC;
    // PT_GNU_STACK then sets or clears VM_EXEC.
    const bool stack_x = executable_stack_ == EXSTACK_ENABLE_X ||
                         (executable_stack_ == EXSTACK_DEFAULT && (personality_ & kReadImpliesExec));
    v.prot = PROT_R | PROT_W | (stack_x ? PROT_X : 0);
    v.kind = Vma::Kind::Stack;
    v.pgoff = vm_start;
    r_.mm_vmas.map(v);
    stack_vma_start_ = vm_start;
    stack_vma_end_ = vm_end;
    r_.exec_stack = stack_x;
    r_.mm.start_stack = bprm_p_;
    record("setup_arg_pages", "setup_arg_pages",
           {"[stack] " + hex(vm_start) + "-" + hex(vm_end) +
            (executable_stack_ == EXSTACK_ENABLE_X ? " rwx (PT_GNU_STACK PF_X)"
             : r_.exec_stack                      ? " rwx (READ_IMPLIES_EXEC)"
                                                  : " rw-")});
    return true;
  }

  // elf_map(): map p_filesz (page-rounded) at addr; with total_size, reserve the whole image
  // first and unmap the tail, so holes between segments stay unmapped.
  MapResult elf_map(int file, uint64_t addr, const Phdr& ph, uint32_t prot, uint32_t flags,
                 uint64_t total_size) {
    uint64_t size = ph.p_filesz + page_offset(ph.p_vaddr, page_);
    uint64_t off = ph.p_offset - page_offset(ph.p_vaddr, page_);
    addr = page_start(addr, page_);
    size = page_align(size, page_);
    if (!size) return MapResult::at(addr);
    MapResult m;
    if (total_size) {
      total_size = page_align(total_size, page_);
      m = vm_.vm_mmap(file, addr, total_size, prot, flags, off);
      if (m.ok && m.addr < P_.task_size) r_.mm_vmas.unmap(m.addr + size, m.addr + total_size);
    } else {
      m = vm_.vm_mmap(file, addr, size, prot, flags, off);
    }
    return m;
  }

  // elf_load(): elf_map() plus the bss: padzero() of the last file page, then vm_brk_flags()
  // for whole pages up to p_memsz.
  // padzero_fails_write: a padzero() failure fails a writable segment (6.7+); false ignores
  // it (Debian 6.1's program path).
  MapResult elf_load(int file, uint64_t addr, const Phdr& ph, uint32_t prot, uint32_t flags,
                  uint64_t total_size, std::vector<std::string>* notes,
                  bool padzero_fails_write = true) {
    uint64_t zero_start, zero_end;
    MapResult map;
    if (ph.p_filesz) {
      map = elf_map(file, addr, ph, prot, flags, total_size);
      if (!map.ok || map.addr >= P_.task_size) return map;
      if (notes)
        notes->push_back("mapped file " + hex(map.addr) + "+" +
                         hex(page_align(ph.p_filesz + page_offset(ph.p_vaddr, page_), page_)) +
                         " from offset " + hex(ph.p_offset - page_offset(ph.p_vaddr, page_)));
      zero_start = map.addr + page_offset(ph.p_vaddr, page_) + ph.p_filesz;
      zero_end = map.addr + page_offset(ph.p_vaddr, page_) + ph.p_memsz;
      if (ph.p_memsz > ph.p_filesz && page_offset(zero_start, page_)) {
        // padzero(): clear_user() of the rest of the last file page faults when that page
        // lies wholly past EOF (filemap_fault(): index >= DIV_ROUND_UP(i_size, PAGE_SIZE)
        // is VM_FAULT_SIGBUS); elf_load() returns -EFAULT for a writable segment and
        // ignores the failure otherwise.
        uint64_t index = (ph.p_offset - page_offset(ph.p_vaddr, page_)) / page_ +
                         (page_offset(ph.p_vaddr, page_) + ph.p_filesz) / page_;
        uint64_t size = file_sizes_[static_cast<size_t>(file)];
        uint64_t max_index = size / page_ + (size % page_ ? 1 : 0);
        if (index >= max_index && (prot & PROT_W) && padzero_fails_write)
          return MapResult::error(EFAULT);
        if (notes)
          notes->push_back("padzero " + hex(zero_start) + "-" + hex(page_align(zero_start, page_)));
      }
    } else {
      map = MapResult::at(page_start(addr, page_));
      zero_start = map.addr;
      zero_end = zero_start + page_offset(ph.p_vaddr, page_) + ph.p_memsz;
    }
    if (ph.p_memsz > ph.p_filesz) {
      zero_start = page_align(zero_start, page_);
      zero_end = page_align(zero_end, page_);
      int err = vm_.vm_brk_flags(zero_start, zero_end - zero_start, prot & PROT_X);
      if (err) return MapResult::error(-err);
      if (notes && zero_end > zero_start)
        notes->push_back("bss " + hex(zero_start) + "-" + hex(zero_end) + " (vm_brk_flags)");
    }
    return map;
  }

  // set_brk() before 6.7: vm_brk_flags() over the page-aligned [start, end), rw- or rwx.
  int set_brk_range(uint64_t start, uint64_t end, uint32_t prot) {
    start = page_align(start, page_);
    end = page_align(end, page_);
    if (end > start) return vm_.vm_brk_flags(start, end - start, prot & PROT_X);
    return 0;
  }

  // padzero(): clear_user() of the rest of the page at addr. It faults on an unmapped or
  // non-writable page, and on a file page wholly past EOF (filemap_fault() SIGBUS).
  bool padzero_ok(uint64_t addr) {
    if (!page_offset(addr, page_)) return true;
    const Vma* v = r_.mm_vmas.vma_at(page_start(addr, page_));
    if (!v || !(v->prot & PROT_W)) return false;
    if (v->kind == Vma::Kind::File && v->file >= 0) {
      uint64_t index = (page_start(addr, page_) - v->start + v->pgoff) / page_;
      uint64_t size = file_sizes_[static_cast<size_t>(v->file)];
      if (index >= size / page_ + (size % page_ ? 1 : 0)) return false;
    }
    return true;
  }

  static uint32_t make_prot(uint32_t p_flags) { return elf::prot_from_p_flags(p_flags); }

  // minmax: the span of every PT_LOAD (5.17+); else the first to the last PT_LOAD in header
  // order, with the kernel's unsigned wrap-around.
  static uint64_t total_mapping_size(const std::vector<Phdr>& ph, uint64_t page, bool minmax) {
    if (!minmax) {
      const Phdr *first = nullptr, *last = nullptr;
      for (const Phdr& p : ph)
        if (p.p_type == elf::PT_LOAD) {
          last = &p;
          if (!first) first = &p;
        }
      return first ? last->p_vaddr + last->p_memsz - page_start(first->p_vaddr, page) : 0;
    }
    uint64_t min_addr = ~uint64_t(0), max_addr = 0;
    bool pt_load = false;
    for (const Phdr& p : ph)
      if (p.p_type == elf::PT_LOAD) {
        min_addr = std::min(min_addr, page_start(p.p_vaddr, page));
        max_addr = std::max(max_addr, p.p_vaddr + p.p_memsz);
        pt_load = true;
      }
    return pt_load ? max_addr - min_addr : 0;
  }

  static uint64_t maximum_alignment(const std::vector<Phdr>& ph, uint64_t page) {
    uint64_t alignment = 0;
    for (const Phdr& p : ph)
      if (p.p_type == elf::PT_LOAD && is_power_of_2(p.p_align))
        alignment = std::max(alignment, p.p_align);
    return page_align(alignment, page);
  }

  int add_file(const loader::ExecFile& f) {
    r_.files.push_back(f.identity());
    file_sizes_.push_back(f.size());
    return static_cast<int>(r_.files.size() - 1);
  }

  static std::string map_error(const MapResult& m) {
    return m.ok ? "address " + hex(m.addr) + " is past TASK_SIZE" : errno_name(m.err);
  }

  // ---- the PT_LOAD loop of load_elf_binary() ----------------------------------------------
  bool map_segments() {
    int file = add_file(*file_);
    uint64_t load_bias = 0;
    bool first_pt_load = true;
    uint64_t elf_brk = 0, start_code = ~uint64_t(0), end_code = 0, start_data = 0, end_data = 0;
    uint64_t phdr_addr = 0;
    for (size_t i = 0; i < phdrs_.size(); ++i) {
      const Phdr& ph = phdrs_[i];
      if (ph.p_type != elf::PT_LOAD) continue;
      uint32_t prot = make_prot(ph.p_flags);
      uint32_t flags = 0;
      uint64_t vaddr = ph.p_vaddr;
      uint64_t total_size = 0;
      std::vector<std::string> notes;
      if (!first_pt_load) {
        flags |= kMapFixed;
      } else if (ehdr_.e_type == elf::ET_EXEC) {
        flags |= P_.first_map_noreplace ? kMapFixedNoreplace : kMapFixed;
      } else {
        total_size = total_mapping_size(phdrs_, page_, P_.total_size_minmax);
        if (!total_size)
          return fail_kill(EINVAL, "total_mapping_size", "the PT_LOAD segments span 0 bytes");
        uint64_t alignment = maximum_alignment(phdrs_, page_);
        // DOC: PIE handling. Programs (ET_DYN with PT_INTERP) load at ELF_ET_DYN_BASE;
        // loaders (ET_DYN without PT_INTERP) load in the mmap region, top-down.
        if (interp_) {
          load_bias = P_.elf_et_dyn_base;
          load_bias += arch_mmap_rnd(Draw::PieBias);
          if (alignment) load_bias &= ~(alignment - 1);
          flags |= P_.first_map_noreplace ? kMapFixedNoreplace : kMapFixed;
          notes.push_back("PIE: load_bias from ELF_ET_DYN_BASE, alignment " + hex(alignment));
        } else if (alignment > page_ && P_.static_pie_align) {
          // Probe where the image would go, release it, then align down and map there.
          MapResult probe = elf_load(file, 0, ph, prot, flags, total_size, nullptr);
          if (!probe.ok || probe.addr >= P_.task_size)
            return fail_kill(probe.ok ? EINVAL : probe.err, "elf_load",
                             "no room for the image: " + map_error(probe));
          load_bias = probe.addr;
          r_.mm_vmas.unmap(load_bias, load_bias + page_align(total_size, page_));
          load_bias &= ~(alignment - 1);
          flags |= kMapFixedNoreplace;
          notes.push_back("loader: probed the mmap area, aligned down to " + hex(alignment));
        } else {
          load_bias = 0;
          notes.push_back("loader: placed top-down below mmap_base");
        }
        load_bias = page_start(load_bias - vaddr, page_);
      }
      MapResult m;
      if (P_.exe_bss_elf_load) {
        m = elf_load(file, load_bias + vaddr, ph, prot, flags, total_size, &notes,
                     /*padzero_fails_write=*/P_.exe_padzero_write_only);
      } else {
        // Before 6.7: the bss of the PT_LOADs so far, from the running maxima, is mapped
        // before this segment (set_brk()), and its first partial page cleared (errors ignored).
        if (old_brk_ > old_bss_) {
          int err = set_brk_range(old_bss_ + load_bias, old_brk_ + load_bias, old_bss_prot_);
          if (err)
            return fail_kill(-err, "set_brk", "mapping the bss before segment " +
                                                  std::to_string(i) + " failed");
        }
        m = elf_map(file, load_bias + vaddr, ph, prot, flags, total_size);
      }
      if (!m.ok || m.addr >= P_.task_size) {
        if (!m.ok && m.err == EEXIST)
          return fail_kill(EEXIST, "elf_map: MAP_FIXED_NOREPLACE",
                           "segment " + std::to_string(i) + " at " +
                               hex(page_start(load_bias + vaddr, page_)) +
                               " collides with an existing mapping");
        return fail_kill(m.ok ? EINVAL : m.err, "elf_load",
                         "mapping segment " + std::to_string(i) + " at " +
                             hex(load_bias + vaddr) + " failed: " + map_error(m));
      }
      if (first_pt_load) {
        first_pt_load = false;
        if (ehdr_.e_type == elf::ET_DYN) load_bias += m.addr - page_start(load_bias + vaddr, page_);
      }
      // Which segment holds the program header table (the last match wins).
      if (ph.p_offset <= ehdr_.e_phoff && ehdr_.e_phoff < ph.p_offset + ph.p_filesz)
        phdr_addr = ehdr_.e_phoff - ph.p_offset + ph.p_vaddr;
      uint64_t k = ph.p_vaddr;
      if ((ph.p_flags & elf::PF_X) && k < start_code) start_code = k;
      if (start_data < k) start_data = k;
      if (k >= P_.task_size || ph.p_filesz > ph.p_memsz || ph.p_memsz > P_.task_size ||
          P_.task_size - ph.p_memsz < k)
        return fail_kill(EINVAL, "load_elf_binary: segment bounds",
                         "segment " + std::to_string(i) +
                             (ph.p_filesz > ph.p_memsz ? " has p_filesz > p_memsz"
                                                       : " reaches past TASK_SIZE"));
      k = ph.p_vaddr + ph.p_filesz;
      if (k > old_bss_) old_bss_ = k;
      if ((ph.p_flags & elf::PF_X) && end_code < k) end_code = k;
      if (end_data < k) end_data = k;
      k = ph.p_vaddr + ph.p_memsz;
      if (k > elf_brk) elf_brk = k;
      if (k > old_brk_) {
        old_brk_ = k;
        old_bss_prot_ = prot;
      }
      record("map_segment", "elf_load",
             [&] {
               notes.insert(notes.begin(), "PT_LOAD[" + std::to_string(i) + "] p_vaddr " +
                                               hex(ph.p_vaddr) + " -> " + hex(load_bias + ph.p_vaddr));
               return notes;
             }());
    }
    if (!P_.exe_bss_elf_load) {
      // After the loop: set_brk() over the maxima, then padzero(elf_bss), fatal (5.10).
      uint64_t bss = old_bss_ + load_bias, brk = old_brk_ + load_bias;
      int err = set_brk_range(bss, brk, old_bss_prot_);
      if (err) return fail_kill(-err, "set_brk", "mapping the bss failed");
      if (bss != brk && !padzero_ok(bss))
        return fail_kill(EFAULT, "padzero",
                         "clearing the rest of the page at " + hex(bss) + " faults");
      record("set_brk", "set_brk",
             {"bss " + hex(page_align(bss, page_)) + "-" + hex(page_align(brk, page_)) +
              " (vm_brk_flags)"});
    }
    r_.entry = ehdr_.e_entry + load_bias;
    r_.phdr_addr = phdr_addr + load_bias;
    elf_brk_ = elf_brk + load_bias;
    r_.mm.start_code = start_code + load_bias;
    r_.mm.end_code = end_code + load_bias;
    r_.mm.start_data = start_data + load_bias;
    r_.mm.end_data = end_data + load_bias;
    r_.load_bias = load_bias;
    LoadedObject o;
    o.role = "exe";
    o.id = file_->identity();
    o.ehdr = ehdr_;
    o.phdrs = phdrs_;
    o.bias = load_bias;
    o.file = file;
    r_.objects.push_back(std::move(o));
    return true;
  }

  // ---- load_elf_interp() ------------------------------------------------------------------
  bool load_interp() {
    if (!interp_) {
      r_.rip = r_.entry;
      if (r_.rip >= P_.task_size)
        return fail_kill(EINVAL, "load_elf_binary: e_entry", "the entry point is past TASK_SIZE");
      return true;
    }
    auto bad = [&](int err, const std::string& msg) {
      return fail_kill(err, "load_elf_interp", "interpreter " + interp_path_ + ": " + msg);
    };
    if (iehdr_.e_type != elf::ET_EXEC && iehdr_.e_type != elf::ET_DYN)
      return bad(EINVAL, "e_type is " + elf::et_name(iehdr_.e_type));
    uint64_t total_size = total_mapping_size(iphdrs_, page_, P_.total_size_minmax);
    if (!total_size) return bad(EINVAL, "no PT_LOAD segment");
    int file = add_file(*interp_);
    uint64_t no_base = r_.load_bias;
    uint64_t load_addr = 0;
    bool load_addr_set = false;
    uint64_t elf_bss = 0, last_bss = 0;
    uint32_t bss_prot = 0;
    std::vector<std::string> notes;
    for (size_t i = 0; i < iphdrs_.size(); ++i) {
      const Phdr& ph = iphdrs_[i];
      if (ph.p_type != elf::PT_LOAD) continue;
      uint32_t flags = 0;
      uint32_t prot = make_prot(ph.p_flags);
      uint64_t vaddr = ph.p_vaddr;
      if (iehdr_.e_type == elf::ET_EXEC || load_addr_set) flags |= kMapFixed;
      else if (no_base && iehdr_.e_type == elf::ET_DYN) load_addr = 0 - vaddr;
      MapResult m = P_.interp_bss_elf_load
                        ? elf_load(file, load_addr + vaddr, ph, prot, flags, total_size, &notes)
                        : elf_map(file, load_addr + vaddr, ph, prot, flags, total_size);
      total_size = 0;
      if (!m.ok || m.addr >= P_.task_size)
        return bad(m.ok ? EINVAL : m.err, "mapping segment " + std::to_string(i) + " failed: " +
                                              map_error(m));
      if (!load_addr_set && iehdr_.e_type == elf::ET_DYN) {
        load_addr = m.addr - page_start(vaddr, page_);
        load_addr_set = true;
      }
      uint64_t k = load_addr + ph.p_vaddr;
      if (k >= P_.task_size || ph.p_filesz > ph.p_memsz || ph.p_memsz > P_.task_size ||
          P_.task_size - ph.p_memsz < k)
        return bad(ENOMEM, "segment " + std::to_string(i) + " is out of bounds");
      k = load_addr + ph.p_vaddr + ph.p_filesz;
      if (k > elf_bss) elf_bss = k;
      k = load_addr + ph.p_vaddr + ph.p_memsz;
      if (k > last_bss) {
        last_bss = k;
        bss_prot = prot;
      }
    }
    if (!P_.interp_bss_elf_load) {
      // Before 6.7 load_elf_interp() padded only the highest file page, fatally, then mapped
      // one bss up to the highest p_memsz.
      if (!padzero_ok(elf_bss)) return bad(EFAULT, "padzero of " + hex(elf_bss) + " faults");
      uint64_t from = page_align(elf_bss, page_), to = page_align(last_bss, page_);
      if (to > from) {
        int err = vm_.vm_brk_flags(from, to - from, bss_prot & PROT_X);
        if (err) return bad(-err, "mapping the bss failed");
        notes.push_back("bss " + hex(from) + "-" + hex(to) + " (vm_brk_flags)");
      }
    }
    uint64_t elf_entry = load_addr + iehdr_.e_entry;
    if (elf_entry >= P_.task_size) return bad(EINVAL, "entry point past TASK_SIZE");
    r_.interp_base = load_addr;
    r_.rip = elf_entry;
    LoadedObject o;
    o.role = "interp";
    o.id = interp_->identity();
    o.ehdr = iehdr_;
    o.phdrs = iphdrs_;
    o.bias = load_addr;
    o.file = file;
    r_.objects.push_back(std::move(o));
    notes.insert(notes.begin(), "interpreter " + interp_path_ + " at " + hex(load_addr));
    record("load_elf_interp", "load_elf_interp", notes);
    return true;
  }

  // ---- map_vdso() (arch/x86/entry/vdso/vma.c) ---------------------------------------------
  bool map_vdso() {
    uint64_t total = 0;
    for (const auto& s : P_.vdso_block) total += s.size;
    if (!total) return true;
    // Before 6.9, map_vdso_randomized() hinted a random page between the stack and the end of
    // its 2 MiB region (vdso_addr()); the hint is taken when that range is free.
    uint64_t hint = 0;
    // (compat_profile() clears vdso_above_stack: load_vdso32() never hints.)
    if (P_.vdso_above_stack && randomize_) {
      uint64_t start = page_align(r_.mm.start_stack, page_);
      uint64_t end = (start + total + P_.pmd_size - 1) & ~(P_.pmd_size - 1);
      if (end >= P_.default_map_window) end = P_.default_map_window;
      end -= total;
      hint = end > start ? start + rnd_->draw(Draw::VdsoAddr, (end - start) / page_ + 1) * page_
                         : start;
    }
    MapResult a = vm_.get_unmapped_area(false, hint, total, 0, 0);
    if (!a.ok) return fail_kill(a.err, "map_vdso", "no room for the vdso");
    uint64_t at = a.addr;
    std::vector<std::string> notes;
    for (const auto& s : P_.vdso_block) {
      Vma v;
      v.start = at;
      v.end = at + s.size;
      v.prot = s.prot;
      v.kind = Vma::Kind::Special;
      v.name = s.name;
      v.pgoff = 0;
      r_.mm_vmas.map(v);
      notes.push_back(s.name + " " + hex(v.start) + "-" + hex(v.end));
      at += s.size;
    }
    vdso_base_ = a.addr + P_.vdso_text_offset;
    record("map_vdso", "map_vdso", notes);
    return true;
  }

  // ---- create_elf_tables() ----------------------------------------------------------------
  bool create_elf_tables() {
    StackInputs in;
    // The stack VMA ends where setup_arg_pages() put it. A segment's bss (vm_brk_flags()) may
    // have replaced it since, with a larger anonymous VMA: the image still ends where the
    // argument area does, so its size stays bounded by what the exec wrote.
    const Vma* sv = r_.mm_vmas.vma_at(stack_vma_start_);
    // A segment mapped over the stack and cut back by elf_map()'s total_size unmap leaves no
    // page there: copy_to_user() faults and the exec is killed.
    if (!sv)
      return fail_kill(EFAULT, "create_elf_tables", "the stack pages are no longer mapped");
    in.stack_end = std::min(sv->end, stack_vma_end_);
    in.strings_start = bprm_p_;
    in.argv = argv_;
    in.envp = envp_;
    in.filename = req_.filename;
    in.execfn = exec_p_;
    in.platform = P_.elf_platform.empty() ? H_.platform : P_.elf_platform;
    in.word = P_.elf_word;
    in.align_random = randomize_ ? rnd_->draw(Draw::TablesAlign, P_.stack_sub_page_rnd) : 0;
    rnd_->fill_bytes(in.random_bytes, sizeof in.random_bytes);
    // The auxv in the profile's order; AT_RANDOM and AT_PLATFORM are filled by the builder.
    for (uint64_t type : P_.auxv_order) {
      AuxEntry e{type, 0};
      switch (type) {
        case elf::AT_SYSINFO_EHDR: e.value = vdso_base_; break;
        case elf::AT_SYSINFO: e.value = vdso_base_ + P_.ia32.sysinfo_offset; break;
        case elf::AT_MINSIGSTKSZ: e.value = H_.minsigstksz; break;
        case elf::AT_HWCAP: e.value = H_.hwcap; break;
        case elf::AT_PAGESZ: e.value = page_; break;
        case elf::AT_CLKTCK: e.value = H_.clktck; break;
        case elf::AT_PHDR: e.value = r_.phdr_addr; break;
        case elf::AT_PHENT: e.value = P_.phent; break;
        case elf::AT_PHNUM: e.value = ehdr_.e_phnum; break;
        case elf::AT_BASE: e.value = r_.interp_base.value_or(0); break;
        case elf::AT_FLAGS: e.value = 0; break;
        case elf::AT_ENTRY: e.value = r_.entry; break;
        case elf::AT_UID: e.value = H_.uid; break;
        case elf::AT_EUID: e.value = euid_; break;
        case elf::AT_GID: e.value = H_.gid; break;
        case elf::AT_EGID: e.value = egid_; break;
        case elf::AT_SECURE: e.value = secure_; break;
        case elf::AT_HWCAP2: e.value = H_.hwcap2; break;
        case elf::AT_EXECFN: e.value = exec_p_; break;
        case elf::AT_RSEQ_FEATURE_SIZE: e.value = H_.rseq_feature_size.value_or(P_.rseq_feature_size); break;
        case elf::AT_RSEQ_ALIGN: e.value = H_.rseq_align.value_or(P_.rseq_align); break;
        default: break;
      }
      if ((type == elf::AT_SYSINFO_EHDR || type == elf::AT_SYSINFO) && P_.vdso_block.empty())
        continue;
      if (type == elf::AT_PLATFORM && in.platform.empty()) continue;
      in.auxv.push_back(e);
    }
    r_.stack = build_stack(in);
    // find_extend_vma_locked(): the tables may reach below the VMA; it grows to cover them.
    uint64_t need = page_start(r_.stack.sp, page_);
    if (need < sv->start) {
      uint64_t old = sv->start;
      // acct_stack_growth(): the grown VMA may not pass RLIMIT_STACK, which is still the
      // caller's here (finalize_exec() installs bprm->rlim_stack only after the tables).
      if (sv->end - need > H_.stack_rlimit)
        return fail_kill(EFAULT, "create_elf_tables",
                         "the tables need the stack to grow to " + std::to_string(sv->end - need) +
                             " bytes, past the stack limit (" + std::to_string(H_.stack_rlimit) +
                             " bytes)");
      if (!r_.mm_vmas.expand_down(old, need))
        return fail_kill(EFAULT, "create_elf_tables", "the stack cannot grow to hold the tables");
      stack_vma_start_ = need;
    }
    r_.mm.start_stack = r_.stack.sp;
    r_.mm.arg_start = r_.stack.argv_ptrs.empty() ? bprm_p_ : r_.stack.argv_ptrs.front();
    uint64_t p = r_.mm.arg_start;
    for (const auto& a : r_.stack.argv) p += strnlen(a.c_str(), a.size()) + 1;
    r_.mm.arg_end = p;
    r_.mm.env_start = p;
    for (const auto& e : r_.stack.envp) p += strnlen(e.c_str(), e.size()) + 1;
    r_.mm.env_end = p;
    record("create_elf_tables", "create_elf_tables",
           {"argc " + std::to_string(r_.stack.argc) + ", " + std::to_string(r_.stack.auxv.size()) +
                " auxv entries; sp = " + hex(r_.stack.sp),
            "AT_RANDOM at " + hex(r_.stack.at_random)});
    return true;
  }

  // ---- brk (DOC: "brk" handling) ----------------------------------------------------------
  void set_brk() {
    uint64_t elf_brk = elf_brk_;
    bool brk_moved = false;
    bool loader = ehdr_.e_type == elf::ET_DYN && !interp_;
    if (loader && P_.static_pie_brk_always_moved) {
      elf_brk = P_.elf_et_dyn_base;
      brk_moved = true;
    }
    r_.mm.start_brk = r_.mm.brk = page_align(elf_brk, page_);
    // "(current->flags & PF_RANDOMIZE) && (snapshot_randomize_va_space > 1)"
    if (randomize_ && H_.randomize_va_space > 1) {
      // 5.10 moved a loader's brk only here, to the unaligned ELF_ET_DYN_BASE.
      if (loader && !P_.static_pie_brk_always_moved) {
        r_.mm.start_brk = r_.mm.brk = P_.elf_et_dyn_base;
        brk_moved = true;
      }
      if (!brk_moved && P_.brk_gap_page) r_.mm.start_brk = r_.mm.brk = r_.mm.brk + page_;
      // arch_randomize_brk() -> randomize_page(mm->brk, SZ_1G)
      uint64_t start = r_.mm.brk, range = P_.brk_rnd_range;
      if (start & (page_ - 1)) {
        range -= page_align(start, page_) - start;
        start = page_align(start, page_);
      }
      if (start > ~uint64_t(0) - range) range = ~uint64_t(0) - start;
      range /= page_;
      if (range) start += rnd_->draw(Draw::Brk, range) * page_;
      r_.mm.start_brk = r_.mm.brk = start;
    }
    record("set_brk", "load_elf_binary: brk",
           {"start_brk = brk = " + hex(r_.mm.start_brk)});
  }

  void start_thread() {
    record("start_thread", "START_THREAD",
           {"rip = " + hex(r_.rip) + ", rsp = " + hex(r_.stack.sp)});
  }

  // load_elf_binary(): "SVr4 maps page 0 as read-only": with MMAP_PAGE_ZERO, vm_mmap(NULL, 0,
  // PAGE_SIZE, PROT_READ | PROT_EXEC, MAP_FIXED | MAP_PRIVATE, 0), its error ignored. Below
  // mmap_min_addr, cap_mmap_addr() wants CAP_SYS_RAWIO (security/commoncap.c).
  void map_page_zero() {
    if (!(personality_ & kMmapPageZero)) return;
    if (H_.mmap_min_addr > 0 && !H_.cap_sys_rawio) {
      record("load_elf_binary", "MMAP_PAGE_ZERO",
             {"page 0 not mapped: below mmap_min_addr without CAP_SYS_RAWIO (EPERM, ignored)"});
      return;
    }
    if (r_.mm_vmas.intersects(0, page_)) return;
    Vma v;
    v.start = 0;
    v.end = page_;
    v.prot = PROT_R | PROT_X;
    r_.mm_vmas.map(v);
    record("load_elf_binary", "MMAP_PAGE_ZERO", {"page 0 mapped r-x (SVr4 compatibility)"});
  }

  const ExecRequest& req_;
  bool randomize_ = req_.randomize;  // PF_RANDOMIZE; a set-ID program forces it on
  uint64_t euid_ = 0, egid_ = 0;     // the new credentials (bprm_fill_uid)
  bool secure_ = false;              // bprm->secureexec: AT_SECURE
  uint64_t rlim_stack_ = 0;          // bprm->rlim_stack; set with the credentials
  uint32_t personality_ = 0;         // current->personality, less ADDR_NO_RANDOMIZE
  const loader::FileSystem& fs_;
  KernelProfile P_;  // the request's; the compat profile once an ia32 program is found
  const HostState& H_;
  ExecResult& r_;
  SeededRandom seeded_;
  RandomSource* rnd_;
  uint64_t page_;
  VmOps vm_;

  std::unique_ptr<loader::ExecFile> file_, interp_;
  std::string interp_path_;
  std::vector<uint8_t> buf_;
  elf::Ehdr ehdr_, iehdr_;
  std::vector<Phdr> phdrs_, iphdrs_;
  const Phdr* property_phdr_ = nullptr;
  const loader::ExecFile* property_file_ = nullptr;
  std::vector<std::string> argv_, envp_;
  uint64_t bprm_p_ = 0, exec_p_ = 0;
  uint64_t argmin_ = 0, arg_limit_ = 0;  // bprm->argmin, and the space it leaves
  int executable_stack_ = EXSTACK_DEFAULT;
  uint64_t stack_vma_start_ = 0, stack_vma_end_ = 0;
  uint64_t elf_brk_ = 0;
  // Before 6.7: elf_bss and elf_brk of load_elf_binary(), and the prot of the segment that
  // last raised elf_brk.
  uint64_t old_bss_ = 0, old_brk_ = 0;
  uint32_t old_bss_prot_ = 0;
  uint64_t vdso_base_ = 0;
  std::vector<uint64_t> file_sizes_;  // i_size of each vm_file, indexed like r_.files
};

}  // namespace

void record_step(ExecResult& r, const std::string& name, const std::string& function,
                 std::vector<std::string> changes) {
  Step s;
  s.name = name;
  s.function = function;
  s.changes = std::move(changes);
  for (const auto& kv : r.mm_vmas.vmas()) s.layout.push_back(kv.second);
  s.mm = r.mm;
  r.steps.push_back(std::move(s));
}

ExecResult simulate_exec(const ExecRequest& req, const loader::FileSystem& fs) {
  ExecResult r;
  ExecSim sim(req, fs, r);
  sim.run();
  return r;
}

}  // namespace execmap::sim
