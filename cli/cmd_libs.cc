// `execmap libs`: the dependency tree glibc 2.36's ld.so would load, found without running it
// (sim/rtld.h), with why each path was chosen and whether the object has initializers.
#include <cstring>
#include <unistd.h>

#include <algorithm>
#include <iostream>

#include "cli/commands.h"
#include "cli/host_pipeline.h"
#include "cli/exit_codes.h"
#include "cli/render.h"
#include "loader/elf_defs.h"
#include "live/rtld_probe.h"
#include "loader/lib_files.h"
#include "sim/rtld.h"
#include "sim/rtld_start.h"

namespace execmap::cli {
namespace {

std::string initializers(const sim::RtldObject& o) {
  std::string s;
  auto add = [&](bool b, const char* n) {
    if (!b) return;
    if (!s.empty()) s += ",";
    s += n;
  };
  add(o.has_preinit_array, "DT_PREINIT_ARRAY");
  add(o.has_init, "DT_INIT");
  add(o.has_init_array, "DT_INIT_ARRAY");
  return s.empty() ? "-" : s;
}

}  // namespace

CLI::App* setup_libs(CLI::App& app, LibsOptions& o) {
  CLI::App* sub = app.add_subcommand(
      "libs",
      "Show the shared objects glibc 2.36's ld.so would load for PATH, and why each path was "
      "chosen, without running the loader");
  add_exec_options(sub, o.exec, {"text", "json"}, "text");
  return sub;
}

nlohmann::json rtld_config_json(const sim::RtldConfig& c) {
  return {{"platform", c.platform},
          {"legacy_hwcaps", c.legacy_hwcap_strings},
          {"glibc_hwcaps", c.glibc_hwcaps},
          {"hwcap_masked", c.hwcap_masked},
          {"dst_lib", c.dst_lib}};
}

sim::RtldConfig rtld_config_from_json(const nlohmann::json& j) {
  sim::RtldConfig c;
  c.platform = j.at("platform");
  c.legacy_hwcap_strings = j.at("legacy_hwcaps").get<std::vector<std::string>>();
  c.glibc_hwcaps = j.at("glibc_hwcaps").get<std::vector<std::string>>();
  c.hwcap_masked = j.at("hwcap_masked");
  c.dst_lib = j.at("dst_lib");
  return c;
}

int run_libs(const LibsOptions& o) {
  // The exec stage, then ld.so's resolution and the start stage from the same pipeline, so
  // the bases are the ones `layout --stage start` shows.
  HostPipeline hp;
  sim::ExecRequest req;
  sim::ExecResult r;
  int rc = 0;
  ExecOptions exec_stage = o.exec;
  exec_stage.stage = "exec";
  if (!simulate_request(exec_stage, /*record=*/false, &req, &r, &rc, &hp)) return rc;
  if (r.objects.size() < 2) {
    std::cerr << "execmap: " << req.filename << ": not a dynamically linked program (no PT_INTERP)\n";
    return kExitFailure;
  }
  std::shared_ptr<const sim::Resolution> resolution = hp.pipeline.resolve(r, req);
  if (!resolution->ok) {
    std::cerr << "execmap: error: " << resolution->error << "\n";
    return kExitFailure;
  }
  sim::RtldResult res = resolution->libs;
  std::vector<std::optional<uint64_t>> base(res.objects.size());
  if (res.ok) {
    sim::ExecRequest start_req = req;
    start_req.stage = sim::Stage::start;
    sim::ExecResult st = hp.pipeline.predict(start_req);
    if (st.ok() && st.start) {
      for (const sim::StartInfo::Object& p : st.start->objects)
        if (p.index >= 0 && size_t(p.index) < base.size()) base[size_t(p.index)] = p.base;
      res.notes = st.start->notes;
    }
  }
  if (o.exec.format == "json") {
    nlohmann::json objs = nlohmann::json::array();
    for (size_t i = 0; i < res.objects.size(); ++i) {
      const sim::RtldObject& ob = res.objects[i];
      nlohmann::json j;
      j["index"] = i;
      j["name"] = i == 0 ? req.filename : ob.libname;
      j["path"] = i == 0 ? req.filename : ob.l_name;
      j["realpath"] = ob.id.path;
      j["via"] = sim::found_via_name(ob.via);
      j["search_dir"] = ob.search_dir;
      j["loader"] = ob.loader;
      j["needed"] = ob.needed;
      j["deps"] = ob.deps;
      if (base[i]) j["base"] = hex(*base[i]);
      else j["base"] = nullptr;
      j["initializers"] = {{"DT_PREINIT_ARRAY", ob.has_preinit_array},
                           {"DT_INIT", ob.has_init},
                           {"DT_INIT_ARRAY", ob.has_init_array}};
      if (!ob.error.empty()) j["error"] = ob.error;
      objs.push_back(j);
    }
    nlohmann::json out = {{"ok", res.ok}, {"objects", objs}, {"notes", res.notes}};
    if (!res.ok) out["error"] = res.error;
    std::cout << dump_json(out) << "\n";
  } else {
    std::cout << "# load order; base = l_addr at the entry point (" << (req.randomize ? "ASLR on, seed " + std::to_string(req.seed) : "ASLR off") << ")\n";
    for (size_t i = 0; i < res.objects.size(); ++i) {
      const sim::RtldObject& ob = res.objects[i];
      std::string needed_by = ob.loader >= 0 ? " (needed by #" + std::to_string(ob.loader) + ")" : "";
      std::cout << "#" << i << " " << (i == 0 ? req.filename : ob.libname) << "\n"
                << "    path: " << (ob.via == sim::FoundVia::NotFound ? "not found" : i == 0 ? ob.id.path : ob.l_name)
                << "\n    via: " << sim::found_via_name(ob.via)
                << (ob.search_dir.empty() ? "" : " " + ob.search_dir) << needed_by
                << "\n    base: " << (base[i] ? hex(*base[i]) : "-")
                << "\n    initializers: " << initializers(ob) << "\n";
      if (!ob.error.empty()) std::cout << "    error: " << ob.error << "\n";
    }
    for (const std::string& n : res.notes) std::cout << "note: " << n << "\n";
  }
  if (!res.ok) {
    std::cerr << "execmap: " << req.filename << ": error while loading shared libraries: "
              << res.error << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace execmap::cli
