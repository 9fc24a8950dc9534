// open_exec() against the real file system: the kernel's checks (do_open_execat) first, then a
// non-blocking read-only open so that FIFOs, devices and sockets never block or stream.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "loader/exec_file.h"

namespace execmap::loader {
namespace {

class HostFile final : public ExecFile {
 public:
  HostFile(int fd, FileIdentity id, uint64_t size) : fd_(fd), id_(std::move(id)), size_(size) {}
  ~HostFile() override { ::close(fd_); }
  const FileIdentity& identity() const override { return id_; }
  uint64_t size() const override { return size_; }
  int fd() const { return fd_; }
  int64_t read_at(uint64_t off, void* out, uint64_t len) const override {
    if (off >= size_) return 0;
    if (len > size_ - off) len = size_ - off;
    uint64_t done = 0;
    while (done < len) {
      ssize_t n = ::pread(fd_, static_cast<char*>(out) + done, len - done,
                          static_cast<off_t>(off + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return -errno;
      }
      if (n == 0) break;
      done += static_cast<uint64_t>(n);
    }
    return static_cast<int64_t>(done);
  }

 private:
  int fd_;
  FileIdentity id_;
  uint64_t size_;
};

OpenResult fail(int err, std::string why, std::string check = "") {
  OpenResult r;
  r.err = err;
  r.why = std::move(why);
  r.check = std::move(check);
  return r;
}

std::unique_ptr<HostFile> open_host(const std::string& path, int* err) {
  *err = 0;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    *err = errno;
    return nullptr;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    *err = S_ISDIR(st.st_mode) ? EISDIR : EACCES;
    return nullptr;
  }
  FileIdentity id;
  id.dev_major = major(st.st_dev);
  id.dev_minor = minor(st.st_dev);
  id.inode = st.st_ino;
  id.mode = st.st_mode;
  id.uid = st.st_uid;
  id.gid = st.st_gid;
  struct statvfs vfs;
  id.nosuid_mount = ::fstatvfs(fd, &vfs) == 0 && (vfs.f_flag & ST_NOSUID);
  char* real = ::realpath(path.c_str(), nullptr);
  id.path = real ? real : path;
  std::free(real);
  return std::make_unique<HostFile>(fd, std::move(id), uint64_t(st.st_size));
}

// Whether some process holds the file open for writing (the inode's i_writecount is above 0),
// which makes do_open_execat()'s deny_write_access() fail with ETXTBSY (fs/exec.c; 6.12 and
// later call it exe_file_deny_write_access(), after "Revert "fs: don't block i_writecount
// during exec""). A read lease is refused with EAGAIN exactly then (fs/locks.c
// check_conflicting_open()). A lease needs the file's owner or CAP_LEASE and a file system
// that has leases; without them the answer is "no".
// Asked on the descriptor execmap reads the file through (read-only, as a lease needs).
bool held_open_for_writing(int fd) {
  // A writer that opens the file in the instant the lease is held breaks it; the break is
  // signalled with SIGURG, ignored by default, instead of SIGIO, which would end execmap.
  ::fcntl(fd, F_SETSIG, SIGURG);
  bool busy = false;
  if (::fcntl(fd, F_SETLEASE, F_RDLCK) == 0)
    ::fcntl(fd, F_SETLEASE, F_UNLCK);
  else
    busy = errno == EAGAIN;
  return busy;
}

}  // namespace

std::unique_ptr<ExecFile> open_host_file(const std::string& path, int* err) {
  return open_host(path, err);
}

OpenResult HostFileSystem::open_exec(const std::string& path) const {
  // getname(): an empty name is ENOENT, a name of PATH_MAX or more is ENAMETOOLONG.
  if (path.empty()) return fail(ENOENT, "empty path", "getname");
  if (path.size() >= PATH_MAX) return fail(ENAMETOOLONG, "path longer than PATH_MAX", "getname");
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    int e = errno;
    return fail(e, std::strerror(e), "path lookup");
  }
  // do_open_execat(): only regular files on exec-allowed mounts may be executed.
  if (S_ISDIR(st.st_mode)) return fail(EACCES, "is a directory", "do_open_execat: S_ISREG");
  if (!S_ISREG(st.st_mode)) return fail(EACCES, "not a regular file", "do_open_execat: S_ISREG");
  struct statvfs vfs;
  if (::statvfs(path.c_str(), &vfs) == 0 && (vfs.f_flag & ST_NOEXEC))
    return fail(EACCES, "on a noexec mount", "do_open_execat: path_noexec");
  // may_open(MAY_EXEC): access(2) applies the same rule, including root's "any x bit".
  if (::access(path.c_str(), X_OK) != 0)
    return fail(EACCES, "no execute permission", "may_open: MAY_EXEC");

  int e = 0;
  std::unique_ptr<HostFile> f = open_host(path, &e);
  if (!f && (e == EISDIR || e == EACCES)) {
    struct stat now;
    if (::stat(path.c_str(), &now) == 0 && !S_ISREG(now.st_mode))
      return fail(EACCES, "not a regular file", "do_open_execat: S_ISREG");
  }
  if (!f) {
    OpenResult r = fail(0, std::string("cannot read: ") + std::strerror(e));
    r.unreadable = true;
    return r;
  }
  if (held_open_for_writing(f->fd()))
    return fail(ETXTBSY, "open for writing by a process", "do_open_execat: deny_write_access");
  return OpenResult{0, {}, {}, false, std::move(f)};
}

}  // namespace execmap::loader
