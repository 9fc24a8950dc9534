// `step` comes from the same passes as `layout`: for every corpus program the last step's
// mappings equal the layout's, and the step list has the kernel's order.
#include <catch2/catch.hpp>
#include <fstream>

#include "cli/commands.h"
#include "cli/render.h"
#include "loader/exec_file.h"
#include "sim/exec.h"

using namespace execmap;

namespace {
sim::ExecResult simulate(const std::string& path, bool record) {
  sim::ExecRequest req;
  req.filename = path;
  req.argv = {path, "x"};
  req.envp = {"A=1"};
  req.profile = sim::default_profile();
  req.record_steps = record;
  loader::HostFileSystem fs;
  return sim::simulate_exec(req, fs);
}

std::vector<std::string> names(const nlohmann::json& steps) {
  std::vector<std::string> out;
  for (const auto& s : steps.at("steps")) out.push_back(s.at("name"));
  return out;
}
}  // namespace

TEST_CASE("the last step's layout equals layout for every corpus program", "[steps]") {
  std::ifstream manifest(std::string(EXECMAP_CORPUS_DIR) + "/MANIFEST");
  REQUIRE(manifest);
  int n = 0;
  for (std::string p; std::getline(manifest, p);) {
    if (p.empty()) continue;
    std::string path = std::string(EXECMAP_CORPUS_DIR) + "/" + p;
    INFO(p);
    sim::ExecResult with = simulate(path, true), without = simulate(path, false);
    REQUIRE(with.ok());
    nlohmann::json steps = cli::steps_json(with);
    REQUIRE(!steps["steps"].empty());
    CHECK(steps["steps"].back()["mappings"] == cli::layout_json(without)["mappings"]);
    CHECK(cli::render_maps(with) == cli::render_maps(without));
    ++n;
  }
  CHECK(n >= 30);
}

TEST_CASE("step names follow load_elf_binary", "[steps]") {
  std::string dir = std::string(EXECMAP_CORPUS_DIR) + "/";
  SECTION("static, four PT_LOADs") {
    CHECK(names(cli::steps_json(simulate(dir + "static", true))) ==
          std::vector<std::string>{"bprm_execve", "copy_strings", "load_elf_phdrs",
                                   "parse_elf_properties", "begin_new_exec", "setup_new_exec",
                                   "setup_arg_pages", "map_segment", "map_segment", "map_segment",
                                   "map_segment", "map_vdso", "create_elf_tables", "set_brk",
                                   "start_thread"});
  }
  // The interpreter's PT_GNU_PROPERTY replaces the program's; this ld.so has none.
  SECTION("PIE with an interpreter") {
    CHECK(names(cli::steps_json(simulate(dir + "pie", true))) ==
          std::vector<std::string>{"bprm_execve", "copy_strings", "load_elf_phdrs",
                                   "open_interpreter", "begin_new_exec",
                                   "setup_new_exec", "setup_arg_pages", "map_segment",
                                   "map_segment", "map_segment", "map_segment", "load_elf_interp",
                                   "map_vdso", "create_elf_tables", "set_brk", "start_thread"});
  }
  SECTION("tiny, no PT_GNU_PROPERTY") {
    CHECK(names(cli::steps_json(simulate(dir + "tiny", true))) ==
          std::vector<std::string>{"bprm_execve", "copy_strings", "load_elf_phdrs",
                                   "begin_new_exec", "setup_new_exec", "setup_arg_pages",
                                   "map_segment", "map_segment", "map_vdso", "create_elf_tables",
                                   "set_brk", "start_thread"});
  }
}
