// The grading checks: each one compares one part of the loader's hand-over state with what
// load_elf_binary() and create_elf_tables() would have built for PROG.
#include "analysis/grade.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>

#include "loader/elf_defs.h"
#include "loader/sections.h"
#include "util/format.h"
#include "util/maps.h"

namespace execmap::analysis {
namespace {

using namespace elf;  // PT_LOAD, ET_DYN, AT_*: the one table of ELF names
using util::hex;
using util::MapsLine;

constexpr uint64_t kPage = 4096;
uint64_t page_down(uint64_t v) { return v & ~(kPage - 1); }
uint64_t page_up(uint64_t v) { return (v + kPage - 1) & ~(kPage - 1); }

struct CheckDef {
  const char* id;
  const char* name;
  double points;
};

// One table for the checks: report order, default names and points.
const CheckDef kChecks[] = {
    {"loader.no_exec", "The loader loaded PROG itself: no execve() after its own start", 1},
    {"segments.mapped", "Every PT_LOAD is mapped at base + p_vaddr", 2},
    {"segments.permissions", "Segment permissions match p_flags", 2},
    {"segments.size", "Segment mappings have the kernel's page-rounded extent", 1},
    {"segments.contents", "Segment contents equal the file bytes", 2},
    {"segments.bss_zero", "The bss is zero", 2},
    {"segments.no_extra_exec", "No extra executable mappings of PROG", 1},
    {"entry.rip", "Execution starts at base + e_entry", 2},
    {"entry.registers", "The registers the ABI defines are set: %rdx is 0", 1},
    {"stack.aligned", "sp is 16-byte aligned", 2},
    {"stack.writable", "sp lies in a writable mapping", 1},
    {"stack.argc", "argc is right", 1},
    {"stack.argv", "argv strings are right", 2},
    {"stack.envp", "envp strings are right", 2},
    {"stack.null_terminated", "argv and envp are NULL-terminated", 1},
    {"stack.executable", "The stack is executable exactly when PT_GNU_STACK says so", 1},
    {"auxv.phdr", "AT_PHDR is right", 1},
    {"auxv.phent", "AT_PHENT is right", 1},
    {"auxv.phnum", "AT_PHNUM is right", 1},
    {"auxv.pagesz", "AT_PAGESZ is right", 1},
    {"auxv.entry", "AT_ENTRY is right", 1},
    {"auxv.random", "AT_RANDOM points to 16 readable bytes", 1},
    {"auxv.random_fresh", "AT_RANDOM's bytes are random: not all zero, new on each run", 1},
    {"auxv.base", "AT_BASE is 0 for a static program", 1},
    {"auxv.null", "auxv ends with AT_NULL", 1},
    {"auxv.optional", "Optional auxv entries are sane", 1},
    {"auxv.execfn", "AT_EXECFN is PROG as given", 1},
    {"auxv.no_bogus", "No auxv entry the kernel would not give this program", 1},
};

// The most problems a check lists (verdict() prints 8 of them).
constexpr size_t kMaxProblems = 64;

// "r-x" for a PT_LOAD's p_flags.
std::string rwx(uint32_t p_flags) { return util::rwx(elf::prot_from_p_flags(p_flags)); }

// Reads the loader's memory from the stack image and the memory blocks, sorted once so each
// read is a binary search: a hostile stack (a million argv pointers at one long string) must
// not make the checks quadratic.
class Memory {
 public:
  explicit Memory(const GradeInput& in) {
    auto add = [&](uint64_t start, const std::vector<uint8_t>& bytes) {
      if (!bytes.empty()) blocks_.push_back({start, &bytes});
    };
    add(in.sp, in.image);  // first: the stack image wins where blocks overlap
    for (const auto& m : in.memory) add(m.start, m.bytes);
    std::stable_sort(blocks_.begin(), blocks_.end(),
                     [](const Block& x, const Block& y) { return x.start < y.start; });
  }
  // Ranges may span several captured blocks (a file page and the anonymous bss after it).
  std::optional<std::vector<uint8_t>> read(uint64_t addr, uint64_t len) const {
    std::vector<uint8_t> out;
    out.reserve(std::min<uint64_t>(len, 1u << 20));
    while (out.size() < len) {
      const uint64_t at = addr + out.size();
      const Block* b = find(at);
      if (!b) return std::nullopt;
      const uint64_t n = std::min<uint64_t>(len - out.size(), b->bytes->size() - (at - b->start));
      auto it = b->bytes->begin() + static_cast<std::ptrdiff_t>(at - b->start);
      out.insert(out.end(), it, it + static_cast<std::ptrdiff_t>(n));
    }
    return out;
  }
  // A little-endian word of `size' bytes: 8, or 4 for an ia32 PROG's stack.
  std::optional<uint64_t> word(uint64_t addr, unsigned size = 8) const {
    const Block* b = find(addr);
    if (b && b->bytes->size() - (addr - b->start) >= size) {
      uint64_t v = 0;
      std::memcpy(&v, b->bytes->data() + (addr - b->start), size);
      return v;
    }
    auto bytes = read(addr, size);
    if (!bytes) return std::nullopt;
    uint64_t v = 0;
    std::memcpy(&v, bytes->data(), size);
    return v;
  }
  // A NUL-terminated string (at most 128 KiB, MAX_ARG_STRLEN is 32 pages).
  std::optional<std::string> string(uint64_t addr) const {
    std::string s;
    while (s.size() < (128u << 10)) {
      const uint64_t at = addr + s.size();
      const Block* b = find(at);
      if (!b) return std::nullopt;
      const uint8_t* p = b->bytes->data() + (at - b->start);
      const size_t avail = std::min<uint64_t>(b->bytes->size() - (at - b->start), (128u << 10) - s.size());
      const void* nul = std::memchr(p, 0, avail);
      const size_t n = nul ? size_t(static_cast<const uint8_t*>(nul) - p) : avail;
      s.append(reinterpret_cast<const char*>(p), n);
      if (nul) return s;
    }
    return std::nullopt;
  }

 private:
  struct Block {
    uint64_t start;
    const std::vector<uint8_t>* bytes;
  };
  // The block holding addr: the last one starting at or below it, or an earlier one that still
  // covers it (blocks may overlap: the stack image lies inside the stack's mapping).
  const Block* find(uint64_t addr) const {
    auto it = std::upper_bound(blocks_.begin(), blocks_.end(), addr,
                               [](uint64_t a, const Block& b) { return a < b.start; });
    for (int back = 0; it != blocks_.begin() && back < 4; ++back) {
      --it;
      if (addr - it->start < it->bytes->size()) return &*it;
    }
    return nullptr;
  }
  std::vector<Block> blocks_;
};

// A string for a message: escaped, and cut after 200 bytes (a hostile argv may point a
// million entries at one 128 KiB string; the report must stay small).
std::string quote(const std::string& s) {
  constexpr size_t kShown = 200;
  std::string out = "\"";
  for (unsigned char c : s.substr(0, kShown)) {
    if (c < 0x20 || c >= 0x7f) {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out += "\"";
  if (s.size() > kShown) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

class Grader {
 public:
  Grader(const sim::ExecResult& r, const std::vector<uint8_t>& file, const GradeInput& in)
      : r_(r),
        exe_(r.objects[0]),
        file_(file),
        in_(in),
        mem_(in),
        maps_(util::parse_maps(in.maps)) {
    for (const auto& p : exe_.phdrs)
      if (p.p_type == PT_LOAD) loads_.push_back(p);
  }

  GradeReport run() {
    GradeReport g;
    g.program = exe_.id.path;
    g.checks = default_checks();
    find_base(&g.base_note);
    parse_stack();
    for (auto& c : g.checks) grade_one(c);
    return g;
  }

 private:
  bool is_dyn() const { return exe_.ehdr.e_type == ET_DYN; }
  bool is_target(const MapsLine& m) const { return m.path == exe_.id.path; }
  const MapsLine* map_at(uint64_t a) const {
    for (const auto& m : maps_)
      if (m.start <= a && a < m.end) return &m;
    return nullptr;
  }

  void find_base(std::string* note) {
    if (!is_dyn()) {
      base_ = 0;
      *note = "ET_EXEC: loaded at its link address";
      return;
    }
    const auto& first = loads_.front();
    for (const auto& m : maps_)
      if (is_target(m) && m.offset == page_down(first.p_offset) &&
          m.start >= page_down(first.p_vaddr)) {
        base_ = m.start - page_down(first.p_vaddr);
        *note = "ET_DYN: base " + hex(base_) + " from the mapping of file offset " +
                hex(page_down(first.p_offset));
        return;
      }
    if (in_.rip >= exe_.ehdr.e_entry && page_down(in_.rip - exe_.ehdr.e_entry) ==
                                            in_.rip - exe_.ehdr.e_entry) {
      base_ = in_.rip - exe_.ehdr.e_entry;
      *note = "ET_DYN: no file mapping of PROG; base " + hex(base_) + " inferred from rip";
      return;
    }
    base_ = 0;
    *note = "ET_DYN: no mapping of PROG found; base unknown";
  }

  std::string seg_label(size_t i) {
    if (sections_.empty() && !sections_tried_) {
      sections_tried_ = true;
      sections_ = read_sections();
    }
    const auto& p = loads_[i];
    std::string name;
    for (const auto& s : sections_)
      if (s.size && s.addr >= p.p_vaddr && s.addr < p.p_vaddr + p.p_memsz) {
        name = s.name;
        break;
      }
    return "segment " + std::to_string(i) + " (" + (name.empty() ? "" : name + ", ") +
           "p_vaddr " + hex(p.p_vaddr) + ")";
  }

  std::vector<loader::Section> read_sections() {
    struct Bytes : loader::ExecFile {
      const std::vector<uint8_t>& b;
      loader::FileIdentity id;
      explicit Bytes(const std::vector<uint8_t>& bytes) : b(bytes) {}
      const loader::FileIdentity& identity() const override { return id; }
      uint64_t size() const override { return b.size(); }
      int64_t read_at(uint64_t off, void* out, uint64_t len) const override {
        if (off >= b.size()) return 0;
        uint64_t n = std::min<uint64_t>(len, b.size() - off);
        std::memcpy(out, b.data() + off, n);
        return static_cast<int64_t>(n);
      }
    } f(file_);
    std::string why;
    return loader::read_alloc_sections(f, &why);
  }

  // The permission the kernel leaves on a page: the last PT_LOAD mapped over it wins.
  std::optional<std::string> expected_perm(uint64_t page) const {
    std::optional<std::string> p;
    for (const auto& l : loads_)
      if (page >= page_down(base_ + l.p_vaddr) && page < page_up(base_ + l.p_vaddr + l.p_memsz))
        p = rwx(l.p_flags);
    return p;
  }

  void parse_stack() {
    // The initial stack's words are the program's: 4 bytes for ia32 (create_elf_tables()
    // with the compat elf_addr_t), 8 otherwise.
    const unsigned size = exe_.ehdr.cls == elf::ElfClass::Elf32 ? 4 : 8;
    word_ = size;
    auto w = [&](uint64_t i) { return mem_.word(in_.sp + size * i, size); };
    auto argc = w(0);
    if (!argc) return;
    stack_ok_ = true;
    argc_ = *argc;
    // Located as glibc's start code does: argc is an int (x86_64's _start pops the word and
    // __libc_start_main takes its low 32 bits), argv follows it, envp = &argv[argc + 1]
    // whatever argv[argc] holds, and the auxv follows envp's NULL.
    const uint64_t n = argc_ & 0xffffffffu;
    uint64_t i = 1;
    for (uint64_t k = 0; k < n && k < (1u << 20); ++k, ++i) {
      auto p = w(i);
      if (!p) { stack_ok_ = false; return; }
      argv_.push_back(*p);
    }
    auto term = w(i++);
    argv_null_ = term && *term == 0;
    if (!term) return;
    envp_found_ = true;
    for (;;) {
      auto p = w(i++);
      if (!p) return;
      if (*p == 0) break;
      envp_.push_back(*p);
    }
    envp_null_ = true;
    for (;;) {
      auto t = w(i), v = w(i + 1);
      i += 2;
      if (!t || !v) return;
      if (*t == AT_NULL) {
        auxv_null_ = true;
        return;
      }
      auxv_.emplace_back(*t, *v);
    }
  }

  std::optional<std::vector<uint8_t>> random_bytes() const {
    auto v = aux(AT_RANDOM);
    if (!v) return std::nullopt;
    return mem_.read(*v, 16);
  }
  static std::string hexbytes(const std::vector<uint8_t>& b) {
    static const char d[] = "0123456789abcdef";
    std::string s;
    for (uint8_t x : b) {
      s.push_back(d[x >> 4]);
      s.push_back(d[x & 15]);
    }
    return s;
  }

 public:
  // For at_random_bytes(): the stack parsed, then the bytes.
  std::optional<std::vector<uint8_t>> parse_and_read_random() {
    parse_stack();
    if (!envp_null_) return std::nullopt;
    return random_bytes();
  }

 private:
  std::optional<uint64_t> aux(uint64_t type) const {
    for (const auto& [t, v] : auxv_)
      if (t == type) return v;
    return std::nullopt;
  }

  void pass(CheckResult& c, const std::string& out) {
    c.status = CheckResult::Status::Passed;
    c.output = out;
  }
  void fail(CheckResult& c, const std::string& out) {
    c.status = CheckResult::Status::Failed;
    c.output = out;
  }
  void skip(CheckResult& c, const std::string& out) {
    c.status = CheckResult::Status::Skipped;
    c.output = out;
  }
  void verdict(CheckResult& c, const std::vector<std::string>& problems, const std::string& ok) {
    if (problems.empty()) return pass(c, ok);
    std::string s;
    for (size_t i = 0; i < problems.size() && i < 8; ++i) s += (i ? "\n" : "") + problems[i];
    if (problems.size() > 8) s += "\n... and " + std::to_string(problems.size() - 8) + " more";
    fail(c, s);
  }

  void grade_one(CheckResult& c) {
    std::vector<std::string> bad;
    const std::string& id = c.id;
    if (id == "segments.mapped" || id == "segments.permissions") {
      for (size_t i = 0; i < loads_.size(); ++i) {
        const auto& l = loads_[i];
        std::string want = rwx(l.p_flags);
        for (uint64_t pg = page_down(base_ + l.p_vaddr); pg < page_up(base_ + l.p_vaddr + l.p_memsz);
             pg += kPage) {
          const MapsLine* m = map_at(pg);
          if (id == "segments.mapped") {
            if (!m) {
              bad.push_back(seg_label(i) + ": page " + hex(pg) + " is not mapped");
              break;
            }
            continue;
          }
          auto exp = expected_perm(pg);
          if (m && exp && m->perms.substr(0, 3) != *exp) {
            bad.push_back(seg_label(i) + ": mapped " + m->perms.substr(0, 3) +
                          " but the kernel maps " + *exp + (*exp != want ? " (page shared with a later segment)" : "") +
                          " (page " + hex(pg) + ")");
            break;
          }
        }
      }
      return verdict(c, bad, id == "segments.mapped"
                                 ? std::to_string(loads_.size()) + " PT_LOADs mapped at base " + hex(base_)
                                 : "every segment page has the kernel's permissions");
    }
    if (id == "segments.size") {
      auto in_image = [&](uint64_t pg) { return expected_perm(pg).has_value(); };
      std::vector<std::string> views;
      for (const auto& m : maps_) {
        bool target = is_target(m);
        bool touches = false;
        for (const auto& l : loads_) {
          uint64_t lo = page_down(base_ + l.p_vaddr), hi = page_up(base_ + l.p_vaddr + l.p_memsz);
          if (m.start < hi && lo < m.end) touches = true;
        }
        // A read-only view of PROG away from every segment (a course skeleton's whole-file
        // buffer) is the loader's own, not a segment: a note, not a failure.
        if (target && !touches && m.perms.size() >= 3 && m.perms[1] != 'w' && m.perms[2] != 'x') {
          views.push_back(hex(m.start) + "-" + hex(m.end) + " " + m.perms);
          continue;
        }
        if (!target && !(touches && m.path.empty())) continue;
        for (uint64_t pg = m.start; pg < m.end; pg += kPage)
          if (!in_image(pg)) {
            bad.push_back("mapping " + hex(m.start) + "-" + hex(m.end) + " " + m.perms + " " +
                          (m.path.empty() ? "(anonymous)" : m.path) + " extends to page " +
                          hex(pg) + ", outside every PT_LOAD's page range");
            break;
          }
      }
      std::string ok = "no segment mapping extends beyond its page-rounded PT_LOAD";
      if (!views.empty()) {
        ok += "\nnote (0 points): PROG is also mapped read-only at";
        for (const std::string& v : views) ok += " " + v;
        ok += ", away from every segment: taken as the loader's own view of the file";
      }
      return verdict(c, bad, ok);
    }
    if (id == "segments.contents" || id == "segments.bss_zero") {
      if (!in_.has_memory) return skip(c, "the snapshot has no \"memory\"");
      for (size_t i = 0; i < loads_.size(); ++i) {
        const auto& l = loads_[i];
        uint64_t at = base_ + l.p_vaddr;
        if (id == "segments.contents") {
          if (!l.p_filesz) continue;
          auto got = mem_.read(at, l.p_filesz);
          if (!got) {
            bad.push_back(seg_label(i) + ": memory [" + hex(at) + ", " + hex(at + l.p_filesz) +
                          ") was not captured");
            continue;
          }
          if (l.p_offset > file_.size() || file_.size() - l.p_offset < l.p_filesz) continue;
          for (uint64_t k = 0; k < l.p_filesz; ++k)
            if ((*got)[k] != file_[l.p_offset + k]) {
              char b[96];
              std::snprintf(b, sizeof b, ": byte at %s is 0x%02x but the file has 0x%02x",
                            hex(at + k).c_str(), (*got)[k], file_[l.p_offset + k]);
              bad.push_back(seg_label(i) + b);
              break;
            }
        } else {
          if (l.p_memsz <= l.p_filesz) continue;
          uint64_t len = l.p_memsz - l.p_filesz;
          auto got = mem_.read(at + l.p_filesz, len);
          if (!got) {
            bad.push_back(seg_label(i) + ": bss [" + hex(at + l.p_filesz) + ", " +
                          hex(at + l.p_memsz) + ") was not captured");
            continue;
          }
          for (uint64_t k = 0; k < len; ++k)
            if ((*got)[k] != 0) {
              bad.push_back(seg_label(i) + ": bss byte at " + hex(at + l.p_filesz + k) +
                            " is not zero");
              break;
            }
        }
      }
      return verdict(c, bad, id == "segments.contents" ? "every p_filesz byte equals the file"
                                                       : "every byte of every bss is zero");
    }
    if (id == "segments.no_extra_exec") {
      for (const auto& m : maps_) {
        if (!is_target(m) || m.perms.size() < 3 || m.perms[2] != 'x') continue;
        for (uint64_t pg = m.start; pg < m.end; pg += kPage) {
          auto exp = expected_perm(pg);
          if (!exp || (*exp)[2] != 'x') {
            bad.push_back("executable mapping " + hex(m.start) + "-" + hex(m.end) + " of " +
                          m.path + " covers page " + hex(pg) + ", which the kernel does not map executable");
            break;
          }
        }
      }
      return verdict(c, bad, "only the executable PT_LOADs of PROG are executable");
    }
    if (id == "entry.rip") {
      uint64_t want = base_ + exe_.ehdr.e_entry;
      if (in_.rip == want) return pass(c, "rip " + hex(in_.rip) + " = base + e_entry");
      return fail(c, "rip is " + hex(in_.rip) + " but the kernel starts at base + e_entry = " +
                         hex(want) + (is_dyn() && in_.rip == exe_.ehdr.e_entry
                                          ? " (e_entry was not relocated by the base)"
                                          : ""));
    }
    if (id == "entry.registers") {
      if (!in_.rdx) return skip(c, "the snapshot has no \"rdx\": not checked");
      const std::string reg = word_ == 4 ? "%edx" : "%rdx";
      const uint64_t v = word_ == 4 ? (*in_.rdx & 0xffffffffu) : *in_.rdx;
      if (v == 0) return pass(c, reg + " is 0");
      return fail(c, reg + " is " + hex(v) + " at the entry point, but the kernel sets it to 0 "
                     "(ELF_PLAT_INIT): the psABI makes it a function that _start registers with "
                     "atexit(), so a glibc program calls " + hex(v) + " when it exits. Zero " +
                     reg + " before the jump");
    }
    if (id == "stack.aligned") {
      if (in_.sp % 16 == 0) return pass(c, "sp " + hex(in_.sp) + " is 16-byte aligned");
      return fail(c, "sp " + hex(in_.sp) + " is not 16-byte aligned (sp % 16 = " +
                         std::to_string(in_.sp % 16) + "); the kernel aligns it to 16");
    }
    if (id == "stack.writable") {
      const MapsLine* m = map_at(in_.sp);
      if (m && m->perms.size() >= 2 && m->perms[0] == 'r' && m->perms[1] == 'w')
        return pass(c, "sp is in " + hex(m->start) + "-" + hex(m->end) + " " + m->perms);
      return fail(c, m ? "sp " + hex(in_.sp) + " is in a " + m->perms + " mapping, not rw"
                       : "sp " + hex(in_.sp) + " is not in any mapping");
    }
    const auto& want_argv = r_.stack.argv;
    const auto& want_envp = r_.stack.envp;
    if (c.id.rfind("stack.", 0) == 0 || c.id.rfind("auxv.", 0) == 0) {
      if (!stack_ok_) return fail(c, "cannot read argc at sp " + hex(in_.sp) + " from the stack image");
    }
    if (id == "stack.argc") {
      if (argc_ == want_argv.size()) return pass(c, "argc = " + std::to_string(argc_));
      if (word_ == 8 && (argc_ & 0xffffffffu) == want_argv.size())
        return fail(c, "argc at sp is " + hex(argc_) + ": the upper 4 bytes are not zero (argc is "
                       "a 64-bit word; write all 8 bytes)");
      return fail(c, "argc is " + std::to_string(argc_) + " but should be " +
                         std::to_string(want_argv.size()));
    }
    if (id == "stack.argv" || id == "stack.envp") {
      bool is_argv = id == "stack.argv";
      const auto& got = is_argv ? argv_ : envp_;
      const auto& want = is_argv ? want_argv : want_envp;
      const char* name = is_argv ? "argv" : "envp";
      if (!is_argv && !envp_found_) return fail(c, "envp cannot be found: the stack image ends in argv");
      // Bounded: past the expected entries only the first few extras are read, and at most
      // kMaxProblems are listed; a million pointers at one long string cost nothing more.
      const size_t extra = got.size() > want.size() ? got.size() - want.size() : 0;
      for (size_t k = 0; k < std::max(got.size(), want.size()); ++k) {
        if (bad.size() >= kMaxProblems || k >= want.size() + 4) {
          if (k < got.size() && extra > 4)
            bad.push_back("... " + std::to_string(got.size() - want.size()) + " " + name +
                          " entries more than the " + std::to_string(want.size()) + " expected");
          else if (bad.size() >= kMaxProblems)
            bad.push_back("... and more");
          break;
        }
        std::string at = std::string(name) + "[" + std::to_string(k) + "]";
        if (k >= got.size()) {
          bad.push_back(at + " is missing; expected " + quote(want[k]));
          continue;
        }
        auto s = mem_.string(got[k]);
        if (!s) {
          bad.push_back(at + " = " + hex(got[k]) + " does not point to a captured string");
          continue;
        }
        if (k >= want.size()) {
          bad.push_back(at + " = " + quote(*s) + " is extra");
          continue;
        }
        if (*s != want[k]) bad.push_back(at + " is " + quote(*s) + " but should be " + quote(want[k]));
      }
      return verdict(c, bad, std::to_string(want.size()) + " " + name + " strings are right");
    }
    if (id == "stack.null_terminated") {
      if (!argv_null_) bad.push_back("argv[argc] is not NULL");
      else if (!envp_null_) bad.push_back("envp has no NULL terminator inside the stack image");
      return verdict(c, bad, "argv[argc] and the end of envp are NULL");
    }
    if (id == "stack.executable") {
      const MapsLine* m = map_at(in_.sp);
      if (!m) return fail(c, "sp " + hex(in_.sp) + " is not in any mapping");
      const bool want = r_.exec_stack;  // the [stack] VMA's VM_EXEC in the prediction
      const bool got = m->perms.size() >= 3 && m->perms[2] == 'x';
      const std::string why = want ? "PT_GNU_STACK asks for an executable stack (or its absence "
                                     "does, for this program)"
                                   : "PT_GNU_STACK asks for a non-executable stack";
      if (got == want)
        return pass(c, "the stack mapping is " + m->perms + ": " + why);
      return fail(c, "the stack mapping " + hex(m->start) + "-" + hex(m->end) + " is " + m->perms +
                         ", but " + why + (want ? "; map it with PROT_EXEC" : "; drop PROT_EXEC"));
    }
    if (c.id.rfind("auxv.", 0) == 0 && !envp_null_)
      return fail(c, "the auxv cannot be found: envp (at &argv[argc + 1]) has no NULL "
                     "terminator inside the stack image");
    auto expect_aux = [&](uint64_t type, const char* name, uint64_t want) {
      auto v = aux(type);
      if (!v) return fail(c, std::string(name) + " is missing; the kernel passes " + hex(want));
      if (*v != want)
        return fail(c, std::string(name) + " is " + hex(*v) + " but the kernel passes " + hex(want));
      pass(c, std::string(name) + " = " + hex(want));
    };
    if (id == "auxv.phdr")
      return expect_aux(AT_PHDR, "AT_PHDR", r_.phdr_addr - r_.load_bias + base_);
    if (id == "auxv.phent") return expect_aux(AT_PHENT, "AT_PHENT", exe_.ehdr.e_phentsize);
    if (id == "auxv.phnum") return expect_aux(AT_PHNUM, "AT_PHNUM", exe_.ehdr.e_phnum);
    if (id == "auxv.pagesz") return expect_aux(AT_PAGESZ, "AT_PAGESZ", kPage);
    if (id == "auxv.entry") return expect_aux(AT_ENTRY, "AT_ENTRY", base_ + exe_.ehdr.e_entry);
    if (id == "auxv.random") {
      auto v = aux(AT_RANDOM);
      if (!v) return fail(c, "AT_RANDOM is missing; the kernel passes 16 random bytes");
      const MapsLine* m = map_at(*v);
      const MapsLine* m2 = map_at(*v + 15);
      if (!m || !m2 || m->perms[0] != 'r' || m2->perms[0] != 'r')
        return fail(c, "AT_RANDOM " + hex(*v) + " does not point to 16 readable bytes");
      return pass(c, "AT_RANDOM " + hex(*v) + " points to 16 readable bytes");
    }
    if (id == "auxv.random_fresh") {
      auto bytes = random_bytes();
      if (!aux(AT_RANDOM)) return skip(c, "no AT_RANDOM (auxv.random)");
      if (!bytes) return skip(c, "the 16 bytes at AT_RANDOM were not captured");
      bool zero = true;
      for (uint8_t b : *bytes) zero &= b == 0;
      if (zero)
        return fail(c, "the 16 bytes at AT_RANDOM are all zero; the kernel fills them with "
                       "get_random_bytes(), and glibc seeds the stack protector and pointer "
                       "guard from them. Copy your own AT_RANDOM bytes or read getrandom()");
      if (!in_.second_random)
        return pass(c, "not all zero (one run: " +
                           (in_.second_run_note.empty() ? std::string("a snapshot")
                                                        : in_.second_run_note) + ")");
      if (*in_.second_random == *bytes)
        return fail(c, "the 16 bytes at AT_RANDOM were the same on two runs (" + hexbytes(*bytes) +
                       "); the kernel gives new random bytes to every exec");
      return pass(c, "not all zero, and a second run of the loader gave other bytes");
    }
    if (id == "auxv.base") {
      auto v = aux(AT_BASE);
      if (!v) return pass(c, "AT_BASE absent (0)");
      if (*v == 0) return pass(c, "AT_BASE = 0");
      return fail(c, "AT_BASE is " + hex(*v) + " but a static program has no interpreter: 0");
    }
    if (id == "auxv.null") {
      if (auxv_null_) return pass(c, std::to_string(auxv_.size()) + " entries, then AT_NULL");
      return fail(c, "no AT_NULL before the end of the stack image");
    }
    if (id == "auxv.execfn") {
      auto v = aux(AT_EXECFN);
      // The string the kernel put at AT_EXECFN (bprm->filename) in the predicted stack.
      std::string want;
      if (r_.stack.execfn >= r_.stack.sp)
        for (uint64_t k = r_.stack.execfn - r_.stack.sp; k < r_.stack.image.size(); ++k) {
          if (r_.stack.image[k] == 0) break;
          want.push_back(static_cast<char>(r_.stack.image[k]));
        }
      if (!v) return fail(c, "AT_EXECFN is missing; the kernel passes the file name PROG was run "
                             "by, " + quote(want));
      auto got = mem_.string(*v);
      if (!got) return fail(c, "AT_EXECFN " + hex(*v) + " does not point to a captured string");
      if (*got == want) return pass(c, "AT_EXECFN is " + quote(want));
      return fail(c, "AT_EXECFN is " + quote(*got) + " but the kernel passes the file name PROG "
                     "was run by, " + quote(want));
    }
    if (id == "loader.no_exec") {
      // A loader that execve()s PROG gets the kernel's perfect state for free; the live trace
      // stops such a run (LoaderStop::Outcome::KernelLoaded) and never grades its state.
      if (!in_.traced)
        return skip(c, "a snapshot: whether the loader called execve() is not known");
      return pass(c, "the loader reached PROG's entry without calling execve() after its start");
    }
    if (id == "auxv.no_bogus") {
      // Entries create_elf_tables() never gives this program and that change what a consumer
      // does: AT_NOTELF (glibc then takes the program for a non-ELF one), AT_EXECFD (ld.so
      // then loads the program from that descriptor), AT_BASE for a program without an
      // interpreter, AT_SECURE when nothing made the exec secure.
      const bool has_interp = r_.objects.size() > 1;
      for (const auto& [t, v] : auxv_) {
        if (t == AT_NOTELF && v != 0)
          bad.push_back("AT_NOTELF = " + hex(v) + ": the kernel never passes it for an ELF "
                        "program, and glibc then treats the program as not ELF");
        if (t == AT_EXECFD)
          bad.push_back("AT_EXECFD = " + std::to_string(v) + ": only binfmt_misc's open-binary "
                        "mode passes it, and ld.so then reads the program from that descriptor");
        if (t == AT_BASE && v != 0 && !has_interp)
          bad.push_back("AT_BASE = " + hex(v) + " but PROG has no interpreter: the kernel "
                        "passes 0");
        if (t == AT_SECURE && v != 0 && r_.host.secure == 0)
          bad.push_back("AT_SECURE = " + hex(v) + " but nothing made this exec secure");
      }
      return verdict(c, bad, "no entry the kernel would not give");
    }
    if (id == "auxv.optional") {
      std::map<uint64_t, int> seen;
      for (const auto& [t, v] : auxv_) {
        if (++seen[t] == 2) bad.push_back("type " + std::to_string(t) + " appears twice");
        if (t == AT_EXECFN || t == AT_PLATFORM || t == AT_BASE_PLATFORM) {
          const MapsLine* m = map_at(v);
          if (!m || m->perms[0] != 'r') bad.push_back("type " + std::to_string(t) + " = " + hex(v) + " is not readable");
          else if (mem_.read(v, 1) && !mem_.string(v))  // checked only where captured
            bad.push_back("type " + std::to_string(t) + " = " + hex(v) + " is not a string");
        }
        if (t == AT_SYSINFO_EHDR && v) {
          const MapsLine* m = map_at(v);
          if (!m || m->perms[0] != 'r') bad.push_back("AT_SYSINFO_EHDR " + hex(v) + " is not readable");
        }
        if (t == AT_CLKTCK && v == 0) bad.push_back("AT_CLKTCK is 0");
        if (t == AT_SECURE && v > 1) bad.push_back("AT_SECURE is " + hex(v));
        if (t == AT_FLAGS && v != 0) bad.push_back("AT_FLAGS is " + hex(v) + "; Linux passes 0");
      }
      return verdict(c, bad, "the optional entries present are sane");
    }
    skip(c, "not implemented");
  }

  const sim::ExecResult& r_;
  const sim::LoadedObject& exe_;
  const std::vector<uint8_t>& file_;
  const GradeInput& in_;
  Memory mem_;
  std::vector<MapsLine> maps_;
  std::vector<elf::Phdr> loads_;
  std::vector<loader::Section> sections_;
  bool sections_tried_ = false;
  uint64_t base_ = 0;
  bool stack_ok_ = false, argv_null_ = false, envp_found_ = false, envp_null_ = false,
       auxv_null_ = false;
  unsigned word_ = 8;
  uint64_t argc_ = 0;
  std::vector<uint64_t> argv_, envp_;
  std::vector<std::pair<uint64_t, uint64_t>> auxv_;
};

bool parse_hex_string(const std::string& s, uint64_t* v) {
  if (s.size() < 3 || s.size() > 18 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return false;
  char* end = nullptr;
  *v = std::strtoull(s.c_str() + 2, &end, 16);
  return end && *end == 0;
}

bool parse_hex_bytes(const std::string& s, std::vector<uint8_t>* out) {
  if (s.size() % 2) return false;
  out->resize(s.size() / 2);
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < out->size(); ++i) {
    int hi = nib(s[2 * i]), lo = nib(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

}  // namespace

bool GradeReport::any_failed() const {
  for (const auto& c : checks)
    if (c.status == CheckResult::Status::Failed) return true;
  return false;
}
double GradeReport::score() const {
  double s = 0;
  for (const auto& c : checks) s += c.score();
  return s;
}
double GradeReport::max_score() const {
  double s = 0;
  for (const auto& c : checks) s += c.max_score();
  return s;
}

std::vector<CheckResult> default_checks() {
  std::vector<CheckResult> out;
  for (const auto& d : kChecks) {
    CheckResult c;
    c.id = d.id;
    c.name = d.name;
    c.points = d.points;
    out.push_back(c);
  }
  return out;
}

GradeReport grade_state(const sim::ExecResult& r, const std::vector<uint8_t>& file,
                        const GradeInput& in) {
  return Grader(r, file, in).run();
}

std::optional<std::vector<uint8_t>> at_random_bytes(const sim::ExecResult& r,
                                                    const GradeInput& in) {
  if (r.objects.empty()) return std::nullopt;
  static const std::vector<uint8_t> no_file;
  Grader g(r, no_file, in);
  return g.parse_and_read_random();
}

GradeReport grade_no_state(const sim::ExecResult& r, const std::string& why) {
  GradeReport g;
  g.program = r.objects.empty() ? "" : r.objects[0].id.path;
  g.base_note = "no state: the loader never handed over control";
  g.checks = default_checks();
  for (auto& c : g.checks) {
    c.status = CheckResult::Status::Failed;
    c.output = why;
  }
  return g;
}

bool parse_snapshot(const nlohmann::json& j, GradeInput* in, std::string* err) {
  auto str = [&](const char* key, std::string* out) {
    if (!j.contains(key) || !j[key].is_string()) {
      *err = std::string("snapshot: \"") + key + "\" is missing or not a string";
      return false;
    }
    *out = j[key].get<std::string>();
    return true;
  };
  std::string rip, sp, image;
  if (!j.is_object()) {
    *err = "snapshot: not a JSON object";
    return false;
  }
  if (!str("maps", &in->maps) || !str("rip", &rip) || !str("sp", &sp) || !str("image", &image))
    return false;
  if (!parse_hex_string(rip, &in->rip) || !parse_hex_string(sp, &in->sp)) {
    *err = "snapshot: \"rip\" and \"sp\" must be \"0x...\" strings";
    return false;
  }
  if (!parse_hex_bytes(image, &in->image)) {
    *err = "snapshot: \"image\" is not a hex string";
    return false;
  }
  if (j.contains("rdx")) {
    uint64_t v = 0;
    if (!j["rdx"].is_string() || !parse_hex_string(j["rdx"].get<std::string>(), &v)) {
      *err = "snapshot: \"rdx\" must be a \"0x...\" string";
      return false;
    }
    in->rdx = v;
  }
  in->has_memory = j.contains("memory");
  if (in->has_memory) {
    if (!j["memory"].is_array()) {
      *err = "snapshot: \"memory\" must be an array";
      return false;
    }
    for (const auto& m : j["memory"]) {
      GradeMemory gm;
      if (!m.is_object() || !m.contains("start") || !m["start"].is_string() ||
          !m.contains("hex") || !m["hex"].is_string() ||
          !parse_hex_string(m["start"].get<std::string>(), &gm.start) ||
          !parse_hex_bytes(m["hex"].get<std::string>(), &gm.bytes)) {
        *err = "snapshot: each \"memory\" entry needs \"start\": \"0x...\" and \"hex\"";
        return false;
      }
      in->memory.push_back(std::move(gm));
    }
  }
  return true;
}

bool apply_rubric(const nlohmann::json& rubric, GradeReport* report, std::string* err) {
  if (!rubric.is_object() || !rubric.contains("checks") || !rubric["checks"].is_object()) {
    *err = "rubric: expected {\"checks\": {\"<id>\": {...}}}";
    return false;
  }
  for (const auto& item : rubric["checks"].items()) {
    // (C++17 lambdas cannot capture structured bindings, so name the members.)
    const std::string id = item.key();
    const auto& spec = item.value();
    auto it = std::find_if(report->checks.begin(), report->checks.end(),
                           [&](const CheckResult& c) { return c.id == id; });
    if (it == report->checks.end()) {
      *err = "rubric: unknown check '" + id + "'";
      return false;
    }
    if (!spec.is_object()) {
      *err = "rubric: check '" + id + "' must be an object";
      return false;
    }
    if (spec.contains("points")) {
      if (!spec["points"].is_number() || spec["points"].get<double>() < 0) {
        *err = "rubric: '" + id + "'.points must be a non-negative number";
        return false;
      }
      it->points = spec["points"].get<double>();
    }
    if (spec.contains("name")) {
      if (!spec["name"].is_string()) {
        *err = "rubric: '" + id + "'.name must be a string";
        return false;
      }
      it->name = spec["name"].get<std::string>();
    }
    if (spec.contains("enabled")) {
      if (!spec["enabled"].is_boolean()) {
        *err = "rubric: '" + id + "'.enabled must be true or false";
        return false;
      }
      if (!spec["enabled"].get<bool>()) it->id.clear();  // removed below
    }
  }
  report->checks.erase(std::remove_if(report->checks.begin(), report->checks.end(),
                                      [](const CheckResult& c) { return c.id.empty(); }),
                       report->checks.end());
  return true;
}

}  // namespace execmap::analysis
