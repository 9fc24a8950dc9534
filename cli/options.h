// Options shared by every subcommand that simulates an exec, and their translation into a
// sim::ExecRequest (argv, envp, profile).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "sim/exec.h"
#include "util/format.h"

namespace execmap::cli {

struct ExecOptions {
  bool ignore_environment = false;
  std::vector<std::string> env;
  std::string env_file;
  std::optional<std::string> argv0;
  std::string stack_limit;
  std::string format;
  std::string profile = "host";
  std::vector<std::string> host_values;
  std::string aslr = "off";
  std::string stage = "exec";  // --stage exec|start
  uint64_t seed = 0;
  std::vector<std::string> command;  // PATH then the program's own arguments (tests set it)
  CLI::App* sub = nullptr;           // where the command line left PATH [ARG...]
};

// Registers -i/--env/--env-file/--argv0/--stack-limit/--format/--profile/--host-value/
// --aslr/--seed on sub, and makes sub stop option parsing at PATH.
void add_exec_options(CLI::App* sub, ExecOptions& o, const std::vector<std::string>& formats,
                      const std::string& default_format);

// Builds the request; on a usage problem returns false with *err set.
bool build_request(const ExecOptions& o, sim::ExecRequest* req, std::string* err);

// "0x7ffff7fff000", for every renderer.
using util::hex;

}  // namespace execmap::cli
