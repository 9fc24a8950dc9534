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

std::unique_ptr<ExecFile> HostLibraryFiles::open_library(const std::string& path,
                                                         int* err) const {
  *err = 0;
  if (path.size() >= PATH_MAX) {
    *err = ENAMETOOLONG;
    return nullptr;
  }
  // rtld opens "" + name for an empty search-path element: relative to the cwd. A directory
  // or device fails open_verify()'s header read.
  return open_host_file(path, err);
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
