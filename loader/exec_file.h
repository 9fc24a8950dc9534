// The files an exec opens, as the simulation sees them: identity (for /proc/PID/maps) and
// bounded reads. The simulation only ever reads through this interface, so tests can hand it
// in-memory files and the host implementation can enforce the bounds.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace execmap::loader {

struct FileIdentity {
  uint32_t dev_major = 0, dev_minor = 0;
  uint64_t inode = 0;
  std::string path;  // canonical absolute path, as d_path() prints it in /proc/PID/maps
  uint32_t mode = 0;          // st_mode: the set-user/group-ID bits matter to exec
  uint32_t uid = 0, gid = 0;  // st_uid, st_gid: the new euid/egid of a set-ID exec
  bool nosuid_mount = false;  // on a nosuid mount (mnt_may_suid() is false)
};

class ExecFile {
 public:
  virtual ~ExecFile() = default;
  virtual const FileIdentity& identity() const = 0;
  virtual uint64_t size() const = 0;
  // Reads up to len bytes at off. Returns the count read (short at end of file) or -errno.
  virtual int64_t read_at(uint64_t off, void* out, uint64_t len) const = 0;
};

// What open_exec() (fs/exec.c do_open_execat) answers for a path.
struct OpenResult {
  int err = 0;               // the kernel's errno, 0 on success
  std::string why;           // one line explaining err
  std::string check;         // the kernel rule that refuses (empty: the path lookup itself)
  bool unreadable = false;   // the kernel would open it, but execmap cannot read it
  std::unique_ptr<ExecFile> file;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  virtual OpenResult open_exec(const std::string& path) const = 0;
};

// Opens a regular file read-only and non-blocking (a FIFO or device never blocks) and
// describes it as the kernel would: dev, inode, canonical path. Returns nullptr with *err
// (errno; EISDIR or EACCES for something that is not a regular file).
std::unique_ptr<ExecFile> open_host_file(const std::string& path, int* err);

// The real file system of this machine.
class HostFileSystem final : public FileSystem {
 public:
  OpenResult open_exec(const std::string& path) const override;
};

}  // namespace execmap::loader
