// Parser for the memory-operation scripts of `layout --ops` and `step --ops`.
#include "cli/ops.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "util/format.h"

namespace execmap::cli {
namespace {

bool parse_num(const std::string& s, uint64_t* out) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(s.c_str(), &end, 0);
  if (errno || *end || s[0] == '-') return false;
  *out = v;
  return true;
}

// ADDR, $K, $K+OFF or $K-OFF.
bool parse_addr(const std::string& s, int mmaps_so_far, sim::AddrExpr* out) {
  if (s.empty()) return false;
  if (s[0] != '$') return parse_num(s, &out->value);
  size_t sign = s.find_first_of("+-", 1);
  uint64_t k;
  if (!parse_num(s.substr(1, sign == std::string::npos ? std::string::npos : sign - 1), &k))
    return false;
  if (k < 1 || k > uint64_t(mmaps_so_far)) return false;
  out->ref = int(k);
  if (sign != std::string::npos) {
    uint64_t off;
    if (!parse_num(s.substr(sign + 1), &off)) return false;
    out->offset = s[sign] == '+' ? int64_t(off) : -int64_t(off);
  }
  return true;
}

}  // namespace

bool parse_ops_file(const std::string& path, sim::ExecResult& r, std::vector<sim::MemOp>* ops,
                    std::string* err) {
  std::ifstream in(path);
  if (!in) {
    *err = "cannot read --ops file " + path;
    return false;
  }
  std::string dir = ".";
  if (size_t s = path.rfind('/'); s != std::string::npos) dir = path.substr(0, s ? s : 1);
  std::string line;
  int lineno = 0, mmaps = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::string text = line.substr(0, line.find('#'));
    std::istringstream ws(text);
    std::vector<std::string> w;
    for (std::string t; ws >> t;) w.push_back(t);
    if (w.empty()) continue;
    auto bad = [&](const std::string& why) {
      *err = path + ":" + std::to_string(lineno) + ": " + why;
      return false;
    };
    sim::MemOp op;
    op.line = lineno;
    op.text = text.substr(0, text.find_last_not_of(" \t") + 1);
    if (w[0] == "brk") {
      if (w.size() != 2) return bad("expected: brk +N | brk -N | brk ADDR");
      uint64_t n;
      if (w[1][0] == '+' || w[1][0] == '-') {
        if (!parse_num(w[1].substr(1), &n)) return bad("bad number " + w[1]);
        op.kind = sim::MemOp::Kind::BrkRelative;
        op.delta = w[1][0] == '+' ? int64_t(n) : -int64_t(n);
      } else {
        op.kind = sim::MemOp::Kind::BrkAbsolute;
        if (!parse_addr(w[1], mmaps, &op.addr)) return bad("bad address " + w[1]);
      }
    } else if (w[0] == "mmap") {
      op.kind = sim::MemOp::Kind::Mmap;
      if (w.size() < 3 || !parse_num(w[1], &op.len) || !util::parse_rwx(w[2], &op.prot))
        return bad("expected: mmap LEN PROT [anon | FILE OFF] [private|shared] [at ADDR] "
                   "[fixed|noreplace]");
      size_t i = 3;
      if (i < w.size() && w[i] == "anon") {
        ++i;
      } else if (i < w.size() && w[i] != "private" && w[i] != "shared" && w[i] != "at" &&
                 w[i] != "fixed" && w[i] != "noreplace") {
        if (i + 1 >= w.size() || !parse_num(w[i + 1], &op.offset))
          return bad("a file mapping needs FILE OFF");
        std::string fpath = w[i][0] == '/' ? w[i] : dir + "/" + w[i];
        struct stat st;
        if (::stat(fpath.c_str(), &st) != 0) {
          op.open_errno = errno;
        } else if (!S_ISREG(st.st_mode)) {
          op.open_errno = ENODEV;
        } else {
          char* real = ::realpath(fpath.c_str(), nullptr);
          r.files.push_back({major(st.st_dev), minor(st.st_dev), uint64_t(st.st_ino),
                             real ? real : fpath});
          std::free(real);
          op.file = int(r.files.size() - 1);
        }
        i += 2;
      }
      for (; i < w.size(); ++i) {
        if (w[i] == "private") op.shared = false;
        else if (w[i] == "shared") op.shared = true;
        else if (w[i] == "fixed") op.placement = sim::MemOp::Placement::Fixed;
        else if (w[i] == "noreplace") op.placement = sim::MemOp::Placement::Noreplace;
        else if (w[i] == "at" && i + 1 < w.size()) {
          if (!parse_addr(w[++i], mmaps, &op.addr)) return bad("bad address " + w[i]);
          op.has_addr = true;
        } else {
          return bad("unexpected word '" + w[i] + "'");
        }
      }
      if (op.shared && op.file < 0 && !op.open_errno)
        return bad("shared anonymous mappings (shmem) are not modelled");
      ++mmaps;
    } else if (w[0] == "munmap" || w[0] == "mprotect") {
      bool prot = w[0] == "mprotect";
      op.kind = prot ? sim::MemOp::Kind::Mprotect : sim::MemOp::Kind::Munmap;
      if (w.size() != (prot ? 4u : 3u) || !parse_addr(w[1], mmaps, &op.addr) ||
          !parse_num(w[2], &op.len) || (prot && !util::parse_rwx(w[3], &op.prot)))
        return bad(prot ? "expected: mprotect ADDR LEN PROT" : "expected: munmap ADDR LEN");
    } else {
      return bad("unknown operation '" + w[0] + "'");
    }
    ops->push_back(op);
  }
  return true;
}

}  // namespace execmap::cli
