// The files ld.so opens while it resolves dependencies (open(2) O_RDONLY, not open_exec):
// shared objects, /etc/ld.so.cache and /etc/ld.so.preload. The resolver (sim/rtld.h) reads
// only through this interface, so tests can hand it in-memory files.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "loader/exec_file.h"

namespace execmap::loader {

class LibraryFiles {
 public:
  virtual ~LibraryFiles() = default;
  // open(path, O_RDONLY) as rtld's open_verify() does it: the file, or nullptr with *err set.
  // identity().path is the canonical path (d_path), identity() carries dev and inode.
  virtual std::unique_ptr<ExecFile> open_library(const std::string& path, int* err) const = 0;
  // _dl_sysdep_read_whole_file() / the preload file: at most max bytes; false when absent.
  virtual bool read_whole(const std::string& path, uint64_t max,
                          std::vector<uint8_t>* out) const = 0;
};

// The real file system of this machine.
class HostLibraryFiles final : public LibraryFiles {
 public:
  std::unique_ptr<ExecFile> open_library(const std::string& path, int* err) const override;
  bool read_whole(const std::string& path, uint64_t max,
                  std::vector<uint8_t>* out) const override;
};

}  // namespace execmap::loader
