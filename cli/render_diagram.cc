// `execmap layout --format diagram`: the textbook picture of a process's address space, high
// addresses at the top, drawn from one ExecResult with its real addresses and sizes.
#include <algorithm>
#include <cstdio>
#include <map>

#include "sim/target.h"
#include "cli/options.h"
#include "cli/render.h"
#include "loader/elf_defs.h"

namespace execmap::cli {

namespace {

constexpr size_t kInner = 56;  // columns between the two sides of the box

enum class Paint { None, Text, Rodata, Data, Special, Stack, Heap, Gap };

const char* ansi(Paint p) {
  switch (p) {
    case Paint::Text:
      return "\033[32m";
    case Paint::Rodata:
      return "\033[34m";
    case Paint::Data:
      return "\033[33m";
    case Paint::Special:
      return "\033[35m";
    case Paint::Stack:
      return "\033[36m";
    case Paint::Heap:
      return "\033[1;33m";
    case Paint::Gap:
      return "\033[2m";
    default:
      return "";
  }
}

// One output line. A Boundary is "+----+" at addr; a Body is "| text |" inside [lo, hi),
// with addr in the left column when show_addr; a Gap is ": text :" over unallocated space.
struct Row {
  enum class Kind { Boundary, Body, Gap } kind = Kind::Body;
  uint64_t addr = 0, lo = 0, hi = 0;
  bool show_addr = false;
  std::string left, right;  // Body/Gap text; Boundary: a label drawn into the line
  Paint paint = Paint::None;
  std::vector<std::string> notes;  // right of the box
};

std::string basename_of(const std::string& p) {
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

// The NUL-terminated string at addr in the initial stack image ([sp, end)), escaped so that
// every byte takes one column.
std::string stack_string(const sim::StackResult& s, uint64_t addr) {
  std::string out;
  if (addr < s.sp) return out;
  for (uint64_t i = addr - s.sp; i < s.image.size() && s.image[i]; ++i) {
    unsigned char c = s.image[i];
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += char(c);
    } else {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    }
  }
  return out;
}

std::string quoted_list(const sim::StackResult& s, const std::vector<uint64_t>& ptrs) {
  std::string out;
  for (uint64_t p : ptrs) out += (out.empty() ? "\"" : " \"") + stack_string(s, p) + "\"";
  return out;
}

// "r-x  152 KiB": the right-hand column of a row, one width for every row.
std::string size_column(const std::string& perms, uint64_t bytes) {
  char b[48];
  std::snprintf(b, sizeof b, "%3s %9s", perms.c_str(), human_size(bytes).c_str());
  return b;
}

Paint paint_of(const sim::ExecResult& r, const sim::Vma& v) {
  if (v.kind == sim::Vma::Kind::Special) return Paint::Special;
  if (v.kind == sim::Vma::Kind::Stack) return Paint::Stack;
  if (sim::vma_name(r, v) == "[heap]") return Paint::Heap;
  if (v.prot & sim::PROT_X) return Paint::Text;
  if (v.prot & sim::PROT_W) return Paint::Data;
  if (v.prot & sim::PROT_R) return Paint::Rodata;
  return Paint::Gap;
}

// Splits words into lines of at most width columns; the first line has first_width.
std::vector<std::string> wrap(const std::vector<std::string>& words, size_t first_width,
                              size_t width) {
  std::vector<std::string> lines(1);
  for (const auto& w : words) {
    size_t limit = lines.size() == 1 ? first_width : width;
    if (!lines.back().empty() && lines.back().size() + 1 + w.size() > limit) lines.emplace_back();
    lines.back() += (lines.back().empty() ? "" : " ") + w;
  }
  return lines;
}

class Diagram {
 public:
  explicit Diagram(bool color) : color_(color) {}

  void boundary(uint64_t addr, const std::string& label = "") {
    if (!rows_.empty() && rows_.back().kind == Row::Kind::Boundary && rows_.back().addr == addr) {
      if (!label.empty()) rows_.back().left += (rows_.back().left.empty() ? "" : ", ") + label;
      return;
    }
    Row b;
    b.kind = Row::Kind::Boundary;
    b.addr = b.lo = b.hi = addr;
    b.left = label;
    rows_.push_back(b);
  }
  void gap(uint64_t lo, uint64_t hi) {
    Row g;
    g.kind = Row::Kind::Gap;
    g.lo = lo;
    g.hi = hi;
    g.left = "unallocated " + human_size(hi - lo);
    g.paint = Paint::Gap;
    rows_.push_back(g);
  }
  Row& body(uint64_t lo, uint64_t hi, const std::string& left, const std::string& right,
            Paint paint) {
    Row b;
    b.lo = lo;
    b.hi = hi;
    b.left = left;
    b.right = right;
    b.paint = paint;
    rows_.push_back(b);
    return rows_.back();
  }
  // A named address: on its boundary line when there is one, else beside the row holding it.
  void mark(uint64_t addr, const std::string& name) {
    for (auto& row : rows_)
      if (row.kind == Row::Kind::Boundary && row.addr == addr) {
        row.notes.push_back(name);
        return;
      }
    for (auto& row : rows_)
      if (row.kind != Row::Kind::Boundary && row.lo <= addr && addr < row.hi) {
        row.notes.push_back(name + " " + hex(addr));
        return;
      }
  }

  std::string str() const {
    size_t aw = 3;
    for (const auto& row : rows_)
      if (row.kind == Row::Kind::Boundary || row.show_addr) aw = std::max(aw, hex(row.addr).size());
    std::string out;
    for (const auto& row : rows_) {
      bool addr = row.kind == Row::Kind::Boundary || row.show_addr;
      std::string a = addr ? hex(row.addr) : "";
      std::string line = std::string(aw - a.size(), ' ') + a + " ";
      if (row.kind == Row::Kind::Boundary) {
        std::string inner(kInner, '-');
        if (!row.left.empty()) {
          std::string label = " " + fit(row.left, kInner - 6) + " ";
          inner.replace(3, label.size(), label);
        }
        line += "+" + paint(inner, row.left.empty() ? Paint::None : Paint::Heap) + "+";
      } else if (row.kind == Row::Kind::Gap) {
        std::string text = fit(row.left, kInner - 2);
        size_t pad = (kInner - text.size()) / 2;
        std::string inner = std::string(pad, ' ') + text;
        inner += std::string(kInner - inner.size(), ' ');
        line += ":" + paint(inner, row.paint) + ":";
      } else {
        size_t room = kInner - 2 - (row.right.empty() ? 0 : row.right.size() + 1);
        std::string inner = " " + fit(row.left, room);
        inner += std::string(kInner - 1 - row.right.size() - inner.size(), ' ');
        inner += row.right + " ";
        line += "|" + paint(inner, row.paint) + "|";
      }
      std::string notes;
      for (const auto& n : row.notes) notes += (notes.empty() ? "" : ", ") + n;
      if (!notes.empty()) line += " " + paint(notes, Paint::None, /*bold=*/true);
      out += line + "\n";
    }
    return out;
  }

 private:
  static std::string fit(const std::string& s, size_t width) {
    if (s.size() <= width) return s;
    return s.substr(0, width - 3) + "...";
  }
  std::string paint(const std::string& s, Paint p, bool bold = false) const {
    if (!color_) return s;
    if (bold) return "\033[1m" + s + "\033[0m";
    if (p == Paint::None) return s;
    return ansi(p) + s + "\033[0m";
  }
  bool color_;
  std::vector<Row> rows_;
};

// The initial stack: the strings at the top (execfn, environ, argv), the tables at sp, then
// the mapping itself, which grows downwards (expand_downwards) as the program touches it.
void stack_rows(Diagram& d, const sim::ExecResult& r, const sim::Vma& v) {
  const sim::StackResult& s = r.stack;
  const sim::MmFields& mm = r.mm;
  auto addr_row = [&](uint64_t at, const std::string& left, uint64_t bytes) {
    Row& row = d.body(v.start, v.end, left, size_column("", bytes), Paint::Stack);
    row.addr = at;
    row.show_addr = true;
    return &row;
  };
  if (s.execfn)
    addr_row(s.execfn, "execfn \"" + stack_string(s, s.execfn) + "\"",
             stack_string(s, s.execfn).size() + 1);
  if (mm.env_end > mm.env_start)
    addr_row(mm.env_start, "environ " + quoted_list(s, s.envp_ptrs), mm.env_end - mm.env_start)
        ->notes.push_back("env_start");
  if (mm.arg_end > mm.arg_start)
    addr_row(mm.arg_start, "argv " + quoted_list(s, s.argv_ptrs), mm.arg_end - mm.arg_start)
        ->notes.push_back("arg_start");
  uint64_t tables_end = mm.arg_start > s.sp ? mm.arg_start : s.end;
  addr_row(s.sp, "argc argv envp auxv AT_RANDOM platform", tables_end - s.sp)
      ->notes.push_back("sp");
  d.body(v.start, v.end, "[stack]  grows downwards v",
         size_column(perms_of(v).substr(0, 3), v.size()), Paint::Stack);
}

}  // namespace

std::string render_diagram(const sim::ExecResult& r,
                           const std::vector<std::vector<loader::Section>>& sections, bool color) {
  Diagram d(color);
  const auto& vmas = r.mm_vmas.vmas();
  // What to draw, from the top down: the VMAs, and the empty heap at start_brk when brk has
  // not made a [heap] VMA yet (at exec time start_brk == brk, set_brk() maps nothing).
  struct Item {
    uint64_t lo, hi;
    const sim::Vma* v;  // nullptr: the empty heap
  };
  std::vector<Item> items;
  bool heap = false;
  for (const auto& [start, v] : vmas) {
    items.push_back({v.start, v.end, &v});
    heap = heap || sim::vma_name(r, v) == "[heap]";
  }
  if (!heap && r.mm.start_brk && !r.mm_vmas.vma_at(r.mm.start_brk))
    items.push_back({r.mm.start_brk, r.mm.start_brk, nullptr});
  std::sort(items.begin(), items.end(),
            [](const Item& a, const Item& b) { return a.lo != b.lo ? a.lo > b.lo : a.hi > b.hi; });

  uint64_t top = std::max(r.profile.task_size, items.empty() ? 0 : items.front().hi);
  uint64_t cur = top;
  d.boundary(top);
  for (const Item& it : items) {
    if (it.hi < cur) {
      d.gap(it.hi, cur);
      d.boundary(it.hi);
    }
    cur = it.lo;
    if (!it.v) {
      d.boundary(it.lo, "[heap] 0 B, starts at start_brk, grows upwards ^");
      continue;
    }
    const sim::Vma& v = *it.v;
    std::string right = size_column(perms_of(v).substr(0, 3), v.size());
    Role role = role_of(r, v);
    std::string name = sim::vma_name(r, v);
    if (v.kind == sim::Vma::Kind::Stack) {
      stack_rows(d, r, v);
    } else if (name == "[heap]") {
      d.body(v.start, v.end, "[heap]  grows upwards ^", right, Paint::Heap);
    } else if (role.object >= 0) {
      // The object's own name and part, then (for the executable: the interpreter's are
      // not the program's business) its sections, highest address first like the picture.
      const sim::LoadedObject& obj = r.objects[role.object];
      std::string left = basename_of(obj.id.path) + " " + role.role;
      std::vector<std::string> secs;
      if (obj.role == "exe") secs = sections_in(r, sections, role.object, v);
      std::reverse(secs.begin(), secs.end());
      if (secs.empty()) {
        d.body(v.start, v.end, left, right, paint_of(r, v));
      } else {
        left += ":";
        size_t first = kInner - 2 - right.size() - 1 - left.size() - 1;
        std::vector<std::string> lines = wrap(secs, first, kInner - 4);
        d.body(v.start, v.end, left + " " + lines[0], right, paint_of(r, v));
        for (size_t i = 1; i < lines.size(); ++i)
          d.body(v.start, v.end, "  " + lines[i], "", paint_of(r, v));
      }
    } else {
      d.body(v.start, v.end, name.empty() ? "anonymous" : name, right, paint_of(r, v));
    }
    d.boundary(v.start);
  }
  if (cur > 0) {
    d.gap(0, cur);
    d.boundary(0);
  }

  // The named addresses of mm_struct and of the exec.
  if (r.profile.task_size == r.profile.stack_top)
    d.mark(r.profile.task_size, "TASK_SIZE = STACK_TOP");
  else {
    // 5-level paging: exec's layout stays below the 47-bit window.
    d.mark(r.profile.task_size, "TASK_SIZE");
    d.mark(r.profile.stack_top, "STACK_TOP = DEFAULT_MAP_WINDOW");
  }
  d.mark(r.mm.mmap_base, "mmap_base");
  if (r.interp_base) d.mark(*r.interp_base, "interp_base");
  if (heap && r.mm.brk != r.mm.start_brk) {
    d.mark(r.mm.brk, "brk");
    d.mark(r.mm.start_brk, "start_brk");
  } else {
    d.mark(r.mm.start_brk, r.mm.brk == r.mm.start_brk ? "start_brk = brk" : "start_brk");
    if (r.mm.brk != r.mm.start_brk) d.mark(r.mm.brk, "brk");
  }
  if (r.load_bias) d.mark(r.load_bias, "load_bias");
  if (r.entry == r.rip) {
    d.mark(r.entry, "entry = rip");
  } else {
    d.mark(r.entry, "entry");
    d.mark(r.rip, "rip");
  }

  std::string head = "execve(\"" + stack_string(r.stack, r.stack.execfn) + "\"): ";
  head += r.objects.empty() ? "" : elf::et_name(r.objects[0].ehdr.e_type);
  if (r.objects.size() > 1) head += " + " + basename_of(r.objects[1].id.path);
  head += ", " + target_text(r) + ", at the first instruction\n";
  std::string out = head + d.str();
  if (r.profile.vsyscall)
    out += "[vsyscall] " + hex(r.profile.vsyscall_start) + "-" + hex(r.profile.vsyscall_end) +
           " --x is in the kernel half: see `execmap space`\n";
  return out;
}

}  // namespace execmap::cli
