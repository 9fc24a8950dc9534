// execmap: predict the address space and initial stack that Linux execve() builds.
#include <iostream>

#include "cli/commands.h"
#include "cli/exit_codes.h"

#ifndef EXECMAP_VERSION
#define EXECMAP_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  using namespace execmap::cli;
  CLI::App app{"execmap: predict the exact address space and initial stack that Linux "
               "execve() builds for an x86_64 ELF, without running it"};
  app.set_version_flag("--version", std::string("execmap ") + EXECMAP_VERSION +
                                        " (profile linux-6.18-x86_64)");
  app.require_subcommand(1);
  LayoutOptions layout;
  StackOptions stack;
  VerifyOptions verify;
  StepOptions step;
  CLI::App* layout_cmd = setup_layout(app, layout);
  CLI::App* stack_cmd = setup_stack(app, stack);
  CLI::App* verify_cmd = setup_verify(app, verify);
  EntropyOptions entropy;
  DiffOptions diff;
  CLI::App* entropy_cmd = setup_entropy(app, entropy);
  CLI::App* diff_cmd = setup_diff(app, diff);
  SpaceOptions space;
  CLI::App* space_cmd = setup_space(app, space);
  CLI::App* step_cmd = setup_step(app, step);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "execmap: error: " << e.what() << "\n";
    std::cerr << "Run with --help for usage.\n";
    return kExitUsage;
  }
  try {
    if (layout_cmd->parsed()) return run_layout(layout);
    if (stack_cmd->parsed()) return run_stack(stack);
    if (verify_cmd->parsed()) return run_verify(verify);
    if (entropy_cmd->parsed()) return run_entropy(entropy);
    if (diff_cmd->parsed()) return run_diff(diff);
    if (space_cmd->parsed()) return run_space(space);
    if (step_cmd->parsed()) return run_step(step);
  } catch (const std::exception& e) {
    std::cerr << "execmap: error: internal error: " << e.what() << "\n";
    return kExitFailure;
  }
  return kExitUsage;
}
