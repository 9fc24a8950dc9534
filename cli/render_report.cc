// Report views of the analyses: verify's list of differences and grade's check list, as text
// and as JSON (Gradescope's results.json among them). They only read the analysis results.
#include <cstdio>
#include <sstream>

#include "cli/render.h"

namespace execmap::cli {
namespace {

using analysis::CheckResult;

const char* status_name(CheckResult::Status s) {
  switch (s) {
    case CheckResult::Status::Passed: return "passed";
    case CheckResult::Status::Failed: return "failed";
    default: return "skipped";
  }
}

std::string points(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}

}  // namespace

std::string render_comparison(const analysis::Comparison& cmp, const sim::ExecResult&,
                              const live::Capture&) {
  std::string out;
  if (!cmp.not_compared.empty()) {
    std::string fields;
    for (const std::string& f : cmp.not_compared) fields += (fields.empty() ? "" : " and ") + f;
    out += "note: " + fields + " numbers of file mappings are not compared "
           "(the VM's initramfs gives the same files its own)\n";
  }
  for (const std::string& n : cmp.notes) out += "note: " + n + "\n";
  if (cmp.exact) return out + "exact: the prediction matches the kernel (AT_RANDOM bytes excluded)\n";
  out += std::to_string(cmp.diffs.size()) + " difference(s) between prediction and kernel:\n";
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

nlohmann::json comparison_json(const analysis::Comparison& cmp) {
  nlohmann::json diffs = nlohmann::json::array();
  for (const auto& d : cmp.diffs)
    diffs.push_back({{"what", d.what}, {"predicted", d.predicted}, {"kernel", d.actual}});
  nlohmann::json j = {{"exact", cmp.exact}, {"differences", diffs}};
  if (!cmp.not_compared.empty()) j["not_compared"] = cmp.not_compared;
  if (!cmp.notes.empty()) j["notes"] = cmp.notes;
  return j;
}

std::string render_grade(const analysis::GradeReport& g) {
  std::ostringstream o;
  o << "grade: " << g.program << "\n  " << g.base_note << "\n";
  o << "  sandbox: " << g.sandbox_level << " (" << g.sandbox_detail << ")\n";
  for (const auto& c : g.checks) {
    const char* tag = c.status == CheckResult::Status::Passed ? "PASS"
                      : c.status == CheckResult::Status::Failed ? "FAIL" : "SKIP";
    o << tag << "  " << c.id << "  " << points(c.score()) << "/" << points(c.max_score()) << "  "
      << c.name << "\n";
    std::istringstream lines(c.output);
    std::string line;
    while (std::getline(lines, line)) o << "        " << line << "\n";
  }
  o << "score: " << points(g.score()) << "/" << points(g.max_score()) << "\n";
  return o.str();
}

nlohmann::json grade_json(const analysis::GradeReport& g) {
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& c : g.checks)
    checks.push_back({{"id", c.id}, {"name", c.name}, {"status", status_name(c.status)},
                      {"score", c.score()}, {"max_score", c.max_score()}, {"output", c.output}});
  return {{"program", g.program}, {"base", g.base_note}, {"score", g.score()},
          {"max_score", g.max_score()}, {"passed", !g.any_failed()}, {"checks", checks},
          {"sandbox", {{"level", g.sandbox_level}, {"detail", g.sandbox_detail}}}};
}

nlohmann::json gradescope_json(const analysis::GradeReport& g) {
  nlohmann::json tests = nlohmann::json::array();
  for (const auto& c : g.checks)
    tests.push_back({{"name", c.name}, {"score", c.score()}, {"max_score", c.max_score()},
                     {"output", std::string(status_name(c.status)) + ": " + c.output}});
  const std::string sandbox = "sandbox: " + g.sandbox_level + " (" + g.sandbox_detail + ")";
  return {{"score", g.score()},
          {"tests", tests},
          {"output", sandbox},
          {"extra_data", {{"sandbox", {{"level", g.sandbox_level}, {"detail", g.sandbox_detail}}}}}};
}

}  // namespace execmap::cli
