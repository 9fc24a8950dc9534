// Smoke test for live/capture: one real capture plus the exec failure outcomes, checking that
// no child is ever left behind. Plain main(): exits 0 on success, 1 on failure, 77 to skip
// when this machine does not allow ptrace.
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "live/capture.h"

namespace {

using execmap::live::Capture;
using execmap::live::CaptureRequest;

int failures = 0;

void check(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok) ++failures;
}

uint64_t read_u64(const std::vector<uint8_t>& bytes, size_t offset) {
  uint64_t v = 0;
  if (offset + 8 <= bytes.size()) std::memcpy(&v, bytes.data() + offset, 8);
  return v;
}

// Writes `bytes` to a fresh executable file under TMPDIR; returns its path or "" on failure.
std::string write_temp_executable(const std::vector<uint8_t>& bytes) {
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir && *dir ? dir : "/tmp") + "/execmap_smoke_XXXXXX";
  std::vector<char> name(path.begin(), path.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());
  if (fd < 0) return "";
  bool ok = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()) &&
            ::fchmod(fd, 0755) == 0;
  // Closed before exec: a file still open for writing fails execve() with ETXTBSY.
  ok = ::close(fd) == 0 && ok;
  if (!ok) {
    ::unlink(name.data());
    return "";
  }
  return name.data();
}

// A 64-bit x86-64 ELF header followed by `phdrs`, all at file offset 0.
std::vector<uint8_t> tiny_elf(uint16_t phentsize, const std::vector<Elf64_Phdr>& phdrs) {
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_EXEC;
  eh.e_machine = EM_X86_64;
  eh.e_version = EV_CURRENT;
  eh.e_entry = 0x400078;
  eh.e_phoff = sizeof(Elf64_Ehdr);
  eh.e_ehsize = sizeof(Elf64_Ehdr);
  eh.e_phentsize = phentsize;
  eh.e_phnum = static_cast<uint16_t>(phdrs.size());
  std::vector<uint8_t> out(sizeof eh + phdrs.size() * sizeof(Elf64_Phdr));
  std::memcpy(out.data(), &eh, sizeof eh);
  if (!phdrs.empty())
    std::memcpy(out.data() + sizeof eh, phdrs.data(), phdrs.size() * sizeof(Elf64_Phdr));
  return out;
}

std::optional<Capture> run(const std::string& path, std::vector<std::string> argv,
                           std::string* error, unsigned timeout_ms = 10000) {
  CaptureRequest req;
  req.path = path;
  req.argv = std::move(argv);
  req.envp = {"A=1"};
  req.timeout_ms = timeout_ms;
  return execmap::live::capture_at_exec(req, error);
}

void expect_exec_failure(const std::string& label, const std::string& path, int want_errno) {
  std::string error;
  auto cap = run(path, {path}, &error);
  check(cap && cap->outcome == Capture::Outcome::ExecFailed && cap->exec_errno == want_errno,
        label + " -> ExecFailed " + std::strerror(want_errno) +
            (cap ? " (got errno " + std::to_string(cap->exec_errno) + ")"
                 : " (error: " + error + ")"));
}

}  // namespace

int main() {
  std::string why;
  if (!execmap::live::ptrace_available(&why)) {
    std::printf("skip: %s\n", why.c_str());
    return 77;
  }

  const std::string target = ::access("/usr/bin/true", X_OK) == 0 ? "/usr/bin/true" : "/bin/true";
  std::string error;
  auto cap = run(target, {target, "two words"}, &error);
  check(cap && cap->outcome == Capture::Outcome::Stopped, "capture " + target + " " + error);
  if (cap && cap->outcome == Capture::Outcome::Stopped) {
    check(cap->maps.find("[stack]") != std::string::npos, "maps lists [stack]");
    check(cap->rsp % 16 == 0, "rsp is 16-byte aligned");
    check(cap->mm.start_stack == cap->rsp, "stat start_stack == rsp");
    check(cap->stack_end > cap->rsp && cap->stack_image.size() == cap->stack_end - cap->rsp,
          "stack image covers [rsp, stack_end)");
    check(read_u64(cap->stack_image, 0) == 2, "argc on the stack is 2");
    check(cap->mm.arg_start == read_u64(cap->stack_image, 8), "argv[0] pointer == arg_start");
    bool has_phdr = false, has_entry = false;
    for (const auto& [key, value] : cap->auxv) {
      has_phdr |= key == AT_PHDR && value != 0;
      has_entry |= key == AT_ENTRY && value != 0;
    }
    check(has_phdr && has_entry, "auxv has AT_PHDR and AT_ENTRY");
    check(cap->rip != 0 && cap->mm.start_code < cap->mm.end_code, "rip and code range are set");
  }

  auto empty_argv = run(target, {}, &error);
  check(empty_argv && empty_argv->outcome == Capture::Outcome::Stopped,
        "empty argv still reaches the exec trap");

  expect_exec_failure("missing file", "/nonexistent/execmap-smoke", ENOENT);
  expect_exec_failure("directory", "/", EACCES);

  std::string bad_phentsize = write_temp_executable(tiny_elf(0, {}));
  check(!bad_phentsize.empty(), "write temp ELF with e_phentsize 0");
  if (!bad_phentsize.empty()) {
    expect_exec_failure("e_phentsize 0", bad_phentsize, ENOEXEC);
    ::unlink(bad_phentsize.c_str());
  }

  // p_filesz > p_memsz is only noticed after the point of no return: the kernel cannot return
  // an error any more and kills the new image with SIGSEGV instead.
  Elf64_Phdr load{};
  load.p_type = PT_LOAD;
  load.p_flags = PF_R | PF_X;
  load.p_vaddr = load.p_paddr = 0x400000;
  load.p_filesz = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr);
  load.p_memsz = 0x10;
  load.p_align = 0x1000;
  std::string bad_load = write_temp_executable(tiny_elf(sizeof(Elf64_Phdr), {load}));
  check(!bad_load.empty(), "write temp ELF with p_filesz > p_memsz");
  if (!bad_load.empty()) {
    auto killed = run(bad_load, {bad_load}, &error);
    check(killed && killed->outcome == Capture::Outcome::Killed && killed->signal == SIGSEGV,
          "p_filesz > p_memsz -> Killed SIGSEGV" +
              (killed ? " (outcome " + std::to_string(static_cast<int>(killed->outcome)) +
                            ", errno " + std::to_string(killed->exec_errno) + ", signal " +
                            std::to_string(killed->signal) + ")"
                      : " (error: " + error + ")"));
    ::unlink(bad_load.c_str());
  }

  auto timed_out = run(target, {target}, &error, 0);
  check(!timed_out && !error.empty(), "timeout 0 -> nullopt with an error");

  for (int i = 0; i < 50; ++i) run(i % 2 ? target : "/nonexistent", {target}, &error);
  int status = 0;
  check(::waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD, "no child left behind");

  return failures == 0 ? 0 : 1;
}
