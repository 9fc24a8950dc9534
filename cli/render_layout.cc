// Layout views: byte-identical /proc/PID/maps, the annotated table, and JSON.
#include <cstdio>

#include "sim/target.h"
#include "cli/options.h"
#include "cli/render.h"
#include "loader/elf_defs.h"
#include "sim/proc_maps.h"
#include "util/format.h"
#include "util/maps.h"

namespace execmap::cli {

std::string perms_of(const sim::Vma& v) { return util::perms_string(v.prot, v.shared); }

std::string human_size(uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  uint64_t whole = b;
  while (whole >= 1024 && u < 5 && whole % 1024 == 0) {
    whole /= 1024;
    ++u;
  }
  char buf[48];
  if (whole < 1024 || u == 5) {
    std::snprintf(buf, sizeof buf, "%llu %s", (unsigned long long)whole, units[u]);
  } else {
    double d = double(b);
    u = 0;
    while (d >= 1024 && u < 5) {
      d /= 1024;
      ++u;
    }
    std::snprintf(buf, sizeof buf, "%.1f %s", d, units[u]);
  }
  return buf;
}

std::vector<std::string> maps_lines(const std::vector<loader::FileIdentity>& files,
                                    const sim::MmFields& mm, const std::vector<sim::Vma>& vmas,
                                    const sim::KernelProfile& p) {
  std::vector<std::string> out;
  for (const util::MapsLine& m : sim::proc_maps(files, mm, vmas, p))
    out.push_back(util::format_maps_line(m));
  return out;
}

std::vector<sim::Vma> vma_list(const sim::ExecResult& r) {
  std::vector<sim::Vma> out;
  for (const auto& kv : r.mm_vmas.vmas()) out.push_back(kv.second);
  return out;
}

std::string render_maps(const sim::ExecResult& r) {
  return util::format_maps(sim::proc_maps(r));
}

Role role_of(const sim::ExecResult& r, const sim::Vma& v) {
  std::string name = sim::vma_name(r, v);
  if (v.kind == sim::Vma::Kind::Special) return {-1, name.substr(1, name.size() - 2)};
  if (name == "[stack]") return {-1, "stack"};
  if (name == "[heap]") return {-1, "heap"};
  for (size_t i = 0; i < r.objects.size(); ++i) {
    const auto& o = r.objects[i];
    std::string prefix = o.role == "interp" ? "interp " : "";
    if (v.kind == sim::Vma::Kind::File && v.file == o.file) {
      if (v.prot & sim::PROT_X) return {int(i), prefix + "text"};
      if (v.prot & sim::PROT_W) return {int(i), prefix + "data"};
      if (v.prot & sim::PROT_R) return {int(i), prefix + "rodata"};
      return {int(i), prefix + "reserved"};
    }
    if (v.kind == sim::Vma::Kind::Anon) {
      for (const auto& ph : o.phdrs) {
        if (ph.p_type != elf::PT_LOAD || ph.p_memsz <= ph.p_filesz) continue;
        uint64_t lo = ph.p_vaddr + o.bias + ph.p_filesz, hi = ph.p_vaddr + o.bias + ph.p_memsz;
        if (v.start < hi + 4095 && v.end > lo) return {int(i), prefix + "bss"};
      }
    }
  }
  // --stage start: libraries ld.so mapped (their file mappings, and anonymous bss pages
  // inside their span).
  if (r.start)
    for (const auto& o : r.start->objects) {
      if (v.start < o.start || v.start >= ((o.end + 4095) & ~uint64_t(4095))) continue;
      if (v.kind == sim::Vma::Kind::File) {
        if (v.prot & sim::PROT_X) return {-1, "lib text"};
        if (v.prot & sim::PROT_W) return {-1, "lib data"};
        if (v.prot & sim::PROT_R) return {-1, "lib rodata"};
        return {-1, "lib reserved"};
      }
      return {-1, "lib bss"};
    }
  return {-1, "anon"};
}

std::vector<std::string> sections_in(const sim::ExecResult& r,
                                     const std::vector<std::vector<loader::Section>>& sections,
                                     int object, const sim::Vma& v) {
  std::vector<std::string> names;
  if (object < 0 || size_t(object) >= sections.size()) return names;
  const auto& o = r.objects[object];
  for (const auto& s : sections[object]) {
    if (!s.size) continue;
    uint64_t a = s.addr + o.bias;
    if (a < v.end && a + s.size > v.start) names.push_back(s.name);
  }
  return names;
}

std::string render_table(const sim::ExecResult& r,
                         const std::vector<std::vector<loader::Section>>& sections) {
  std::string out = "target: " + target_text(r) + "\n";
  for (const std::string& w : r.warnings) out += "warning: " + w + "\n";
  for (const auto& sp : r.scripts)
    out += "script: " + sp.script + " runs #!" + sp.interpreter +
           (sp.has_argument ? " " + sp.argument : std::string()) + "\n";
  char buf[256];
  // Addresses as wide as the task's: 14 hex digits cover 5-level paging, 8 an ia32 task.
  const int aw = r.profile.compat ? 8 : 14;
  std::snprintf(buf, sizeof buf, "%-*s %-*s %10s %-4s %-14s %s\n", aw, "START", aw, "END", "SIZE",
                "PERM", "ROLE", "CONTENTS");
  out += buf;
  auto row = [&](uint64_t s, uint64_t e, const std::string& perms, const std::string& role,
                 const std::string& what) {
    std::snprintf(buf, sizeof buf, "%0*llx %0*llx %10s %-4s %-14s ", aw, (unsigned long long)s, aw,
                  (unsigned long long)e, human_size(e - s).c_str(), perms.substr(0, 3).c_str(),
                  role.c_str());
    out += buf;
    out += what;
    out += '\n';
  };
  for (const auto& [start, v] : r.mm_vmas.vmas()) {
    Role role = role_of(r, v);
    std::string what = sim::vma_name(r, v);
    if (role.object >= 0 && size_t(role.object) < sections.size()) {
      std::string secs;
      for (const auto& s : sections_in(r, sections, role.object, v))
        secs += (secs.empty() ? "" : " ") + s;
      if (v.kind == sim::Vma::Kind::File) {
        size_t slash = what.rfind('/');
        what = what.substr(slash == std::string::npos ? 0 : slash + 1);
      } else {
        what = "";
      }
      if (!secs.empty()) what += (what.empty() ? "" : ": ") + secs;
    }
    if (role.object < 0 && role.role.compare(0, 4, "lib ") == 0 && v.kind == sim::Vma::Kind::File) {
      size_t slash = what.rfind('/');
      what = what.substr(slash == std::string::npos ? 0 : slash + 1);
    }
    row(v.start, v.end, perms_of(v), role.role, what);
  }
  if (r.profile.vsyscall) row(r.profile.vsyscall_start, r.profile.vsyscall_end, "--xp", "vsyscall", "[vsyscall]");
  out += "\n";
  std::snprintf(buf, sizeof buf, "entry %s  load_bias %s  interp_base %s  mmap_base %s\n",
                hex(r.entry).c_str(), hex(r.load_bias).c_str(),
                r.interp_base ? hex(*r.interp_base).c_str() : "-", hex(r.mm.mmap_base).c_str());
  out += buf;
  std::snprintf(buf, sizeof buf, "start_brk %s  brk %s  rip %s  sp %s  stack %s\n",
                hex(r.mm.start_brk).c_str(), hex(r.mm.brk).c_str(), hex(r.rip).c_str(),
                hex(r.stack.sp).c_str(), r.exec_stack ? "executable" : "non-executable");
  out += buf;
  out += "profile " + r.profile.name + " (" + r.host.source + " values, stack rlimit " +
         (r.host.stack_rlimit == sim::kRlimInfinity ? std::string("unlimited")
                                                    : human_size(r.host.stack_rlimit)) +
         ")\n";
  return out;
}

nlohmann::json mm_json(const sim::MmFields& mm) {
  return {{"start_code", hex(mm.start_code)}, {"end_code", hex(mm.end_code)},
          {"start_data", hex(mm.start_data)}, {"end_data", hex(mm.end_data)},
          {"start_brk", hex(mm.start_brk)},   {"brk", hex(mm.brk)},
          {"start_stack", hex(mm.start_stack)}, {"arg_start", hex(mm.arg_start)},
          {"arg_end", hex(mm.arg_end)},       {"env_start", hex(mm.env_start)},
          {"env_end", hex(mm.env_end)},       {"mmap_base", hex(mm.mmap_base)}};
}

nlohmann::json profile_json(const sim::KernelProfile& p, const sim::HostState& h) {
  nlohmann::json vdso = nlohmann::json::array();
  for (const auto& s : p.vdso_block) vdso.push_back({{"name", s.name}, {"size", hex(s.size)}});
  nlohmann::json order = nlohmann::json::array();
  for (uint64_t t : p.auxv_order) order.push_back(elf::at_name(t));
  return {{"name", p.name},
          {"source", h.source},
          {"page_size", p.page_size},
          {"task_size", hex(p.task_size)},
          {"default_map_window", hex(p.default_map_window)},
          {"stack_top", hex(p.stack_top)},
          {"elf_et_dyn_base", hex(p.elf_et_dyn_base)},
          {"stack_guard_gap", hex(p.stack_guard_gap)},
          {"mmap_min_addr", hex(h.mmap_min_addr)},
          {"stack_rlimit", h.stack_rlimit == sim::kRlimInfinity ? nlohmann::json("unlimited")
                                                                : nlohmann::json(h.stack_rlimit)},
          {"hwcap", hex(h.hwcap)},
          {"hwcap2", hex(h.hwcap2)},
          {"minsigstksz", h.minsigstksz},
          {"clktck", h.clktck},
          {"platform", h.platform},
          {"rseq_feature_size", h.rseq_feature_size.value_or(p.rseq_feature_size)},
          {"rseq_align", h.rseq_align.value_or(p.rseq_align)},
          {"uid", h.uid},
          {"euid", h.euid},
          {"gid", h.gid},
          {"egid", h.egid},
          {"secure", h.secure},
          {"vdso_block", vdso},
          {"vsyscall", p.vsyscall},
          {"auxv_order", order}};
}

nlohmann::json target_json(const sim::ExecResult& r) {
  const sim::KernelProfile& p = r.profile;
  return {{"kernel", p.kernel},
          {"arch", p.arch},
          // The program's ABI: "ia32" for an EM_386 program the compat loader ran.
          {"abi", p.compat ? "ia32" : p.arch},
          {"config", {{"vsyscall", p.vsyscall_mode}, {"paging", p.paging},
                      {"ia32", p.ia32.enabled ? "on" : "off"}}},
          {"personality", personality_names(r.personality)},
          {"mmap_layout", r.mm.bottom_up ? "legacy" : "topdown"}};
}

std::string target_text(const sim::ExecResult& r) {
  std::string s = sim::target_label(r.profile);
  std::string flags;
  for (const std::string& n : personality_names(r.personality))
    if (n != "addr_no_randomize") flags += (flags.empty() ? "" : ",") + n;
  if (!flags.empty()) s += ", personality " + flags;
  if (r.mm.bottom_up) s += ", legacy mmap layout";
  return s;
}

nlohmann::json mappings_json(const std::vector<loader::FileIdentity>& files,
                             const sim::MmFields& mm, const std::vector<sim::Vma>& vmas,
                             const sim::KernelProfile& p) {
  nlohmann::json maps = nlohmann::json::array();
  for (const util::MapsLine& m : sim::proc_maps(files, mm, vmas, p)) {
    char dev[24];
    std::snprintf(dev, sizeof dev, "%02x:%02x", m.dev_major, m.dev_minor);
    maps.push_back({{"start", hex(m.start)}, {"end", hex(m.end)}, {"perms", m.perms},
                    {"offset", hex(m.offset)}, {"dev", dev}, {"inode", m.inode},
                    {"path", m.path}});
  }
  return maps;
}

std::string dump_json(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json layout_json(const sim::ExecResult& r) {
  nlohmann::json maps = mappings_json(r.files, r.mm, vma_list(r), r.profile);
  nlohmann::json j;
  j["mappings"] = maps;
  j["mm"] = mm_json(r.mm);
  j["entry"] = hex(r.entry);
  j["load_bias"] = hex(r.load_bias);
  j["interp_base"] = r.interp_base ? nlohmann::json(hex(*r.interp_base)) : nlohmann::json(nullptr);
  j["rip"] = hex(r.rip);
  j["sp"] = hex(r.stack.sp);
  j["exec_stack"] = r.exec_stack;
  j["profile"] = profile_json(r.profile, r.host);
  j["target"] = target_json(r);
  j["warnings"] = r.warnings;
  j["stage"] = r.start ? "start" : "exec";
  if (!r.aslr_forced.empty()) j["aslr_forced"] = r.aslr_forced;
  nlohmann::json scripts = nlohmann::json::array();
  for (const auto& sp : r.scripts)
    scripts.push_back({{"script", sp.script},
                       {"interpreter", sp.interpreter},
                       {"argument", sp.has_argument ? nlohmann::json(sp.argument) : nlohmann::json(nullptr)}});
  j["scripts"] = scripts;
  if (r.start) {
    nlohmann::json objs = nlohmann::json::array();
    for (const auto& o : r.start->objects)
      objs.push_back({{"name", o.name}, {"path", o.path}, {"base", hex(o.base)},
                      {"start", hex(o.start)}, {"end", hex(o.end)}});
    j["objects"] = objs;
    j["heap_may_appear"] = r.start->heap_may_appear;
    j["thread_pointer"] = hex(r.start->tcb);
    j["ldso_stack"] = r.start->ldso_stack ? ldso_stack_json(*r.start->ldso_stack)
                                          : nlohmann::json(nullptr);
    j["notes"] = r.start->notes;
  }
  return j;
}

nlohmann::json ldso_stack_json(const sim::LdsoStack& s) {
  return {{"depth", s.depth},
          {"where", s.where},
          {"exact", s.lower_bound_because.empty()},
          {"lower_bound_because", s.lower_bound_because},
          {"initializers_not_modelled", s.initializers_not_modelled},
          {"room", s.room ? nlohmann::json(*s.room) : nlohmann::json("unlimited")}};
}

std::string ldso_stack_line(const sim::LdsoStack& s) {
  std::string line = "ld.so stack: " + std::to_string(s.depth) + " bytes below sp" +
                     (s.lower_bound_because.empty() ? "" : " at least") + " (" + s.where +
                     "); the stack limit leaves " +
                     (s.room ? std::to_string(*s.room) + " bytes" : std::string("unlimited"));
  for (const std::string& b : s.lower_bound_because) line += "\nnote: a lower bound: " + b;
  return line;
}

nlohmann::json error_json(const sim::ExecError& e) {
  nlohmann::json err;
  if (e.kind == sim::ExecError::Kind::Signal) {
    err = {{"signal", e.name}, {"message", e.message}, {"check", e.check},
           {"before_entry", e.before_entry}};
  } else if (e.kind == sim::ExecError::Kind::Io) {
    err = {{"io", true}, {"message", e.message}};
  } else if (e.kind == sim::ExecError::Kind::LdSo) {
    err = {{"exit_status", 127}, {"message", e.message}, {"check", e.check}};
  } else {
    err = {{"errno", e.err}, {"name", e.name}, {"message", e.message}, {"check", e.check}};
  }
  return {{"error", err}};
}

std::string error_line(const sim::ExecError& e) {
  switch (e.kind) {
    case sim::ExecError::Kind::Signal:
      return std::string(e.before_entry ? "the process would be killed before its entry point: "
                                        : "execve would kill the process: ") +
             e.name + ": " + e.message + " (" + e.check + ")";
    case sim::ExecError::Kind::Io:
      return e.message;
    case sim::ExecError::Kind::LdSo:
      return "ld.so would exit with status 127 before the entry point: error while loading "
             "shared libraries: " + e.message;
    default:
      return "execve would fail: " + e.name + ": " + e.message + " (" + e.check + ")";
  }
}

}  // namespace execmap::cli
