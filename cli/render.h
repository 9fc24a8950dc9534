// Renderers: text, /proc/PID/maps and JSON views of one ExecResult. They only read the model.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/compare.h"
#include "analysis/grade.h"
#include "loader/sections.h"
#include "sim/exec.h"
#include "sim/x86_64_space.h"

namespace execmap::cli {

std::string render_maps(const sim::ExecResult& r);
// The maps lines / JSON mappings of any VMA list (a step's, or the final one), named with
// the mm fields of that moment.
std::vector<std::string> maps_lines(const std::vector<loader::FileIdentity>& files,
                                    const sim::MmFields& mm, const std::vector<sim::Vma>& vmas,
                                    const sim::KernelProfile& p);
nlohmann::json mappings_json(const std::vector<loader::FileIdentity>& files,
                             const sim::MmFields& mm, const std::vector<sim::Vma>& vmas,
                             const sim::KernelProfile& p);
std::vector<sim::Vma> vma_list(const sim::ExecResult& r);

// sections[i] holds the SHF_ALLOC sections of r.objects[i] (may be empty).
std::string render_table(const sim::ExecResult& r,
                         const std::vector<std::vector<loader::Section>>& sections);
nlohmann::json layout_json(const sim::ExecResult& r);

std::string render_stack_text(const sim::ExecResult& r);
nlohmann::json stack_json(const sim::ExecResult& r);

nlohmann::json profile_json(const sim::KernelProfile& p, const sim::HostState& h);
// {"kernel":"6.1","arch":"x86_64","config":{"vsyscall":"none","paging":4},
//  "personality":["addr_no_randomize"],"mmap_layout":"topdown"}
nlohmann::json target_json(const sim::ExecResult& r);
// "linux-6.18-x86_64 (vsyscall=xonly, paging=4)", plus the personality flags beyond
// addr_no_randomize and the legacy layout when they apply: every text header's target.
std::string target_text(const sim::ExecResult& r);
nlohmann::json mm_json(const sim::MmFields& mm);
nlohmann::json error_json(const sim::ExecError& e);
// ld.so's deepest stack point at the start stage: JSON and the one-line text form.
nlohmann::json ldso_stack_json(const sim::LdsoStack& s);
std::string ldso_stack_line(const sim::LdsoStack& s);
// "execve would fail: ENOEXEC: ... (check)" — the one stderr line for a predicted failure.
std::string error_line(const sim::ExecError& e);
// dump() that never throws on invalid UTF-8 (arguments are arbitrary bytes).
std::string dump_json(const nlohmann::json& j, int indent = 2);

// verify's answer: "exact: ..." or one line per difference, and the same as JSON.
std::string render_comparison(const analysis::Comparison& cmp, const sim::ExecResult& r,
                              const live::Capture& c);
nlohmann::json comparison_json(const analysis::Comparison& cmp);
// grade's report: each check with its points and output, as text, as JSON, and as
// Gradescope's results.json.
std::string render_grade(const analysis::GradeReport& g);
nlohmann::json grade_json(const analysis::GradeReport& g);
nlohmann::json gradescope_json(const analysis::GradeReport& g);

// Which object a VMA belongs to (an index into r.objects, or -1) and what part of it:
// "text", "rodata", "data", "bss", "interp text"..., or "stack", "heap", "vdso", "anon".
struct Role {
  int object = -1;
  std::string role;
};
Role role_of(const sim::ExecResult& r, const sim::Vma& v);
// The names of the sections of r.objects[object] (sections as for render_table) that
// overlap v, in section-header order.
std::vector<std::string> sections_in(const sim::ExecResult& r,
                                     const std::vector<std::vector<loader::Section>>& sections,
                                     int object, const sim::Vma& v);

// The classic picture of the address space, high addresses at the top, with the real
// numbers; color adds ANSI colours (the caller decides: a TTY without NO_COLOR).
std::string render_diagram(const sim::ExecResult& r,
                           const std::vector<std::vector<loader::Section>>& sections,
                           bool color);

// The whole 64-bit address space (mm.rst's table for s.paging) with r inside the user half.
std::string render_space_text(const sim::ExecResult& r, const sim::SpaceLayout& s);
nlohmann::json space_json(const sim::ExecResult& r, const sim::SpaceLayout& s);

std::string perms_of(const sim::Vma& v);
std::string human_size(uint64_t bytes);

}  // namespace execmap::cli
