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

// The chroot level's uids: kChrootUidBase + the grader's pid (below 2^31: valid everywhere).
constexpr uint32_t kChrootUidBase = 1u << 30;
uint32_t chroot_level_uid();  // this process's: kChrootUidBase + getpid()

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
  // The unprivileged ids the submission runs as, when the grader is root. In a PID namespace
  // 65534; the chroot level, sharing the host's PID space, takes a uid of its own per run
  // (kChrootUidBase + the grader's pid) so it can signal nothing else.
  uint32_t uid = 65534, gid = 65534;
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
  // /proc/PID/maps of a process in this sandbox as it would read outside it: in the chroot
  // fallback the kernel shows the tree's path before every file and the copies' device and
  // inode; both become the originals' (show_map_vma()'s format, path padded to column 73).
  std::string host_view_maps(const std::string& maps) const;

 private:
  bool prepare(std::string* error);
  bool prepare_chroot_tree(std::string* error);
  pid_t spawn_namespaces(std::string* why_not);
  pid_t spawn_chroot(std::string* error);
  int setup_namespaces_child(const char** step);
  int setup_chroot_child(const char** step);
  void child_fail(const char* step, int err);
  void send_go();
  bool wait_go();
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

// Whether `sig`, delivered to thread `tid` now, would kill its process by the default action
// (no handler, not ignored, and a default of terminate or core). A sandboxed program is its PID
// namespace's init, which ignores such signals (sig_task_ignored(): SIGNAL_UNKILLABLE); the
// tracers apply the verdict a process anywhere else gets.
bool signal_kills_by_default(pid_t tid, int sig);

// The system calls the seccomp filter refuses, one per line with the reason (README, --help).
std::string sandbox_refused_calls();

}  // namespace execmap::live
