// LibraryFiles against the real file system: plain read-only opens, non-blocking so that a
// FIFO named in a search path never blocks, and only regular files count as found.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

#include "loader/lib_files.h"

namespace execmap::loader {
namespace {

class HostLibFile final : public ExecFile {
 public:
  HostLibFile(int fd, FileIdentity id, uint64_t size) : fd_(fd), id_(std::move(id)), size_(size) {}
  ~HostLibFile() override { ::close(fd_); }
  const FileIdentity& identity() const override { return id_; }
  uint64_t size() const override { return size_; }
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

}  // namespace

std::unique_ptr<ExecFile> HostLibraryFiles::open_library(const std::string& path,
                                                         int* err) const {
  *err = 0;
  if (path.size() >= PATH_MAX) {
    *err = ENAMETOOLONG;
    return nullptr;
  }
  // rtld opens "" + name for an empty search-path element: relative to the cwd.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    *err = errno;
    return nullptr;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    // open_verify() reads the ELF header; a directory or device fails that read.
    ::close(fd);
    *err = S_ISDIR(st.st_mode) ? EISDIR : EACCES;
    return nullptr;
  }
  FileIdentity id;
  id.dev_major = major(st.st_dev);
  id.dev_minor = minor(st.st_dev);
  id.inode = st.st_ino;
  char* real = ::realpath(path.c_str(), nullptr);
  id.path = real ? real : path;
  std::free(real);
  return std::make_unique<HostLibFile>(fd, std::move(id), uint64_t(st.st_size));
}

bool HostLibraryFiles::read_whole(const std::string& path, uint64_t max,
                                  std::vector<uint8_t>* out) const {
  out->clear();
  int err = 0;
  std::unique_ptr<ExecFile> f = open_library(path, &err);
  if (!f) return false;
  uint64_t n = f->size() < max ? f->size() : max;
  out->resize(n);
  int64_t got = f->read_at(0, out->data(), n);
  if (got < 0) return false;
  out->resize(uint64_t(got));
  return true;
}

}  // namespace execmap::loader
