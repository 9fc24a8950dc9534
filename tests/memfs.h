// An in-memory FileSystem for tests: files are byte vectors with a chosen identity, and
// open_exec() answers with a chosen errno where a test asks for one.
#pragma once

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "loader/exec_file.h"

namespace execmap::testing {

class MemFile final : public loader::ExecFile {
 public:
  MemFile(std::vector<uint8_t> bytes, loader::FileIdentity id)
      : bytes_(std::move(bytes)), id_(std::move(id)) {}
  const loader::FileIdentity& identity() const override { return id_; }
  uint64_t size() const override { return bytes_.size(); }
  int64_t read_at(uint64_t off, void* out, uint64_t len) const override {
    if (off >= bytes_.size()) return 0;
    uint64_t n = std::min<uint64_t>(len, bytes_.size() - off);
    std::memcpy(out, bytes_.data() + off, n);
    return static_cast<int64_t>(n);
  }

 private:
  std::vector<uint8_t> bytes_;
  loader::FileIdentity id_;
};

class MemFs final : public loader::FileSystem {
 public:
  void add(const std::string& path, std::vector<uint8_t> bytes) {
    files_[path] = std::move(bytes);
  }
  void fail(const std::string& path, int err) { errors_[path] = err; }
  loader::OpenResult open_exec(const std::string& path) const override {
    loader::OpenResult r;
    auto e = errors_.find(path);
    if (e != errors_.end()) {
      r.err = e->second;
      r.why = std::strerror(e->second);
      return r;
    }
    auto it = files_.find(path);
    if (it == files_.end()) {
      r.err = ENOENT;
      r.why = "No such file or directory";
      return r;
    }
    loader::FileIdentity id{0xfe, 0, 1000 + uint64_t(std::distance(files_.begin(), it)), path};
    r.file = std::make_unique<MemFile>(it->second, id);
    return r;
  }

 private:
  std::map<std::string, std::vector<uint8_t>> files_;
  std::map<std::string, int> errors_;
};

// A minimal x86_64 ELF image: header, program headers right after it, optional PT_INTERP
// string, padded to `size` bytes.
struct ElfSpec {
  uint16_t e_type = 2, e_machine = 62, e_phentsize = 56;
  uint64_t e_entry = 0x401000, e_phoff = 64;
  struct Ph {
    uint32_t type, flags;
    uint64_t offset, vaddr, filesz, memsz, align;
  };
  std::vector<Ph> phdrs;
  int e_phnum = -1;  // -1: phdrs.size()
  std::vector<std::pair<uint64_t, std::string>> blobs;  // bytes placed at file offsets
  uint64_t size = 0x2000;
};

inline void put_le(std::vector<uint8_t>& b, uint64_t off, uint64_t v, int n) {
  if (b.size() < off + n) b.resize(off + n, 0);
  for (int i = 0; i < n; ++i) b[off + i] = uint8_t(v >> (8 * i));
}

inline std::vector<uint8_t> build_elf(const ElfSpec& s) {
  std::vector<uint8_t> b(s.size, 0);
  const uint8_t ident[16] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
  std::memcpy(b.data(), ident, 16);
  put_le(b, 16, s.e_type, 2);
  put_le(b, 18, s.e_machine, 2);
  put_le(b, 20, 1, 4);
  put_le(b, 24, s.e_entry, 8);
  put_le(b, 32, s.e_phoff, 8);
  put_le(b, 52, 64, 2);
  put_le(b, 54, s.e_phentsize, 2);
  put_le(b, 56, s.e_phnum < 0 ? s.phdrs.size() : uint64_t(s.e_phnum), 2);
  // A table placed absurdly far away is simply not written (the file stays small).
  for (size_t i = 0; i < s.phdrs.size() && s.e_phoff < (1u << 24); ++i) {
    uint64_t o = s.e_phoff + 56 * i;
    const auto& p = s.phdrs[i];
    put_le(b, o, p.type, 4);
    put_le(b, o + 4, p.flags, 4);
    put_le(b, o + 8, p.offset, 8);
    put_le(b, o + 16, p.vaddr, 8);
    put_le(b, o + 24, p.vaddr, 8);
    put_le(b, o + 32, p.filesz, 8);
    put_le(b, o + 40, p.memsz, 8);
    put_le(b, o + 48, p.align, 8);
  }
  for (const auto& [off, bytes] : s.blobs) {
    if (b.size() < off + bytes.size()) b.resize(off + bytes.size(), 0);
    std::memcpy(b.data() + off, bytes.data(), bytes.size());
  }
  return b;
}

// A static ET_EXEC with one R+X segment holding the headers and one RW segment with bss.
inline ElfSpec tiny_static_spec() {
  ElfSpec s;
  s.phdrs = {{1, 5, 0, 0x400000, 0x1000, 0x1000, 0x1000},
             {1, 6, 0x1000, 0x401000, 0x100, 0x3000, 0x1000},
             {0x6474e551, 6, 0, 0, 0, 0, 16}};
  return s;
}

}  // namespace execmap::testing
