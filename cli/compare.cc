// Comparison of a simulated exec with a live capture, and capture (de)serialisation.
#include "cli/compare.h"

#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <sstream>

#include "cli/options.h"
#include "cli/render.h"
#include "loader/elf_defs.h"
#include "util/format.h"
#include "util/maps.h"

namespace execmap::cli {

namespace {

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string l;
  while (std::getline(in, l)) out.push_back(l);
  return out;
}

std::string sig_name(int sig) {
  switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGKILL: return "SIGKILL";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGTRAP: return "SIGTRAP";
    case SIGABRT: return "SIGABRT";
    default: return "signal " + std::to_string(sig);
  }
}

// Line diff by longest common subsequence (maps files are a few hundred lines at most).
void diff_lines(const std::vector<std::string>& a, const std::vector<std::string>& b,
                std::vector<Difference>* out) {
  size_t n = a.size(), m = b.size();
  std::vector<std::vector<uint16_t>> L(n + 1, std::vector<uint16_t>(m + 1, 0));
  for (size_t i = n; i-- > 0;)
    for (size_t j = m; j-- > 0;)
      L[i][j] = a[i] == b[j] ? L[i + 1][j + 1] + 1 : std::max(L[i + 1][j], L[i][j + 1]);
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      ++i;
      ++j;
    } else if (j < m && (i == n || L[i][j + 1] >= L[i + 1][j])) {
      out->push_back({"maps", "", b[j++]});
    } else {
      out->push_back({"maps", a[i++], ""});
    }
  }
}

}  // namespace

live::CaptureRequest capture_request_for(const sim::ExecRequest& req, bool disable_aslr,
                                         unsigned timeout_ms) {
  live::CaptureRequest creq;
  creq.path = req.filename;
  creq.argv = req.argv;
  creq.envp = req.envp;
  creq.disable_aslr = disable_aslr;
  creq.stack_limit = req.profile.host.stack_rlimit;
  creq.timeout_ms = timeout_ms;
  return creq;
}

Comparison compare(const sim::ExecResult& r, const live::Capture& c) {
  Comparison cmp;
  auto diff = [&](const std::string& what, const std::string& p, const std::string& a) {
    if (p != a) cmp.diffs.push_back({what, p, a});
  };
  // Outcome first: a different verdict makes the rest meaningless.
  std::string predicted, actual;
  switch (r.error.kind) {
    case sim::ExecError::Kind::None: predicted = "runs"; break;
    case sim::ExecError::Kind::Errno: predicted = "errno " + r.error.name; break;
    case sim::ExecError::Kind::Signal: predicted = "killed by " + r.error.name; break;
    case sim::ExecError::Kind::Script: predicted = "script (not modelled)"; break;
    case sim::ExecError::Kind::Io: predicted = "unreadable: " + r.error.message; break;
    case sim::ExecError::Kind::LdSo: predicted = "exits with status 127 before the entry point"; break;
  }
  switch (c.outcome) {
    case live::Capture::Outcome::Stopped: actual = "runs"; break;
    case live::Capture::Outcome::ExecFailed: actual = "errno " + sim::errno_name(c.exec_errno); break;
    case live::Capture::Outcome::Killed: actual = "killed by " + sig_name(c.signal); break;
    case live::Capture::Outcome::ExitedBeforeEntry:
      actual = "exits with status " + std::to_string(c.exit_status) + " before the entry point";
      break;
  }
  diff("outcome", predicted, actual);
  if (predicted != actual || actual != "runs") {
    cmp.exact = cmp.diffs.empty();
    return cmp;
  }

  diff_lines(lines(render_maps(r)), lines(c.maps), &cmp.diffs);
  // At the entry point (--stage start) the thread is at AT_ENTRY; ld.so left rsp as the
  // kernel set it.
  diff("rip", hex(r.start && c.at_entry ? r.entry : r.rip), hex(c.rip));
  diff("rsp", hex(r.stack.sp), hex(c.rsp));
  diff("stack end", hex(r.stack.end), hex(c.stack_end));
  const auto& m = r.mm;
  diff("mm.start_code", hex(m.start_code), hex(c.mm.start_code));
  diff("mm.end_code", hex(m.end_code), hex(c.mm.end_code));
  diff("mm.start_stack", hex(m.start_stack), hex(c.mm.start_stack));
  diff("mm.start_data", hex(m.start_data), hex(c.mm.start_data));
  diff("mm.end_data", hex(m.end_data), hex(c.mm.end_data));
  diff("mm.start_brk", hex(m.start_brk), hex(c.mm.start_brk));
  diff("mm.arg_start", hex(m.arg_start), hex(c.mm.arg_start));
  diff("mm.arg_end", hex(m.arg_end), hex(c.mm.arg_end));
  diff("mm.env_start", hex(m.env_start), hex(c.mm.env_start));
  diff("mm.env_end", hex(m.env_end), hex(c.mm.env_end));

  // auxv, entry by entry.
  size_t na = r.stack.auxv.size(), nc = c.auxv.size();
  for (size_t i = 0; i < std::max(na, nc); ++i) {
    std::string p = i < na ? elf::at_name(r.stack.auxv[i].type) + "=" + hex(r.stack.auxv[i].value) : "-";
    std::string a = i < nc ? elf::at_name(c.auxv[i].first) + "=" + hex(c.auxv[i].second) : "-";
    diff("auxv[" + std::to_string(i) + "]", p, a);
  }

  // The stack bytes, all but the 16 AT_RANDOM bytes the kernel draws at random.
  uint64_t rand_at = 0;
  for (const auto& a : c.auxv)
    if (a.first == elf::AT_RANDOM) rand_at = a.second;
  if (r.stack.sp == c.rsp && r.stack.image.size() == c.stack_image.size()) {
    int shown = 0, total = 0;
    for (size_t i = 0; i < c.stack_image.size(); ++i) {
      uint64_t addr = c.rsp + i;
      if (addr >= rand_at && addr < rand_at + 16) continue;
      if (r.stack.image[i] != c.stack_image[i]) {
        ++total;
        if (shown++ < 16) {
          char p[8], a[8];
          std::snprintf(p, sizeof p, "%02x", r.stack.image[i]);
          std::snprintf(a, sizeof a, "%02x", c.stack_image[i]);
          cmp.diffs.push_back({"stack byte at " + hex(addr), p, a});
        }
      }
    }
    if (total > shown) cmp.diffs.push_back({"stack bytes", "", std::to_string(total) + " bytes differ in all"});
  } else {
    diff("stack image size", std::to_string(r.stack.image.size()), std::to_string(c.stack_image.size()));
  }
  cmp.exact = cmp.diffs.empty();
  return cmp;
}

std::string render_comparison(const Comparison& cmp, const sim::ExecResult&, const live::Capture&) {
  if (cmp.exact) return "exact: the prediction matches the kernel (AT_RANDOM bytes excluded)\n";
  std::string out = std::to_string(cmp.diffs.size()) + " difference(s) between prediction and kernel:\n";
  for (const auto& d : cmp.diffs) {
    if (d.what == "maps") {
      if (!d.predicted.empty()) out += "  maps  - predicted: " + d.predicted + "\n";
      if (!d.actual.empty()) out += "  maps  + kernel:    " + d.actual + "\n";
    } else {
      out += "  " + d.what + ": predicted " + d.predicted + ", kernel " + d.actual + "\n";
    }
  }
  return out;
}

nlohmann::json comparison_json(const Comparison& cmp) {
  nlohmann::json diffs = nlohmann::json::array();
  for (const auto& d : cmp.diffs)
    diffs.push_back({{"what", d.what}, {"predicted", d.predicted}, {"kernel", d.actual}});
  return {{"exact", cmp.exact}, {"differences", diffs}};
}

namespace {
std::vector<uint8_t> from_hex(const std::string& s) {
  std::vector<uint8_t> v;
  for (size_t i = 0; i + 1 < s.size(); i += 2) v.push_back(uint8_t(std::stoul(s.substr(i, 2), nullptr, 16)));
  return v;
}
uint64_t u(const nlohmann::json& j) { return std::stoull(j.get<std::string>(), nullptr, 0); }
}  // namespace

nlohmann::json capture_to_json(const sim::ExecRequest& req, const live::Capture& c) {
  nlohmann::json auxv = nlohmann::json::array();
  for (const auto& a : c.auxv) auxv.push_back({hex(a.first), hex(a.second)});
  std::string outcome = c.outcome == live::Capture::Outcome::Stopped      ? "stopped"
                        : c.outcome == live::Capture::Outcome::ExecFailed ? "exec_failed"
                        : c.outcome == live::Capture::Outcome::ExitedBeforeEntry
                            ? "exited_before_entry"
                            : "killed";
  // The size of every file the capture maps, and of ld.so.cache (mapped and unmapped again
  // by ld.so before the entry point): a replay elsewhere checks it sees the same files.
  nlohmann::json sizes = nlohmann::json::object();
  {
    for (const util::MapsLine& m : util::parse_maps(c.maps)) {
      const std::string& p = m.path;
      struct stat st;
      if (p.empty() || p[0] != '/' || sizes.contains(p)) continue;
      if (::stat(p.c_str(), &st) == 0) sizes[p] = uint64_t(st.st_size);
    }
    struct stat st;
    if (c.at_entry && ::stat("/etc/ld.so.cache", &st) == 0)
      sizes["/etc/ld.so.cache"] = uint64_t(st.st_size);
  }
  return {{"path", req.filename},
          {"argv", req.argv},
          {"envp", req.envp},
          {"stack_limit", req.profile.host.stack_rlimit == sim::kRlimInfinity
                              ? nlohmann::json("unlimited")
                              : nlohmann::json(req.profile.host.stack_rlimit)},
          {"outcome", outcome},
          {"exec_errno", c.exec_errno},
          {"signal", c.signal},
          {"exit_status", c.exit_status},
          {"at_entry", c.at_entry},
          {"file_sizes", sizes},
          {"maps", c.maps},
          {"rip", hex(c.rip)},
          {"rsp", hex(c.rsp)},
          {"stack_end", hex(c.stack_end)},
          {"stack_image", util::hex_bytes(c.stack_image.data(), c.stack_image.size())},
          {"mm",
           {{"start_code", hex(c.mm.start_code)}, {"end_code", hex(c.mm.end_code)},
            {"start_stack", hex(c.mm.start_stack)}, {"start_data", hex(c.mm.start_data)},
            {"end_data", hex(c.mm.end_data)}, {"start_brk", hex(c.mm.start_brk)},
            {"arg_start", hex(c.mm.arg_start)}, {"arg_end", hex(c.mm.arg_end)},
            {"env_start", hex(c.mm.env_start)}, {"env_end", hex(c.mm.env_end)}}},
          {"auxv", auxv}};
}

live::Capture capture_from_json(const nlohmann::json& j) {
  live::Capture c;
  std::string o = j.at("outcome");
  c.outcome = o == "stopped"                 ? live::Capture::Outcome::Stopped
              : o == "exec_failed"           ? live::Capture::Outcome::ExecFailed
              : o == "exited_before_entry" ? live::Capture::Outcome::ExitedBeforeEntry
                                             : live::Capture::Outcome::Killed;
  c.exit_status = j.value("exit_status", 0);
  c.at_entry = j.value("at_entry", false);
  c.exec_errno = j.value("exec_errno", 0);
  c.signal = j.value("signal", 0);
  c.maps = j.at("maps");
  c.rip = u(j.at("rip"));
  c.rsp = u(j.at("rsp"));
  c.stack_end = u(j.at("stack_end"));
  c.stack_image = from_hex(j.at("stack_image"));
  const auto& m = j.at("mm");
  c.mm.start_code = u(m.at("start_code"));
  c.mm.end_code = u(m.at("end_code"));
  c.mm.start_stack = u(m.at("start_stack"));
  c.mm.start_data = u(m.at("start_data"));
  c.mm.end_data = u(m.at("end_data"));
  c.mm.start_brk = u(m.at("start_brk"));
  c.mm.arg_start = u(m.at("arg_start"));
  c.mm.arg_end = u(m.at("arg_end"));
  c.mm.env_start = u(m.at("env_start"));
  c.mm.env_end = u(m.at("env_end"));
  for (const auto& a : j.at("auxv")) c.auxv.emplace_back(u(a[0]), u(a[1]));
  return c;
}

sim::KernelProfile profile_from_capture(const nlohmann::json& j) {
  sim::KernelProfile p = sim::default_profile();
  sim::HostValues& h = p.host;
  h.source = "capture";
  live::Capture c = capture_from_json(j);
  p.auxv_order.clear();
  for (const auto& [type, value] : c.auxv) {
    p.auxv_order.push_back(type);
    switch (type) {
      case elf::AT_HWCAP: h.hwcap = value; break;
      case elf::AT_HWCAP2: h.hwcap2 = value; break;
      case elf::AT_MINSIGSTKSZ: h.minsigstksz = value; break;
      case elf::AT_CLKTCK: h.clktck = value; break;
      case elf::AT_RSEQ_FEATURE_SIZE: h.rseq_feature_size = value; break;
      case elf::AT_RSEQ_ALIGN: h.rseq_align = value; break;
      case elf::AT_UID: h.uid = value; break;
      case elf::AT_EUID: h.euid = value; break;
      case elf::AT_GID: h.gid = value; break;
      case elf::AT_EGID: h.egid = value; break;
      case elf::AT_SECURE: h.secure = value; break;
      case elf::AT_PLATFORM:
        if (value >= c.rsp && value < c.stack_end)
          h.platform = reinterpret_cast<const char*>(c.stack_image.data() + (value - c.rsp));
        break;
      default: break;
    }
  }
  // The vdso block and [vsyscall] as the captured maps show them.
  std::vector<sim::SpecialMapping> block;
  uint64_t block_start = 0, vdso = 0;
  bool vsyscall = false;
  for (const util::MapsLine& m : util::parse_maps(c.maps)) {
    const std::string& name = m.path;
    if (name == "[vsyscall]") vsyscall = true;
    if (name != "[vvar]" && name != "[vvar_vclock]" && name != "[vdso]") continue;
    if (block.empty()) block_start = m.start;
    if (name == "[vdso]") vdso = m.start;
    block.push_back({name, m.end - m.start, m.prot()});
  }
  if (!block.empty()) {
    h.vdso_block = block;
    h.vdso_text_offset = vdso - block_start;
  }
  p.vsyscall = vsyscall;
  const auto& sl = j.at("stack_limit");
  h.stack_rlimit = sl.is_string() ? sim::kRlimInfinity : sl.get<uint64_t>();
  return p;
}

}  // namespace execmap::cli
