// Entropy views: the model as a table or JSON, and a live sample of the kernel's choices next
// to it (paxtest-style), for `execmap entropy` and `execmap diff`.
#include "cli/aslr_view.h"

#include "analysis/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

#include "cli/options.h"
#include "cli/render.h"
#include "util/maps.h"

namespace execmap::cli {

double round_bits(double bits) { return std::round(bits * 10000.0) / 10000.0; }

std::string signed_hex(int64_t v) {
  return v < 0 ? "-" + hex(uint64_t(0) - uint64_t(v)) : hex(uint64_t(v));
}

nlohmann::json region_json(const sim::RegionEntropy& r) {
  return {{"name", r.name},
          {"min", hex(r.min)},
          {"max", hex(r.max)},
          {"align", hex(r.align)},
          {"count", r.count},
          {"bits", round_bits(r.bits)},
          {"tied_to", r.tied_to.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.tied_to)}};
}

std::map<std::string, uint64_t> observed_regions(const live::Capture& c,
                                                 const sim::EntropyResult& model) {
  std::map<std::string, uint64_t> out;
  const sim::ExecResult& b = model.base;
  std::map<std::string, std::string> role_path;  // "exe" -> canonical path as maps prints it
  for (const auto& o : b.objects)
    if (o.file >= 0 && size_t(o.file) < b.files.size()) role_path[o.role] = b.files[o.file].path;
  // --stage start: each library's lowest mapping, by its path (ld.so excluded: "interp").
  if (b.start)
    for (size_t i = 1; i < b.start->objects.size(); ++i) {
      const sim::StartInfo::Object& o = b.start->objects[i];
      if (b.interp_base && o.base == *b.interp_base) continue;
      for (const auto& kv : b.mm_vmas.vmas())
        if (kv.first == o.start && kv.second.file >= 0 && size_t(kv.second.file) < b.files.size())
          role_path["lib " + o.name] = b.files[size_t(kv.second.file)].path;
    }
  for (const util::MapsLine& m : util::parse_maps(c.maps)) {
    for (const auto& [role, p] : role_path)
      if (m.inode != 0 && m.path == p && !out.count(role)) out[role] = m.start;  // maps is sorted
    if (m.path == "[vdso]") out["vdso"] = m.start;
    if (m.path == "[stack]") out["stack"] = m.end;
  }
  if (!out.count("stack") && c.stack_end) out["stack"] = c.stack_end;
  out["sp"] = c.rsp;
  out["brk"] = c.mm.start_brk;
  // mmap_base is not visible in /proc: recover it from a region at a fixed distance from it.
  for (const auto& r : model.regions)
    if (r.tied_to == "mmap_base" && out.count(r.name)) {
      out["mmap_base"] = out[r.name] - uint64_t(r.tie_offset);
      break;
    }
  return out;
}

bool run_sample(const sim::ExecRequest& req, const sim::EntropyResult& model, unsigned n,
                unsigned timeout_ms, Sample* out, std::string* err) {
  if (!live::ptrace_available(err)) {
    *err = "--sample needs ptrace: " + *err;
    return false;
  }
  live::CaptureRequest creq = analysis::capture_request_for(req, /*disable_aslr=*/false, timeout_ms);
  creq.stop_at_entry = model.base.start.has_value();
  out->runs = n;
  out->regions.clear();
  for (const auto& r : model.regions) {
    SampleStats s;
    s.name = r.name;
    out->regions.push_back(s);
  }
  for (unsigned i = 0; i < n; ++i) {
    auto cap = live::capture_at_exec(creq, err);
    if (!cap) {
      *err = "capture " + std::to_string(i + 1) + " of " + std::to_string(n) + " failed: " + *err;
      return false;
    }
    if (cap->outcome != live::Capture::Outcome::Stopped) {
      *err = "run " + std::to_string(i + 1) + " did not reach its first instruction";
      return false;
    }
    auto obs = observed_regions(*cap, model);
    for (auto& s : out->regions) {
      auto it = obs.find(s.name);
      if (it != obs.end()) s.values.push_back(it->second);
    }
  }
  for (size_t k = 0; k < out->regions.size(); ++k) {
    SampleStats& s = out->regions[k];
    const sim::RegionEntropy& m = model.regions[k];
    if (s.values.empty()) continue;
    s.min = *std::min_element(s.values.begin(), s.values.end());
    s.max = *std::max_element(s.values.begin(), s.values.end());
    s.distinct = std::set<uint64_t>(s.values.begin(), s.values.end()).size();
    uint64_t changed = 0;
    for (uint64_t v : s.values) {
      changed |= v ^ s.values[0];
      if (v < m.min || v > m.max || (m.align && (v - m.min) % m.align)) ++s.outside;
    }
    s.changing_bits = unsigned(__builtin_popcountll(changed));
    s.bits = std::log2(double((s.max - s.min) / (m.align ? m.align : 1)) + 1.0);
    s.spread = m.max > m.min ? double(s.max - s.min) / double(m.max - m.min) : 1.0;
  }
  return true;
}

nlohmann::json entropy_json(const sim::EntropyResult& m, const Sample* sample) {
  nlohmann::json regions = nlohmann::json::array();
  for (const auto& r : m.regions) regions.push_back(region_json(r));
  nlohmann::json j = {{"regions", regions}};
  if (sample) {
    nlohmann::json sr = nlohmann::json::array();
    for (const auto& s : sample->regions) {
      nlohmann::json values = nlohmann::json::array();
      for (uint64_t v : s.values) values.push_back(hex(v));
      if (s.values.empty()) {
        sr.push_back({{"name", s.name}, {"observed", 0}});
        continue;
      }
      sr.push_back({{"name", s.name},
                    {"observed", s.values.size()},
                    {"min", hex(s.min)},
                    {"max", hex(s.max)},
                    {"distinct", s.distinct},
                    {"bits", round_bits(s.bits)},
                    {"changing_bits", s.changing_bits},
                    {"outside", s.outside},
                    {"spread", std::round(s.spread * 10000.0) / 10000.0},
                    {"values", values}});
    }
    j["sample"] = {{"runs", sample->runs}, {"regions", sr}};
  }
  return j;
}

std::string render_entropy_text(const sim::ExecRequest& req, const sim::EntropyResult& m,
                                const Sample* sample) {
  std::string out;
  char buf[320];
  const auto& h = req.host;
  // An ia32 program draws with vm.mmap_rnd_compat_bits (arch_rnd(mmap32_rnd_bits)).
  const bool compat = m.base.profile.compat;
  std::snprintf(buf, sizeof buf,
                "%s: ASLR %s (randomize_va_space %llu, %s %llu), stack rlimit %s\n",
                req.filename.c_str(), req.randomize ? "on" : "off",
                (unsigned long long)h.randomize_va_space,
                compat ? "mmap_rnd_compat_bits" : "mmap_rnd_bits",
                (unsigned long long)(compat ? h.mmap_rnd_compat_bits : h.mmap_rnd_bits),
                h.stack_rlimit == sim::kRlimInfinity ? "unlimited" : human_size(h.stack_rlimit).c_str());
  out += buf;
  // The REGION column fits the longest name ("lib libselinux.so.1" with --stage start).
  int w = 10;
  for (const auto& r : m.regions) w = std::max(w, int(r.name.size()));
  std::snprintf(buf, sizeof buf, "%-*s %-16s %-16s %-10s %12s %7s  %s\n", w, "REGION", "MIN",
                "MAX", "ALIGN", "COUNT", "BITS", "TIED TO");
  out += buf;
  for (const auto& r : m.regions) {
    std::string tie = r.tied_to.empty() ? "-" : r.tied_to + " (" + signed_hex(r.tie_offset) + ")";
    std::snprintf(buf, sizeof buf, "%-*s %-16s %-16s %-10s %12llu %6.2f%s  %s\n", w, r.name.c_str(),
                  hex(r.min).c_str(), hex(r.max).c_str(), hex(r.align).c_str(),
                  (unsigned long long)r.count, r.bits, r.count_exact ? " " : "*", tie.c_str());
    out += buf;
  }
  bool approx = false;
  for (const auto& r : m.regions) approx |= !r.count_exact;
  if (approx) out += "* count is an upper bound: the draws combine into a set with gaps\n";
  for (const auto& n : m.notes) out += "note: " + n + "\n";
  if (sample) {
    std::snprintf(buf, sizeof buf,
                  "\nlive: %u runs with ASLR on, each stopped at %s\n", sample->runs,
                  m.base.start ? "its entry point (AT_ENTRY)" : "its first instruction");
    out += buf;
    std::snprintf(buf, sizeof buf, "%-*s %-16s %-16s %8s %8s %8s %8s  %s\n", w, "REGION",
                  "OBSERVED MIN", "OBSERVED MAX", "DISTINCT", "EST BITS", "CHANGING", "SPREAD",
                  "IN MODEL");
    out += buf;
    for (const auto& s : sample->regions) {
      if (s.values.empty()) {
        std::snprintf(buf, sizeof buf, "%-*s (not observable)\n", w, s.name.c_str());
        out += buf;
        continue;
      }
      std::string inside = s.outside ? "NO: " + std::to_string(s.outside) + " outside" : "yes";
      std::snprintf(buf, sizeof buf, "%-*s %-16s %-16s %8llu %8.2f %8u %7.1f%%  %s\n", w,
                    s.name.c_str(), hex(s.min).c_str(), hex(s.max).c_str(),
                    (unsigned long long)s.distinct, s.bits, s.changing_bits, s.spread * 100.0,
                    inside.c_str());
      out += buf;
    }
    out += "EST BITS: log2 of the observed span in steps of ALIGN, plus one. CHANGING: bits that "
           "differ between runs (paxtest's measure). SPREAD: the observed span as a share of the "
           "model's.\n";
  }
  return out;
}

}  // namespace execmap::cli
