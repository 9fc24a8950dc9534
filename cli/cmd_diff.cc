// `execmap diff`: two programs, or one program under two settings, region by region: where each
// region lands with ASLR off, how much randomisation it has (the entropy model), and the
// hardening markers of the two files.
#include <cmath>
#include <cstdio>
#include <iostream>

#include "cli/aslr_view.h"
#include "cli/commands.h"
#include "cli/host_pipeline.h"
#include "cli/exit_codes.h"
#include "cli/render.h"
#include "loader/hardening.h"

namespace execmap::cli {
namespace {

// Splits an --args string as a POSIX shell would split plain words: whitespace separates,
// '...' is literal, "..." allows \" and \\, a backslash outside quotes escapes one character.
bool split_words(const std::string& s, std::vector<std::string>* out, std::string* err) {
  std::string cur;
  bool have = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (have) out->push_back(cur);
      cur.clear();
      have = false;
    } else if (c == '\'') {
      size_t j = s.find('\'', i + 1);
      if (j == std::string::npos) return *err = "--args: unterminated '", false;
      cur += s.substr(i + 1, j - i - 1);
      have = true;
      i = j;
    } else if (c == '"') {
      size_t j = i + 1;
      for (; j < s.size() && s[j] != '"'; ++j) {
        if (s[j] == '\\' && j + 1 < s.size() && (s[j + 1] == '"' || s[j + 1] == '\\')) ++j;
        cur += s[j];
      }
      if (j >= s.size()) return *err = "--args: unterminated \"", false;
      have = true;
      i = j;
    } else if (c == '\\' && i + 1 < s.size()) {
      cur += s[++i];
      have = true;
    } else {
      cur += c;
      have = true;
    }
  }
  if (have) out->push_back(cur);
  return true;
}

struct Side {
  std::string role;  // "left" / "right"
  ExecOptions eo;
  sim::ExecRequest req;
  sim::EntropyResult model;  // with the side's --aslr
  sim::EntropyResult fixed;  // ASLR off: the positions
  loader::Hardening hard;
};

struct Program {
  std::string path;
  std::vector<std::string> args;
};

// A [--args "..."] [B [--args "..."]] as left after the options.
bool parse_programs(std::vector<std::string> words, Program* a, std::optional<Program>* b,
                    std::string* err) {
  std::vector<Program> progs;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    std::string args;
    bool is_args = false;
    if (w == "--args") {
      if (i + 1 >= words.size()) return *err = "--args needs a value", false;
      args = words[++i];
      is_args = true;
    } else if (w.rfind("--args=", 0) == 0) {
      args = w.substr(7);
      is_args = true;
    }
    if (is_args) {
      if (progs.empty()) return *err = "--args comes after the program it belongs to", false;
      if (!split_words(args, &progs.back().args, err)) return false;
      continue;
    }
    if (w.size() > 1 && w[0] == '-') return *err = "unknown option " + w, false;
    progs.push_back({w, {}});
  }
  if (progs.empty()) return *err = "a program to compare is required", false;
  if (progs.size() > 2) return *err = "diff compares two programs; got " + std::to_string(progs.size()), false;
  *a = progs[0];
  if (progs.size() == 2) *b = progs[1];
  return true;
}

std::string yes_no(bool b) { return b ? "yes" : "no"; }

const sim::RegionEntropy* find_region(const sim::EntropyResult& m, const std::string& name) {
  for (const auto& r : m.regions)
    if (r.name == name) return &r;
  return nullptr;
}

std::string randomization(const sim::RegionEntropy* l, const sim::RegionEntropy* r) {
  if (!l) return "only_right";
  if (!r) return "only_left";
  bool lr = l->count > 1, rr = r->count > 1;
  if (!lr && !rr) return "none";
  if (!lr) return "gained";
  if (!rr) return "lost";
  return l->count == r->count ? "same" : "changed";
}

struct HardRow {
  std::string name, left, right;
};

std::vector<HardRow> hardening_rows(const Side& l, const Side& r) {
  auto pie = [](const Side& s) {
    return !s.hard.pie ? std::string("no") : s.hard.has_interp ? std::string("yes") : std::string("static-pie");
  };
  auto nx = [](const Side& s) { return yes_no(!s.fixed.base.exec_stack); };
  return {{"pie", pie(l), pie(r)},
          {"relro", l.hard.relro, r.hard.relro},
          {"nx_stack", nx(l), nx(r)},
          {"separate_code", yes_no(l.hard.separate_code), yes_no(r.hard.separate_code)},
          {"ibt", yes_no(l.hard.ibt), yes_no(r.hard.ibt)},
          {"shstk", yes_no(l.hard.shstk), yes_no(r.hard.shstk)}};
}

nlohmann::json side_json(const Side& s) {
  const auto& h = s.req.host;
  return {{"path", s.req.filename},
          {"argv", s.req.argv},
          {"aslr", s.req.randomize ? "on" : "off"},
          {"stack_limit", h.stack_rlimit == sim::kRlimInfinity ? std::string("unlimited")
                                                               : human_size(h.stack_rlimit)}};
}

std::vector<std::string> region_names(const Side& l, const Side& r) {
  std::vector<std::string> names;
  for (const auto* m : {&l.fixed, &r.fixed})
    for (const auto& x : m->regions)
      if (std::find(names.begin(), names.end(), x.name) == names.end()) names.push_back(x.name);
  // Keep the model's order: exe, interp, vdso, the libraries of --stage start ("lib ...",
  // in load order), stack, sp, brk, mmap_base.
  static const char* order[] = {"exe", "interp", "vdso", "", "stack", "sp", "brk", "mmap_base"};
  std::vector<std::string> sorted;
  for (const char* o : order) {
    if (!*o) {
      for (const auto& n : names)
        if (n.compare(0, 4, "lib ") == 0) sorted.push_back(n);
      continue;
    }
    if (std::find(names.begin(), names.end(), o) != names.end()) sorted.push_back(o);
  }
  return sorted;
}

nlohmann::json diff_json(const Side& l, const Side& r) {
  nlohmann::json regions = nlohmann::json::array();
  for (const auto& name : region_names(l, r)) {
    const auto *lp = find_region(l.fixed, name), *rp = find_region(r.fixed, name);
    const auto *lm = find_region(l.model, name), *rm = find_region(r.model, name);
    auto one = [](const sim::RegionEntropy* pos, const sim::RegionEntropy* m) {
      if (!pos || !m) return nlohmann::json(nullptr);
      nlohmann::json j = region_json(*m);
      j.erase("name");
      j["position"] = hex(pos->min);
      return j;
    };
    nlohmann::json row = {{"name", name}, {"left", one(lp, lm)}, {"right", one(rp, rm)}};
    row["moved"] = lp && rp ? nlohmann::json(signed_hex(int64_t(rp->min - lp->min)))
                            : nlohmann::json(nullptr);
    row["randomization"] = randomization(lm, rm);
    row["bits_change"] = lm && rm ? nlohmann::json(round_bits(round_bits(rm->bits) - round_bits(lm->bits)))
                                  : nlohmann::json(nullptr);
    regions.push_back(row);
  }
  nlohmann::json hard = nlohmann::json::array();
  for (const auto& h : hardening_rows(l, r))
    hard.push_back({{"name", h.name}, {"left", h.left}, {"right", h.right}, {"differs", h.left != h.right}});
  return {{"left", side_json(l)}, {"right", side_json(r)}, {"regions", regions}, {"hardening", hard}};
}

std::string diff_text(const Side& l, const Side& r) {
  std::string out;
  char buf[400];
  auto limit = [](const Side& s) {
    uint64_t v = s.req.host.stack_rlimit;
    return v == sim::kRlimInfinity ? std::string("unlimited") : human_size(v);
  };
  auto argv = [](const Side& s) {
    std::string a;
    for (size_t i = 1; i < s.req.argv.size(); ++i) {
      const std::string& w = s.req.argv[i];
      bool plain = !w.empty() && w.find_first_of(" \t\n'\"\\") == std::string::npos;
      a += (i > 1 ? " " : "") + (plain ? w : "'" + w + "'");
    }
    return a.empty() ? std::string("-") : a;
  };
  std::snprintf(buf, sizeof buf, "%-14s %-34s %-34s\n", "", "LEFT", "RIGHT");
  out += buf;
  std::snprintf(buf, sizeof buf, "%-14s %-34s %-34s\n", "program", l.req.filename.c_str(), r.req.filename.c_str());
  out += buf;
  std::snprintf(buf, sizeof buf, "%-14s %-34s %-34s\n", "arguments", argv(l).c_str(), argv(r).c_str());
  out += buf;
  std::snprintf(buf, sizeof buf, "%-14s %-34s %-34s\n", "aslr", l.req.randomize ? "on" : "off",
                r.req.randomize ? "on" : "off");
  out += buf;
  std::snprintf(buf, sizeof buf, "%-14s %-34s %-34s\n\n", "stack rlimit", limit(l).c_str(), limit(r).c_str());
  out += buf;

  out += "Regions: position with ASLR off, then the randomisation of each side's setting\n";
  int w = 10;  // the REGION column fits library names ("lib libselinux.so.1")
  for (const auto& name : region_names(l, r)) w = std::max(w, int(name.size()));
  std::snprintf(buf, sizeof buf, "%-*s %-16s %7s   %-16s %7s   %s\n", w, "REGION", "LEFT", "BITS",
                "RIGHT", "BITS", "CHANGE");
  out += buf;
  for (const auto& name : region_names(l, r)) {
    const auto *lp = find_region(l.fixed, name), *rp = find_region(r.fixed, name);
    const auto *lm = find_region(l.model, name), *rm = find_region(r.model, name);
    std::string change;
    if (lp && rp) {
      int64_t d = int64_t(rp->min - lp->min);
      change = d ? "moved " + signed_hex(d) : "same place";
    } else {
      change = lp ? "only on the left" : "only on the right";
    }
    std::string rnd = randomization(lm, rm);
    char b2[96];
    if (rnd == "gained") {
      std::snprintf(b2, sizeof b2, "; became randomised (+%.2f bits)", rm->bits);
      change += b2;
    } else if (rnd == "lost") {
      std::snprintf(b2, sizeof b2, "; no longer randomised (-%.2f bits)", lm->bits);
      change += b2;
    } else if (rnd == "changed") {
      std::snprintf(b2, sizeof b2, "; entropy %+.2f bits", rm->bits - lm->bits);
      change += b2;
    }
    auto pos = [](const sim::RegionEntropy* p) { return p ? hex(p->min) : std::string("-"); };
    auto bits = [](const sim::RegionEntropy* m) {
      char b[16];
      if (!m) return std::string("-");
      std::snprintf(b, sizeof b, "%.2f", m->bits);
      return std::string(b);
    };
    std::snprintf(buf, sizeof buf, "%-*s %-16s %7s   %-16s %7s   %s\n", w, name.c_str(), pos(lp).c_str(),
                  bits(lm).c_str(), pos(rp).c_str(), bits(rm).c_str(), change.c_str());
    out += buf;
  }
  out += "\nRanges with ASLR as set (min-max, step; tied regions keep a fixed distance)\n";
  for (const auto& name : region_names(l, r)) {
    const auto *lm = find_region(l.model, name), *rm = find_region(r.model, name);
    auto range = [](const sim::RegionEntropy* m) {
      if (!m) return std::string("-");
      if (m->count <= 1) return "fixed " + hex(m->min);
      std::string s = hex(m->min) + "-" + hex(m->max) + " /" + hex(m->align);
      if (!m->tied_to.empty()) s += " =" + m->tied_to;
      return s;
    };
    if ((!lm || lm->count <= 1) && (!rm || rm->count <= 1)) continue;
    std::snprintf(buf, sizeof buf, "%-*s %-52s %s\n", w, name.c_str(), range(lm).c_str(), range(rm).c_str());
    out += buf;
  }
  out += "\n";
  std::snprintf(buf, sizeof buf, "%-14s %-12s %-12s\n", "HARDENING", "LEFT", "RIGHT");
  out += buf;
  for (const auto& h : hardening_rows(l, r)) {
    std::snprintf(buf, sizeof buf, "%-14s %-12s %-12s%s\n", h.name.c_str(), h.left.c_str(), h.right.c_str(),
                  h.left != h.right ? "differs" : "");
    out += buf;
  }
  return out;
}

}  // namespace

CLI::App* setup_diff(CLI::App& app, DiffOptions& o) {
  CLI::App* sub = app.add_subcommand(
      "diff", "Compare two programs, or one program under two settings: region positions, "
              "randomisation (entropy model) and hardening (PIE, RELRO, NX stack, separate "
              "code, IBT/SHSTK)");
  sub->add_option("--left-aslr", o.left_aslr, "ASLR for the left side (default: --aslr)")
      ->check(CLI::IsMember({"on", "off"}));
  sub->add_option("--right-aslr", o.right_aslr, "ASLR for the right side (default: --aslr)")
      ->check(CLI::IsMember({"on", "off"}));
  sub->add_option("--left-stack-limit", o.left_stack_limit,
                  "RLIMIT_STACK for the left side (default: --stack-limit)");
  sub->add_option("--right-stack-limit", o.right_stack_limit,
                  "RLIMIT_STACK for the right side (default: --stack-limit)");
  o.exec.aslr = "on";
  add_exec_options(sub, o.exec, {"text", "json"}, "text");
  sub->footer("A [--args \"ARGS\"] [B [--args \"ARGS\"]]: the programs and their arguments (split "
              "like shell words). Without B, A is compared with itself under the --left-*/--right-* "
              "settings. Options go before A.");
  return sub;
}

int run_diff(const DiffOptions& o) {
  std::string err;
  Program a;
  std::optional<Program> b;
  std::vector<std::string> words = o.exec.command.empty() && o.exec.sub ? o.exec.sub->remaining()
                                                                         : o.exec.command;
  if (!parse_programs(words, &a, &b, &err)) {
    std::cerr << "execmap: error: " << err << "\n";
    return kExitUsage;
  }
  if (!b) b = a;
  Side sides[2];
  const Program* progs[2] = {&a, &*b};
  HostPipeline hp;
  loader::HostFileSystem& fs = hp.fs;
  for (int i = 0; i < 2; ++i) {
    Side& s = sides[i];
    s.role = i == 0 ? "left" : "right";
    s.eo = o.exec;
    s.eo.sub = nullptr;
    s.eo.command = {progs[i]->path};
    for (const auto& w : progs[i]->args) s.eo.command.push_back(w);
    const std::string& aslr = i == 0 ? o.left_aslr : o.right_aslr;
    const std::string& lim = i == 0 ? o.left_stack_limit : o.right_stack_limit;
    if (!aslr.empty()) s.eo.aslr = aslr;
    if (!lim.empty()) s.eo.stack_limit = lim;
    if (!build_request(s.eo, &s.req, &err)) {
      std::cerr << "execmap: error: " << s.role << ": " << err << "\n";
      return kExitUsage;
    }
    s.model = sim::entropy_model(s.req, hp.pipeline);
    if (!s.model.ok()) {
      std::cerr << "execmap: " << s.role << " program: ";
      return report_failure(s.model.base, "text");
    }
    sim::ExecRequest off = s.req;
    off.randomize = false;
    s.fixed = sim::entropy_model(off, hp.pipeline);
    loader::OpenResult f = fs.open_exec(s.req.filename);
    std::string why;
    if (!f.file || !loader::read_hardening(*f.file, &s.hard, &why)) {
      std::cerr << "execmap: error: " << s.req.filename << ": cannot read its headers: "
                << (f.file ? why : f.why) << "\n";
      return kExitFailure;
    }
  }
  if (o.exec.format == "json")
    std::cout << dump_json(diff_json(sides[0], sides[1])) << "\n";
  else
    std::cout << diff_text(sides[0], sides[1]);
  return kExitOk;
}

}  // namespace execmap::cli
