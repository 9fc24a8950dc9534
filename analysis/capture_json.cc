// The capture file: a live run's request and the kernel's answer as JSON, which the golden
// tests replay without ptrace, and the host values a replay recovers from it.
#include "analysis/capture_json.h"

#include <sys/stat.h>

#include <string>

#include "loader/elf_defs.h"
#include "util/format.h"
#include "util/maps.h"

namespace execmap::analysis {

using util::hex;

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
  nlohmann::json j = {{"path", req.filename},
          {"argv", req.argv},
          {"envp", req.envp},
          {"stack_limit", req.host.stack_rlimit == sim::kRlimInfinity
                              ? nlohmann::json("unlimited")
                              : nlohmann::json(req.host.stack_rlimit)},
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
  if (c.compat) j["compat"] = true;  // an ia32 tracee; absent (false) for a 64-bit one
  // The caller's personality flags besides ADDR_NO_RANDOMIZE (setarch -L, -3, -X, -Z...);
  // absent when none.
  if (req.personality) j["personality"] = req.personality;
  // How deep the start-up code wrote below sp (measure_stack_depth); absent when not measured.
  if (c.stack_depth) j["stack_depth"] = *c.stack_depth;
  return j;
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
  c.compat = j.value("compat", false);
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
  if (j.contains("stack_depth") && j.at("stack_depth").is_number_unsigned())
    c.stack_depth = j.at("stack_depth").get<uint64_t>();
  return c;
}

CaptureTarget target_from_capture(const nlohmann::json& j) {
  CaptureTarget t;
  sim::HostState& h = t.host;
  h.source = "capture";
  live::Capture c = capture_from_json(j);
  t.measured.valid = true;
  for (const auto& [type, value] : c.auxv) {
    t.measured.auxv_order.push_back(type);
    switch (type) {
      case elf::AT_HWCAP: h.hwcap = value; break;
      case elf::AT_HWCAP2: h.hwcap2 = value; break;
      case elf::AT_MINSIGSTKSZ: h.minsigstksz = value; break;
      case elf::AT_CLKTCK: h.clktck = value; break;
      case elf::AT_RSEQ_FEATURE_SIZE: t.measured.rseq_feature_size = value; break;
      case elf::AT_RSEQ_ALIGN: t.measured.rseq_align = value; break;
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
    t.config.vdso_block = block;
    t.config.vdso_text_offset = vdso - block_start;
  }
  t.config.vsyscall = vsyscall ? sim::VsyscallMode::xonly : sim::VsyscallMode::none;
  const auto& sl = j.at("stack_limit");
  h.stack_rlimit = sl.is_string() ? sim::kRlimInfinity : sl.get<uint64_t>();
  return t;
}

}  // namespace execmap::analysis
