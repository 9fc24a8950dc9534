// Options shared by every subcommand that simulates an exec, and their translation into a
// sim::ExecRequest (argv, envp, profile).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "sim/exec.h"
#include "sim/target.h"
#include "util/format.h"

namespace execmap::cli {

struct ExecOptions {
  bool ignore_environment = false;
  std::vector<std::string> env;
  std::string env_file;
  std::string args_file;  // --args-file: NUL-separated arguments after PATH
  std::optional<std::string> argv0;
  std::string stack_limit;
  std::string format;
  std::string profile = "host";
  std::vector<std::string> host_values;
  std::string aslr = "off";
  std::string stage = "exec";  // --stage exec|start
  std::string personality;     // --personality FLAG[,FLAG...]
  std::string kernel = "host";  // --kernel VERSION|host
  std::vector<std::string> kernel_config;  // --kernel-config KEY=VALUE
  uint64_t seed = 0;
  std::vector<std::string> command;  // PATH then the program's own arguments (tests set it)
  CLI::App* sub = nullptr;           // where the command line left PATH [ARG...]
};

struct HostPipeline;  // cli/host_pipeline.h

// Registers -i/--env/--env-file/--argv0/--stack-limit/--format/--profile/--host-value/
// --aslr/--seed on sub, and makes sub stop option parsing at PATH.
void add_exec_options(CLI::App* sub, ExecOptions& o, const std::vector<std::string>& formats,
                      const std::string& default_format);

// The target of --kernel and --kernel-config: the kernel version whose rules apply (the
// nearest modelled one at or below the asked version; *warnings says so when it is not the
// same), and the build options. For "host" with the host profile, probe is this machine.
// Returns false with *err on a usage problem.
bool resolve_target(const std::string& kernel, const std::vector<std::string>& config,
                    const std::string* host_release, const sim::KernelConfig* host_config,
                    sim::TargetKey* key, std::vector<std::string>* warnings, std::string* err);

// One --host-value KEY=VALUE applied to h; false with *err when KEY or VALUE is unknown.
bool apply_host_value(sim::HostState& h, const std::string& kv, std::string* err);

// --personality FLAG[,FLAG...] to personality bits; false with *err for an unknown flag.
bool parse_personality(const std::string& flags, uint32_t* out, std::string* err);
// The names of the personality flags set in flags, and the table of them.
std::vector<std::string> personality_names(uint32_t flags);
const std::vector<std::pair<std::string, uint32_t>>& personality_flags();

// Builds the request; on a usage problem returns false with *err set.
bool build_request(const ExecOptions& o, sim::ExecRequest* req, std::string* err);

// "0x7ffff7fff000", for every renderer.
using util::hex;

}  // namespace execmap::cli
