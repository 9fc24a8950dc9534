// Live check of CaptureRequest::stop_at_entry: a dynamic program stops at AT_ENTRY with its
// libraries mapped, a static one at its first instruction, a missing library is an exit before
// the entry. Plain main(): exits 0 on success, 1 on failure, 77 to skip without ptrace.
#include <elf.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
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

// Writes `bytes` to a fresh executable file under TMPDIR; returns its path or "" on failure.
std::string write_temp_executable(const std::vector<uint8_t>& bytes) {
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir && *dir ? dir : "/tmp") + "/execmap_entry_XXXXXX";
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

// A static ET_EXEC whose entry, deliberately not 8-byte aligned, is exit(0).
std::vector<uint8_t> static_exit_elf(uint64_t* e_entry) {
  const uint8_t code[] = {0x90, 0x90, 0x90,                    // nop padding
                          0xb8, 0x3c, 0x00, 0x00, 0x00,        // mov $60, %eax (exit)
                          0x31, 0xff,                          // xor %edi, %edi
                          0x0f, 0x05};                         // syscall
  const uint64_t base = 0x400000, code_off = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr);
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_EXEC;
  eh.e_machine = EM_X86_64;
  eh.e_version = EV_CURRENT;
  eh.e_entry = *e_entry = base + code_off + 3;
  eh.e_phoff = sizeof(Elf64_Ehdr);
  eh.e_ehsize = sizeof(Elf64_Ehdr);
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = 1;
  Elf64_Phdr load{};
  load.p_type = PT_LOAD;
  load.p_flags = PF_R | PF_X;
  load.p_vaddr = load.p_paddr = base;
  load.p_filesz = load.p_memsz = code_off + sizeof code;
  load.p_align = 0x1000;
  std::vector<uint8_t> out(code_off + sizeof code);
  std::memcpy(out.data(), &eh, sizeof eh);
  std::memcpy(out.data() + sizeof eh, &load, sizeof load);
  std::memcpy(out.data() + code_off, code, sizeof code);
  return out;
}

std::optional<Capture> run(const std::string& path, bool at_entry, std::string* error) {
  CaptureRequest req;
  req.path = path;
  req.argv = {path};
  req.envp = {"LANG=C"};
  req.stop_at_entry = at_entry;
  return execmap::live::capture_at_exec(req, error);
}

uint64_t auxv_value(const Capture& cap, uint64_t type) {
  for (const auto& a : cap.auxv)
    if (a.first == type) return a.second;
  return 0;
}

}  // namespace

int main() {
  std::string why;
  if (!execmap::live::ptrace_available(&why)) {
    std::printf("skip: %s\n", why.c_str());
    return 77;
  }

  // Dynamic: at the exec trap only ld.so is mapped; at the entry libc is too, and ld.so has
  // handed over the very stack the kernel built.
  const std::string target = ::access("/usr/bin/true", X_OK) == 0 ? "/usr/bin/true" : "/bin/true";
  std::string error;
  auto trap = run(target, /*at_entry=*/false, &error);
  auto entry = run(target, /*at_entry=*/true, &error);
  check(trap && trap->outcome == Capture::Outcome::Stopped && !trap->at_entry,
        "exec trap of " + target + " " + error);
  check(entry && entry->outcome == Capture::Outcome::Stopped && entry->at_entry,
        "entry of " + target + " " + error);
  if (trap && entry && trap->outcome == Capture::Outcome::Stopped &&
      entry->outcome == Capture::Outcome::Stopped) {
    check(trap->maps.find("/libc.so") == std::string::npos, "no libc mapped at the exec trap");
    check(entry->maps.find("/libc.so") != std::string::npos, "libc mapped at the entry");
    check(entry->rip == auxv_value(*entry, AT_ENTRY) && trap->rip != entry->rip,
          "rip == AT_ENTRY at the entry only");
    check(entry->rsp == trap->rsp && entry->stack_end == trap->stack_end,
          "same rsp and stack end at both stops");
  }

  // Static: the entry is the first instruction, so both stops see the same address space.
  uint64_t e_entry = 0;
  std::string static_path = write_temp_executable(static_exit_elf(&e_entry));
  check(!static_path.empty(), "write a static temp ELF");
  if (!static_path.empty()) {
    auto s_trap = run(static_path, /*at_entry=*/false, &error);
    auto s_entry = run(static_path, /*at_entry=*/true, &error);
    check(s_entry && s_entry->outcome == Capture::Outcome::Stopped && s_entry->at_entry &&
              s_entry->rip == e_entry,
          "static program stops at its unaligned entry " + error);
    check(s_trap && s_entry && s_trap->maps == s_entry->maps && s_trap->rsp == s_entry->rsp,
          "static program: entry maps == exec-trap maps");
    ::unlink(static_path.c_str());
  }

  // Missing library: rename the DT_NEEDED libc.so.6 in a copy; ld.so exits 127 (its "error
  // while loading shared libraries" line on stderr is expected).
  std::ifstream in(target, std::ios::binary);
  std::string image((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string needed("libc.so.6\0", 10);
  size_t renamed = 0;
  for (size_t at = image.find(needed); at != std::string::npos; at = image.find(needed, at + 1)) {
    image[at + 3] = 'Q';
    ++renamed;
  }
  std::string missing_path =
      renamed ? write_temp_executable(std::vector<uint8_t>(image.begin(), image.end())) : "";
  check(!missing_path.empty(), "write a copy of " + target + " that needs libQ.so.6");
  if (!missing_path.empty()) {
    auto missing = run(missing_path, /*at_entry=*/true, &error);
    check(missing && missing->outcome == Capture::Outcome::ExitedBeforeEntry &&
              missing->exit_status == 127,
          "missing library -> ExitedBeforeEntry 127" +
              (missing ? " (outcome " + std::to_string(static_cast<int>(missing->outcome)) +
                             ", status " + std::to_string(missing->exit_status) + ")"
                       : " (error: " + error + ")"));
    ::unlink(missing_path.c_str());
  }

  int status = 0;
  check(::waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD, "no child left behind");
  return failures == 0 ? 0 : 1;
}
