// Comparison of a simulated exec with the kernel's answer, item by item: what `verify`
// reports and the golden replays check.
#include "analysis/compare.h"

#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "loader/elf_defs.h"
#include "sim/proc_maps.h"
#include "util/format.h"
#include "util/maps.h"

namespace execmap::analysis {

using util::hex;

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

// A maps line without its device and inode fields (and the padding whose width follows the
// inode's): "start-end perms offset path".
std::string without_identity(const std::string& line) {
  size_t at = 0;
  std::string out;
  for (int field = 0; field < 5; ++field) {
    size_t end = line.find(' ', at);
    if (end == std::string::npos) return line;  // not a maps line: compare it whole
    if (field < 3) out += line.substr(at, end - at) + " ";
    at = end + 1;
  }
  size_t path = line.find_first_not_of(' ', at);
  if (path != std::string::npos) out += line.substr(path);
  return out;
}

// Line diff by longest common subsequence (maps files are a few hundred lines at most) of the
// lines' keys; the differences show the lines themselves.
void diff_lines(const std::vector<std::string>& a, const std::vector<std::string>& b,
                bool identity, std::vector<Difference>* out) {
  size_t n = a.size(), m = b.size();
  std::vector<std::string> ka = a, kb = b;
  if (!identity) {
    for (std::string& l : ka) l = without_identity(l);
    for (std::string& l : kb) l = without_identity(l);
  }
  std::vector<std::vector<uint16_t>> L(n + 1, std::vector<uint16_t>(m + 1, 0));
  for (size_t i = n; i-- > 0;)
    for (size_t j = m; j-- > 0;)
      L[i][j] = ka[i] == kb[j] ? L[i + 1][j + 1] + 1 : std::max(L[i + 1][j], L[i][j + 1]);
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && ka[i] == kb[j]) {
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
  creq.personality = req.personality;
  creq.stack_limit = req.host.stack_rlimit;
  creq.timeout_ms = timeout_ms;
  return creq;
}

Comparison compare(const sim::ExecResult& r, const live::Capture& c, const CompareOptions& opts) {
  Comparison cmp;
  if (!opts.file_identity) cmp.not_compared = {"dev", "inode"};
  auto diff = [&](const std::string& what, const std::string& p, const std::string& a) {
    if (p != a) cmp.diffs.push_back({what, p, a});
  };
  // Outcome first: a different verdict makes the rest meaningless.
  std::string predicted, actual;
  switch (r.error.kind) {
    case sim::ExecError::Kind::None: predicted = "runs"; break;
    case sim::ExecError::Kind::Errno: predicted = "errno " + r.error.name; break;
    case sim::ExecError::Kind::Signal: predicted = "killed by " + r.error.name; break;
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

  diff_lines(lines(util::format_maps(sim::proc_maps(r))), lines(c.maps), opts.file_identity,
             &cmp.diffs);
  // At the entry point (--stage start) the thread is at AT_ENTRY, which the start stage sets
  // as rip; ld.so left rsp as the kernel set it.
  diff("rip", hex(r.rip), hex(c.rip));
  diff("rsp", hex(r.stack.sp), hex(c.rsp));
  // How deep ld.so wrote below sp on its way to the entry point (sim/rtld_stack.h): exact, or
  // at least the predicted bound when the model only bounds it.
  if (c.stack_depth && r.start && r.start->ldso_stack) {
    const sim::LdsoStack& ls = *r.start->ldso_stack;
    bool bound = !ls.lower_bound_because.empty();
    std::string predicted = (bound ? "at least " : "") + std::to_string(ls.depth) + " (" + ls.where + ")";
    if (*c.stack_depth > ls.depth && ls.initializers_not_modelled)
      // Initializers run on that stack too, and their depth is not part of the prediction.
      cmp.notes.push_back("the start-up code wrote " + std::to_string(*c.stack_depth) +
                          " bytes below sp, deeper than ld.so's predicted " + predicted +
                          ": initializers' own stack use is not modelled");
    else if (bound ? *c.stack_depth < ls.depth : *c.stack_depth != ls.depth)
      cmp.diffs.push_back({"ld.so stack depth below sp", predicted, std::to_string(*c.stack_depth)});
  }
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

}  // namespace execmap::analysis
