// Subcommands: each has an options struct, a setup_x(CLI::App&) and a run_x().
#pragma once

#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include "cli/options.h"
#include "loader/lib_files.h"
#include "sim/mm_ops.h"
#include "sim/rtld.h"

namespace execmap::cli {

struct LayoutOptions {
  ExecOptions exec;
  std::string ops;
};
CLI::App* setup_layout(CLI::App& app, LayoutOptions& o);
int run_layout(const LayoutOptions& o);

struct StackOptions {
  ExecOptions exec;
};
CLI::App* setup_stack(CLI::App& app, StackOptions& o);
int run_stack(const StackOptions& o);

struct VerifyOptions {
  ExecOptions exec;
  std::string save_capture;
  unsigned timeout_ms = 10000;
  std::string vm_image;         // --vm: a bzImage to boot in qemu instead of the running kernel
  std::string vm_accel = "auto";  // --vm-accel auto|kvm|tcg
  unsigned vm_timeout = 600;    // --vm-timeout: seconds for the whole boot
  bool no_sandbox = false;      // --stage start: run initializers unconfined (unsafe)
};
CLI::App* setup_verify(CLI::App& app, VerifyOptions& o);
int run_verify(const VerifyOptions& o);

struct StepOptions {
  ExecOptions exec;
  std::string ops;
  bool no_pause = false;
};
CLI::App* setup_step(CLI::App& app, StepOptions& o);
// {"steps":[{"index","name","function","changes","vmas_added","vmas_removed","mm_changed",
// "mm","mappings", "result"?, "registers"?, "stack_written"?}]}
nlohmann::json steps_json(const sim::ExecResult& r);
int run_step(const StepOptions& o);

// Builds the request for a command that compares against one exact exec (verify, grade):
// a usage error, or --aslr on, is reported and returns false with *rc set.
bool build_exact_request(const ExecOptions& eo, const char* command, sim::ExecRequest* req,
                         int* rc);

// Builds the request from the options and simulates the exec; reports a usage problem or a
// predicted failure the documented way and returns false with *rc set.
// hp: the pipeline to predict with (nullptr: a new one for this machine).
bool simulate_request(const ExecOptions& eo, bool record, sim::ExecRequest* req,
                      sim::ExecResult* r, int* rc, HostPipeline* hp = nullptr);

// Simulates the exec and applies the --ops script (when given). Returns false with *rc set
// (after reporting) when the exec fails or the script is malformed.
bool simulate_with_ops(const ExecOptions& eo, const std::string& ops_path, bool record,
                       sim::ExecResult* r, std::vector<sim::OpOutcome>* outcomes, int* rc);

nlohmann::json rtld_config_json(const sim::RtldConfig& c);
sim::RtldConfig rtld_config_from_json(const nlohmann::json& j);

struct EntropyOptions {
  ExecOptions exec;
  unsigned sample = 0;        // --sample N: live runs with ASLR on
  unsigned timeout_ms = 10000;
};
CLI::App* setup_entropy(CLI::App& app, EntropyOptions& o);
int run_entropy(const EntropyOptions& o);

struct DiffOptions {
  ExecOptions exec;           // applied to both sides
  std::string left_aslr, right_aslr;                // "" = --aslr (default on)
  std::string left_stack_limit, right_stack_limit;  // "" = --stack-limit
};
CLI::App* setup_diff(CLI::App& app, DiffOptions& o);
int run_diff(const DiffOptions& o);

struct SpaceOptions {
  ExecOptions exec;
  // --paging: 4- or 5-level page tables (Documentation/arch/x86/x86_64/mm.rst); 0 = the
  // target's (--kernel-config paging=N, or the running kernel's).
  int paging = 0;
};
CLI::App* setup_space(CLI::App& app, SpaceOptions& o);
int run_space(const SpaceOptions& o);

struct LibsOptions {
  ExecOptions exec;
};
CLI::App* setup_libs(CLI::App& app, LibsOptions& o);
int run_libs(const LibsOptions& o);

struct GradeOptions {
  ExecOptions exec;
  std::string snapshot, loader, rubric, gradescope;
  unsigned timeout_ms = 10000;
  // The loader's resource limits (--loader). RLIMIT_AS is large enough for the reservations
  // a correct loader makes (a 4 GiB PROT_NONE span for a PIE, say).
  uint64_t as_limit_mb = 16384, fsize_mb = 1;
  unsigned cpu_seconds = 5;
  bool no_sandbox = false;      // unsafe: the submission runs as the grader's user
  uint64_t scratch_mb = 64;     // the sandbox's one writable tmpfs
  std::vector<std::string> own_options;  // grade's option names, to warn when PROG gets one
};
CLI::App* setup_grade(CLI::App& app, GradeOptions& o);
int run_grade(const GradeOptions& o);

struct KernelsOptions {
  std::string format = "text";
};
CLI::App* setup_kernels(CLI::App& app, KernelsOptions& o);
int run_kernels(const KernelsOptions& o);

// Shared by the commands: simulate, and report a predicted failure the documented way.
// Returns -1 when the exec succeeds, else the exit code already reported.
int report_failure(const sim::ExecResult& r, const std::string& format);

}  // namespace execmap::cli
