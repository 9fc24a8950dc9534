// Ground truth from other kernels: boot a kernel image in qemu with an initramfs whose /init is
// execmap-vm-agent, run capture and run cases inside it, and read the results back.
// The host side of the harness; the guest side is live/vm_agent.cc, the format live/vm_wire.h.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "live/vm_wire.h"

namespace execmap::live {

struct VmConfig {
  std::string kernel;  // a bzImage (Debian's /boot/vmlinuz-*)
  std::string agent;   // the static execmap-vm-agent, installed as /init
  std::string qemu = "qemu-system-x86_64";
  std::string machine = "q35";
  unsigned memory_mib = 1024;
  // KVM guests hang on some hosts, so TCG is the default. Auto uses KVM only when /dev/kvm opens
  // and a short probe boot of the same kernel and agent completes (cached per process).
  enum class Accel { Tcg, Kvm, Auto };
  Accel accel = Accel::Tcg;
  unsigned kvm_probe_timeout_seconds = 30;  // a TCG boot takes ~10 s, a KVM one ~2 s
  // SharedMemory: records go to an ivshmem-plain BAR backed by a host file (fast), overflowing
  // to debugcon. Debugcon: the isa-debugcon port 0xe9 only (no PCI device needed).
  enum class Channel { SharedMemory, Debugcon };
  Channel channel = Channel::SharedMemory;
  uint64_t shared_memory_bytes = 256u << 20;  // a power of two (a PCI BAR); sparse on the host
  // Host paths put into the initramfs at the same absolute path: each symlink on the way as a
  // symlink (followed, so its target is there too), directories as empty directories, regular
  // files with their contents. Each case's cwd is added as well.
  std::vector<std::string> files;
  std::vector<std::string> extra_cmdline;    // appended to the kernel command line
  std::vector<std::string> extra_qemu_args;  // e.g. {"-cpu", "max,+la57"}
  unsigned timeout_seconds = 900;            // wall-clock bound on the whole boot
  std::string work_dir;        // where the initramfs, shared memory and logs go; "" = temp dir
  bool keep_work_dir = false;  // keep a temp work_dir (for debugging)
};

struct VmReport {
  bool have_facts = false;
  VmFacts facts;
  std::vector<VmCaptureResult> captures;  // in case order, repeats in order
  std::vector<VmRunResult> runs;
  std::vector<std::string> logs;  // Log records from the agent
  VmDone done;
  std::string accel;                   // "tcg" or "kvm": what was used
  std::string accel_why;               // why (for Auto: the probe's outcome)
  std::vector<std::string> qemu_argv;  // the command that ran
  std::string console;                 // the serial console (kernel messages), last 64 KiB
  // Timings on the host's wall clock: from starting qemu to the Facts record (firmware, kernel
  // and agent start-up), from there to qemu's exit (the cases and the power-off), and in all.
  double boot_seconds = 0, cases_seconds = 0, wall_seconds = 0;
  double initramfs_seconds = 0;
  uint64_t initramfs_bytes = 0;
  uint64_t shared_memory_used = 0, debugcon_bytes = 0;  // framed bytes each channel carried
  size_t damaged_frames = 0;
};

// Boots cfg.kernel once and runs every case. Returns false with *err when the VM could not be
// run or did not report every case (the report then holds what did arrive, and the console).
// A case whose capture failed inside the guest is not an error here: its result says so.
bool run_in_vm(const VmConfig& cfg, const std::vector<VmCase>& cases, VmReport* out,
               std::string* err);

// "tcg" or "kvm" for cfg.accel (Auto probes once per process); *why says what decided.
std::string resolve_accel(const VmConfig& cfg, std::string* why);

// A program by name in PATH, or a path as given when it is an executable file; "" otherwise.
std::string find_program(const std::string& name);

// Where the static guest agent is: $EXECMAP_VM_AGENT, else execmap-vm-agent next to this
// executable (the build directory), else ../libexec/execmap/ from it (an installed tree).
// "" when none is an executable file.
std::string find_vm_agent();

// The kernel release string of a bzImage ("6.1.0-50-amd64"), read from the setup header:
// kernel_version (offset 0x20e) points, relative to 0x200, at "RELEASE (builder) #1 ...".
// Documentation/arch/x86/boot.rst. nullopt with *err when the file is no bzImage.
std::optional<std::string> bzimage_release(const std::string& image, std::string* err);

// An uncompressed "newc" cpio archive, the format the kernel unpacks into rootfs
// (init/initramfs.c; Documentation/driver-api/early-userspace/buffer-format.rst).
class CpioWriter {
 public:
  explicit CpioWriter(std::FILE* out) : out_(out) {}
  bool add_dir(const std::string& path, uint32_t mode);
  bool add_file(const std::string& path, uint32_t mode, const std::string& data);
  bool add_symlink(const std::string& path, const std::string& target);
  bool add_char_device(const std::string& path, uint32_t mode, uint32_t major, uint32_t minor);
  // Copies a host path as described at VmConfig::files; parents first, each entry once.
  bool add_host_path(const std::string& path, std::string* err);
  bool finish();  // the TRAILER!!! entry; false if any write failed
  uint64_t bytes() const { return bytes_; }

 private:
  bool header(const std::string& path, uint32_t mode, uint64_t size, uint32_t rdev_major,
              uint32_t rdev_minor);
  bool write(const void* data, size_t size);
  bool pad();
  bool add_host_path_at(const std::string& path, int depth, std::string* err);
  bool add_host_file(const std::string& path, uint32_t mode, uint64_t size, std::string* err);

  std::FILE* out_;
  uint64_t bytes_ = 0;
  uint32_t next_ino_ = 1;
  bool ok_ = true;
  std::set<std::string> added_;
};

// Writes the initramfs for `cases`: /init, /execmap/cases, the mount points, /dev/console, and
// cfg.files plus every case's cwd.
bool write_initramfs(const std::string& path, const VmConfig& cfg,
                     const std::vector<VmCase>& cases, uint64_t* bytes, std::string* err);

}  // namespace execmap::live
