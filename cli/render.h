// Renderers: text, /proc/PID/maps and JSON views of one ExecResult. They only read the model.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loader/sections.h"
#include "sim/exec.h"

namespace execmap::cli {

// One /proc/PID/maps line (show_map_vma), without the newline.
std::string maps_line(uint64_t start, uint64_t end, const std::string& perms, uint64_t offset,
                      uint32_t dev_major, uint32_t dev_minor, uint64_t inode,
                      const std::string& name);
std::string render_maps(const sim::ExecResult& r);

// sections[i] holds the SHF_ALLOC sections of r.objects[i] (may be empty).
std::string render_table(const sim::ExecResult& r,
                         const std::vector<std::vector<loader::Section>>& sections);
nlohmann::json layout_json(const sim::ExecResult& r);

std::string render_stack_text(const sim::ExecResult& r);
nlohmann::json stack_json(const sim::ExecResult& r);

nlohmann::json profile_json(const sim::KernelProfile& p);
nlohmann::json mm_json(const sim::MmFields& mm);
nlohmann::json error_json(const sim::ExecError& e);
// "execve would fail: ENOEXEC: ... (check)" — the one stderr line for a predicted failure.
std::string error_line(const sim::ExecError& e);

std::string perms_of(const sim::Vma& v);
std::string human_size(uint64_t bytes);

}  // namespace execmap::cli
