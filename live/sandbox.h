// The sandbox untrusted submissions run in (grade --loader, verify --stage start): fresh
// namespaces, a read-only view of the files they need, an unprivileged uid without
// capabilities, a seccomp filter and rlimits; or, where namespaces are refused (Docker's default
// seccomp profile), a chroot into a prepared tree as an unprivileged uid, as root.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace execmap::live {

enum class SandboxLevel {
  None,        // --no-sandbox: rlimits and tracing only
  Chroot,      // root without namespaces: chroot into a prepared tree, setuid, seccomp, rlimits
  Namespaces,  // user, PID, mount, network, IPC and UTS namespaces, seccomp, rlimits
};
const char* sandbox_level_name(SandboxLevel level);

struct SandboxSpec {
  bool enabled = true;
  // Absolute paths the submission may read and run: each is bound (or copied) read-only at
  // that path. Callers list both the path as named and its canonical path.
  std::vector<std::string> files;
  // Paths as named (through a symlink) -> their canonical path: a symlink inside, so what the
  // submission opens by either name is the one bound file /proc/PID/maps shows canonically.
  std::vector<std::pair<std::string, std::string>> links;
  std::string cwd;                       // absolute; created (read-only) and entered
  uint64_t scratch_bytes = 64ull << 20;  // the one writable tmpfs, at /tmp
  uint32_t uid = 65534, gid = 65534;     // the unprivileged ids the submission runs as (root)
  bool allow_namespaces = true;          // false: the fallback (a test forces it so)
};

// What was in force for one run, for every output.
struct SandboxState {
  SandboxLevel level = SandboxLevel::None;
  std::string detail;
};

// One run's sandbox. The parent prepares everything that allocates (descriptors, the seccomp
// program, the fallback tree) before the fork, so the child only makes async-signal-safe calls.
class Sandbox {
 public:
  explicit Sandbox(const SandboxSpec& spec) : spec_(spec) {}
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  // fork() in the strongest level that can be built: returns 0 in the child, set up but for
  // enter(); the child's pid in the parent; -1 with *error when no level can be built (or
  // fork failed). With spec.enabled false, a plain fork.
  pid_t spawn(std::string* error);
  // In the child, just before execve (after PTRACE_TRACEME): no_new_privs, no capabilities,
  // the seccomp filter. Returns 0, or the errno of the failed step, named in *step.
  int enter(const char** step);
  // After the child's exec stop or death: why its setup failed, if it did ("" otherwise).
  std::string child_failure();
  const SandboxState& state() const { return state_; }
  // Where the submission's root lies in the grader's view: the chroot tree, or "".
  const std::string& host_prefix() const { return chroot_dir_; }

 private:
  bool prepare(std::string* error);
  bool prepare_chroot_tree(std::string* error);
  pid_t spawn_namespaces(std::string* why_not);
  pid_t spawn_chroot(std::string* error);
  int setup_namespaces_child(const char** step);
  int setup_chroot_child(const char** step);
  void child_fail(const char* step, int err);
  std::string try_cgroup(pid_t child);

  SandboxSpec spec_;
  SandboxState state_;
  std::vector<int> file_fds_;        // O_PATH descriptors of spec_.files
  std::vector<unsigned long> remount_flags_;  // per file: ro plus the source's locked flags
  std::vector<std::string> dirs_;    // every directory to create inside, parents first
  std::string scratch_opts_, proc_path_;
  std::vector<unsigned char> bpf_;   // the exported seccomp program
  std::string chroot_dir_;           // the fallback's prepared tree (removed by the destructor)
  std::string cgroup_dir_;
  int report_fd_[2] = {-1, -1};      // child -> parent: the step that failed and its errno
  int go_fd_[2] = {-1, -1};          // parent -> child: the id maps and the cgroup are set
  bool root_ = false;
};

// The system calls the seccomp filter refuses, one per line with the reason (README, --help).
std::string sandbox_refused_calls();

}  // namespace execmap::live
