// `execmap space`: the whole 64-bit virtual address space, as the kernel's mm.rst tables it,
// with this process's layout (one ExecResult) shown inside the user half.
#include <algorithm>
#include <cstdio>

#include "cli/options.h"
#include "cli/render.h"
#include "util/format.h"

namespace execmap::cli {

namespace {

const char* kind_name(sim::SpaceRegion::Kind k) {
  switch (k) {
    case sim::SpaceRegion::Kind::User:
      return "user";
    case sim::SpaceRegion::Kind::NonCanonical:
      return "non-canonical";
    case sim::SpaceRegion::Kind::Unused:
      return "unused";
    default:
      return "kernel";
  }
}

std::string hex16(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "%016llx", (unsigned long long)v);
  return b;
}

std::string basename_of(const std::string& p) {
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

// One row of the process's part of the user half: a mapping, a hole, or a named address.
struct UserRow {
  uint64_t start = 0, end = 0;  // [start, end); end == start for a named address
  std::string perms;            // mappings only
  std::string name;             // basename, [stack], [vdso]...; for holes and marks, the text
  std::string path;             // the full name /proc/PID/maps shows (JSON)
  std::string role;
  std::vector<std::string> marks;  // mm_struct addresses at its start: "mmap_base"...
  enum class Kind { Mapping, Hole, Mark } kind = Kind::Mapping;
};

// The user half from 0 to its end: each VMA, the holes between them, the pages no mapping may
// use, and the mm_struct addresses that have no mapping of their own.
std::vector<UserRow> user_rows(const sim::ExecResult& r, const sim::SpaceLayout& s) {
  std::vector<UserRow> rows;
  auto hole = [&](uint64_t lo, uint64_t hi, const std::string& why) {
    if (hi > lo) rows.push_back({lo, hi, "", why, "", "", {}, UserRow::Kind::Hole});
  };
  uint64_t cur = 0;
  // mmap_min_addr (security/min_addr.c): mmap() refuses [0, mmap_min_addr) to unprivileged
  // callers, so NULL dereferences always fault.
  uint64_t low =
      std::min(r.host.mmap_min_addr, r.mm_vmas.vmas().empty() ? r.host.mmap_min_addr
                                                         : r.mm_vmas.vmas().begin()->first);
  hole(0, low, "below vm.mmap_min_addr: only CAP_SYS_RAWIO may map it");
  cur = low;
  for (const auto& [start, v] : r.mm_vmas.vmas()) {
    hole(cur, v.start, "unmapped");
    std::string name = sim::vma_name(r, v);
    Role role = role_of(r, v);
    UserRow row;
    row.start = v.start;
    row.end = v.end;
    row.perms = perms_of(v);
    row.path = name;
    row.role = role.role;
    if (role.object >= 0) {
      row.name = basename_of(r.objects[role.object].id.path) + " " + role.role;
    } else {
      row.name = name.empty() ? "anonymous" : name;
    }
    rows.push_back(row);
    cur = v.end;
  }
  if (r.profile.compat && r.profile.task_size < s.task_size_max) {
    // An ia32 task: nothing is mapped at or above its TASK_SIZE (IA32_PAGE_OFFSET).
    hole(cur, r.profile.task_size, "unmapped");
    hole(std::max(cur, r.profile.task_size), s.task_size_max,
         "never mapped for an ia32 task: above its TASK_SIZE (IA32_PAGE_OFFSET " +
             util::hex(r.profile.task_size) + ")");
  } else if (s.default_map_window < s.task_size_max) {
    hole(cur, s.default_map_window, "unmapped");
    hole(std::max(cur, s.default_map_window), s.task_size_max,
         "above DEFAULT_MAP_WINDOW (47 bits): mapped only for an mmap() hint above it");
  } else {
    hole(cur, s.task_size_max, "unmapped");
  }
  hole(std::max(cur, s.task_size_max), s.user_end,
       "never mapped: TASK_SIZE_MAX = 2^" + std::to_string(s.va_bits - 1) + " - PAGE_SIZE");

  // Named addresses of the exec: on the row that starts there, else a row of their own.
  std::vector<std::pair<uint64_t, std::string>> marks = {{r.mm.mmap_base, "mmap_base"}};
  if (r.mm.start_brk == r.mm.brk) {
    marks.push_back({r.mm.start_brk, r.mm_vmas.vma_at(r.mm.start_brk)
                                         ? "start_brk = brk"
                                         : "start_brk = brk: the [heap] is empty, grows upwards"});
  } else {
    marks.push_back({r.mm.start_brk, "start_brk"});
    marks.push_back({r.mm.brk, "brk"});
  }
  if (r.load_bias) marks.push_back({r.load_bias, "load_bias"});
  if (r.interp_base) marks.push_back({*r.interp_base, "interp_base"});
  marks.push_back({r.stack.sp, "sp"});
  for (const auto& mark : marks) {
    // (C++17 lambdas cannot capture structured bindings, so name the members.)
    const uint64_t addr = mark.first;
    const std::string& text = mark.second;
    auto at = std::find_if(rows.begin(), rows.end(), [&](const UserRow& u) {
      return u.kind == UserRow::Kind::Mapping && u.start == addr;
    });
    if (at != rows.end()) {
      at->marks.push_back(text);
      continue;
    }
    // Before the first row that starts above it (ties: after the rows ending there).
    auto pos = std::find_if(rows.begin(), rows.end(), [&](const UserRow& u) {
      return u.start > addr || (u.start == addr && u.kind == UserRow::Kind::Hole);
    });
    rows.insert(pos, UserRow{addr, addr, "", text, "", "", {}, UserRow::Kind::Mark});
  }
  return rows;
}

// Wraps text into lines of at most width columns at spaces.
std::vector<std::string> wrap_text(const std::string& text, size_t width) {
  std::vector<std::string> lines(1);
  size_t i = 0;
  while (i < text.size()) {
    size_t sp = text.find(' ', i);
    std::string w = text.substr(i, sp == std::string::npos ? std::string::npos : sp - i);
    if (!lines.back().empty() && lines.back().size() + 1 + w.size() > width) lines.emplace_back();
    lines.back() += (lines.back().empty() ? "" : " ") + w;
    if (sp == std::string::npos) break;
    i = sp + 1;
  }
  return lines;
}

}  // namespace

std::string render_space_text(const sim::ExecResult& r, const sim::SpaceLayout& s) {
  constexpr size_t kDesc = 62;  // description column width
  std::string out;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "x86_64 virtual address space with %d-level paging (%d-bit virtual addresses)\n",
                s.paging, s.va_bits);
  out += buf;
  out += std::string("Documentation/arch/x86/x86_64/mm.rst: ") + s.title +
         ";\nthe user half shows this process at its first instruction (" + r.profile.name +
         ")\n\n";
  auto line = [&](const std::string& start, const std::string& offset, const std::string& last,
                  const std::string& size, const std::string& desc, size_t indent) {
    std::vector<std::string> d = wrap_text(desc, kDesc - indent);
    for (size_t i = 0; i < d.size(); ++i) {
      std::snprintf(buf, sizeof buf, "%-16s  %-9s  %-16s  %-8s  %s%s", i ? "" : start.c_str(),
                    i ? "" : offset.c_str(), i ? "" : last.c_str(), i ? "" : size.c_str(),
                    std::string(indent, ' ').c_str(), d[i].c_str());
      std::string l = buf;
      while (!l.empty() && l.back() == ' ') l.pop_back();
      out += l + "\n";
    }
  };
  line("START ADDR", "OFFSET", "END ADDR", "SIZE", "VM AREA DESCRIPTION", 0);
  line(std::string(16, '='), std::string(9, '='), std::string(16, '='), std::string(8, '='),
       std::string(kDesc, '='), 0);
  for (const auto& g : s.regions) {
    if (g.heading) {
      out += "\n";
      line("", "", "", "", g.heading, 0);
    }
    line(g.start_varies ? "FIXADDR_START" : hex16(g.start), g.offset, hex16(g.last), g.size,
         g.description, 0);
    if (g.note) line("", "", "", "", std::string("note: ") + g.note, 2);
    if (g.kind == sim::SpaceRegion::Kind::User) {
      for (const auto& u : user_rows(r, s)) {
        if (u.kind == UserRow::Kind::Mark) {
          line(hex16(u.start), "", "", "", "<- " + u.name, 2);
          continue;
        }
        std::string desc =
            u.kind == UserRow::Kind::Hole ? ". " + u.name : u.perms.substr(0, 3) + " " + u.name;
        for (size_t i = 0; i < u.marks.size(); ++i) desc += (i ? ", " : "  <- ") + u.marks[i];
        line(hex16(u.start), "", hex16(u.end - 1), human_size(u.end - u.start), desc, 2);
      }
    }
    if (!g.start_varies && r.profile.vsyscall && g.start <= r.profile.vsyscall_start &&
        r.profile.vsyscall_end - 1 <= g.last && g.kind != sim::SpaceRegion::Kind::User)
      line(hex16(r.profile.vsyscall_start), "", hex16(r.profile.vsyscall_end - 1),
           human_size(r.profile.vsyscall_end - r.profile.vsyscall_start),
           "--x [vsyscall]: this process sees it in /proc/PID/maps", 2);
  }
  return out;
}

nlohmann::json space_json(const sim::ExecResult& r, const sim::SpaceLayout& s) {
  nlohmann::json regions = nlohmann::json::array();
  for (const auto& g : s.regions) {
    nlohmann::json j = {
        {"start", g.start_varies ? nlohmann::json("FIXADDR_START") : nlohmann::json(hex(g.start))},
        {"last", hex(g.last)},
        {"offset", g.offset},
        {"size", g.size},
        {"description", g.description},
        {"kind", kind_name(g.kind)}};
    if (g.heading) j["heading"] = g.heading;
    if (g.note) j["note"] = g.note;
    regions.push_back(j);
  }
  nlohmann::json user = nlohmann::json::array();
  for (const auto& u : user_rows(r, s)) {
    if (u.kind == UserRow::Kind::Mark) {
      user.push_back({{"mark", u.name}, {"address", hex(u.start)}});
    } else if (u.kind == UserRow::Kind::Hole) {
      user.push_back({{"start", hex(u.start)},
                      {"end", hex(u.end)},
                      {"size", hex(u.end - u.start)},
                      {"hole", u.name}});
    } else {
      user.push_back({{"start", hex(u.start)},
                      {"end", hex(u.end)},
                      {"size", hex(u.end - u.start)},
                      {"perms", u.perms},
                      {"path", u.path},
                      {"role", u.role},
                      {"marks", u.marks}});
    }
  }
  nlohmann::json j;
  j["paging"] = s.paging;
  j["va_bits"] = s.va_bits;
  j["source"] = std::string("Documentation/arch/x86/x86_64/mm.rst: ") + s.title;
  j["user_end"] = hex(s.user_end);
  j["task_size_max"] = hex(s.task_size_max);
  j["default_map_window"] = hex(s.default_map_window);
  j["regions"] = regions;
  j["user"] = user;
  j["mm"] = mm_json(r.mm);
  if (r.profile.vsyscall)
    j["vsyscall"] = {{"start", hex(r.profile.vsyscall_start)},
                     {"end", hex(r.profile.vsyscall_end)},
                     {"perms", "--xp"}};
  return j;
}

}  // namespace execmap::cli
