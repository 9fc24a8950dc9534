// Grading a user-space ELF loader (issue 6): the state it handed to PROG at the jump (maps,
// rip, sp, stack bytes, optionally memory) checked against the simulated execve() of PROG.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/exec.h"

namespace execmap::analysis {

struct GradeMemory {
  uint64_t start = 0;
  std::vector<uint8_t> bytes;
};

// The snapshot contract: {"maps", "rip", "sp", "image", "memory"?: [{"start", "hex"}]}.
struct GradeInput {
  std::string maps;
  uint64_t rip = 0, sp = 0;
  // %rdx (%edx for an ia32 PROG) at the jump, when known: the live trace reads it, a snapshot
  // may give "rdx". The psABI makes it a function _start registers with atexit.
  std::optional<uint64_t> rdx;
  // auxv.random_fresh: the AT_RANDOM bytes of a second run of the same loader, when there was
  // one (the live grader runs it twice; a snapshot is one run). second_run_note says how it went.
  std::optional<std::vector<uint8_t>> second_random;
  std::string second_run_note;
  std::vector<uint8_t> image;  // [sp, end of the mapping holding sp)
  bool has_memory = false;
  bool traced = false;  // a live trace (every execve() after the loader's start was seen)
  std::vector<GradeMemory> memory;
};

struct CheckResult {
  enum class Status { Passed, Failed, Skipped };
  std::string id;    // "segments.mapped"
  std::string name;  // human name (rubric may rename)
  double points = 0;
  Status status = Status::Skipped;
  std::string output;  // expected vs found
  double score() const { return status == Status::Passed ? points : 0; }
  double max_score() const { return status == Status::Skipped ? 0 : points; }
};

struct GradeReport {
  std::string program;
  std::string base_note;  // how the base was found
  // The sandbox the submission ran in (live/sandbox.h's level name and detail).
  std::string sandbox_level, sandbox_detail;
  std::vector<CheckResult> checks;
  bool any_failed() const;
  double score() const;
  double max_score() const;
};

// Every check, in report order, with its default name and points.
std::vector<CheckResult> default_checks();

// Grades `in` against the simulated exec `r` of PROG (objects[0] is PROG; file = its bytes).
GradeReport grade_state(const sim::ExecResult& r, const std::vector<uint8_t>& file,
                        const GradeInput& in);
// A loader that never handed over control: every check fails with `why`.
GradeReport grade_no_state(const sim::ExecResult& r, const std::string& why);

// The 16 bytes at AT_RANDOM in a handed-over state, located as the grader locates the auxv;
// nullopt when there is no AT_RANDOM or its bytes were not captured.
std::optional<std::vector<uint8_t>> at_random_bytes(const sim::ExecResult& r,
                                                    const GradeInput& in);

bool parse_snapshot(const nlohmann::json& j, GradeInput* in, std::string* err);
// {"checks": {"<id>": {"points": N, "name": "...", "enabled": bool}}}; disabled checks are
// removed. Unknown ids are an error.
bool apply_rubric(const nlohmann::json& rubric, GradeReport* report, std::string* err);

}  // namespace execmap::analysis
