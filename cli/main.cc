// execmap: predict the address space and initial stack that Linux execve() builds.
#include <cstring>
#include <functional>
#include <iostream>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "sim/target.h"

#ifndef EXECMAP_VERSION
#define EXECMAP_VERSION "0.0.0"
#endif

namespace {

using namespace execmap::cli;

// One subcommand: its name, and how to register it and run it. The options live in Options.
struct Subcommand {
  const char* name;
  std::function<CLI::App*(CLI::App&)> setup;
  std::function<int()> run;
  CLI::App* app = nullptr;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"execmap: predict the exact address space and initial stack that Linux "
               "execve() builds for an x86_64 ELF on Linux 5.10 to 7.2, without running it"};
  std::string modelled;
  for (execmap::sim::KernelVersion v : execmap::sim::modelled_kernels())
    modelled += " " + v.str();
  app.set_version_flag("--version", std::string("execmap ") + EXECMAP_VERSION + " (kernels" +
                                        modelled + ", x86_64; glibc 2.36 ld.so)");
  app.require_subcommand(1);
  LayoutOptions layout;
  StackOptions stack;
  VerifyOptions verify;
  StepOptions step;
  EntropyOptions entropy;
  DiffOptions diff;
  SpaceOptions space;
  GradeOptions grade;
  LibsOptions libs;
  KernelsOptions kernels;
  std::vector<Subcommand> subs = {
      {"layout", [&](CLI::App& a) { return setup_layout(a, layout); }, [&] { return run_layout(layout); }},
      {"stack", [&](CLI::App& a) { return setup_stack(a, stack); }, [&] { return run_stack(stack); }},
      {"verify", [&](CLI::App& a) { return setup_verify(a, verify); }, [&] { return run_verify(verify); }},
      {"step", [&](CLI::App& a) { return setup_step(a, step); }, [&] { return run_step(step); }},
      {"entropy", [&](CLI::App& a) { return setup_entropy(a, entropy); }, [&] { return run_entropy(entropy); }},
      {"diff", [&](CLI::App& a) { return setup_diff(a, diff); }, [&] { return run_diff(diff); }},
      {"space", [&](CLI::App& a) { return setup_space(a, space); }, [&] { return run_space(space); }},
      {"grade", [&](CLI::App& a) { return setup_grade(a, grade); }, [&] { return run_grade(grade); }},
      {"libs", [&](CLI::App& a) { return setup_libs(a, libs); }, [&] { return run_libs(libs); }},
      {"kernels", [&](CLI::App& a) { return setup_kernels(a, kernels); }, [&] { return run_kernels(kernels); }},
  };
  // Registering a CLI11 subcommand costs more than the whole simulation, so register only
  // the one named on the command line (all of them for --help, --version and mistakes).
  bool named = false;
  if (argc > 1)
    for (auto& s : subs)
      if (std::strcmp(argv[1], s.name) == 0) {
        s.app = s.setup(app);
        named = true;
      }
  if (!named)
    for (auto& s : subs) s.app = s.setup(app);
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
    for (auto& s : subs)
      if (s.app && s.app->parsed()) return s.run();
  } catch (const std::exception& e) {
    std::cerr << "execmap: error: internal error: " << e.what() << "\n";
    return kExitFailure;
  }
  return kExitUsage;
}
