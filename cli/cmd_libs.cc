// `execmap libs`: the dependency tree glibc 2.36's ld.so would load, found without running it
// (sim/rtld.h), with why each path was chosen and whether the object has initializers.
#include <cstring>
#include <unistd.h>

#include <algorithm>
#include <iostream>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/render.h"
#include "loader/elf_defs.h"
#include "live/rtld_probe.h"
#include "loader/lib_files.h"
#include "sim/rtld.h"
#include "sim/rtld_start.h"

namespace execmap::cli {
namespace {

// The value of the last NAME=... in envp (rtld's process_envvars lets later entries win).
std::optional<std::string> env_value(const std::vector<std::string>& envp, const std::string& k) {
  std::optional<std::string> v;
  for (const std::string& e : envp)
    if (e.size() > k.size() && e.compare(0, k.size(), k) == 0 && e[k.size()] == '=')
      v = e.substr(k.size() + 1);
  return v;
}

// The glibc-hwcaps subdirectories this CPU supports, best first: glibc 2.36
// sysdeps/x86_64/dl-hwcaps-subdirs.c tests the x86-64-v2/v3/v4 ISA levels in that order.
std::vector<std::string> host_glibc_hwcaps() {
  std::vector<std::string> v;
  __builtin_cpu_init();
  // The level names themselves are a GCC-only spelling; these are the features that both
  // GCC and clang 14 can test (CX16, LAHF, LZCNT, MOVBE, F16C and OSXSAVE are not checked).
  bool v2 = __builtin_cpu_supports("popcnt") && __builtin_cpu_supports("sse3") &&
            __builtin_cpu_supports("ssse3") && __builtin_cpu_supports("sse4.1") &&
            __builtin_cpu_supports("sse4.2");
  bool v3 = v2 && __builtin_cpu_supports("avx") && __builtin_cpu_supports("avx2") &&
            __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&
            __builtin_cpu_supports("fma");
  bool v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
            __builtin_cpu_supports("avx512vl");
  if (v4) v.push_back("x86-64-v4");
  if (v3) v.push_back("x86-64-v3");
  if (v2) v.push_back("x86-64-v2");
  return v;
}

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

sim::RtldConfig host_rtld_config(const sim::ExecResult& r) {
  sim::RtldConfig c;
  c.platform = r.profile.host.platform;
  c.glibc_hwcaps = host_glibc_hwcaps();
  if (r.profile.host.source == "host" && r.objects.size() > 1) {
    std::string why;
    if (auto p = live::probe_rtld(r.objects[1].id.path, c, &why)) return *p;
  }
  return c;
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

bool resolve_for_exec(const sim::ExecResult& r, const sim::ExecRequest& req,
                      sim::RtldResult* out, std::string* err, const loader::LibraryFiles* files,
                      const sim::RtldConfig* cfg) {
  loader::HostLibraryFiles host;
  const loader::LibraryFiles& fs = files ? *files : host;
  sim::RtldRequest rq;
  rq.exe_path = r.objects.empty() ? req.filename : r.objects[0].id.path;
  rq.ld_library_path = env_value(req.envp, "LD_LIBRARY_PATH");
  rq.ld_preload = env_value(req.envp, "LD_PRELOAD");
  rq.secure = r.profile.host.secure != 0;
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd)) rq.cwd = cwd;
  bool vdso = false;
  for (const auto& kv : r.mm_vmas.vmas()) vdso |= kv.second.name == "[vdso]";
  rq.vdso = vdso;
  rq.config = cfg ? *cfg : host_rtld_config(r);
  int e = 0;
  std::unique_ptr<loader::ExecFile> exe = fs.open_library(rq.exe_path, &e);
  if (!exe) {
    *err = rq.exe_path + ": cannot open";
    return false;
  }
  std::unique_ptr<loader::ExecFile> interp;
  if (r.objects.size() > 1) {
    // rtld's l_name for itself is the PT_INTERP string.
    loader::DynInfo d = loader::read_dyn_info(*exe);
    for (const elf::Phdr& p : d.phdrs)
      if (p.p_type == elf::PT_INTERP && p.p_filesz > 1 && p.p_filesz < 4096) {
        std::vector<char> b(p.p_filesz);
        if (exe->read_at(p.p_offset, b.data(), p.p_filesz) == int64_t(p.p_filesz))
          rq.interp.assign(b.data(), strnlen(b.data(), b.size()));
      }
    interp = fs.open_library(r.objects[1].id.path, &e);
  }
  *out = sim::resolve_libraries(rq, *exe, interp.get(), fs);
  return true;
}

bool apply_start_stage(const sim::ExecRequest& req, sim::ExecResult* r,
                       const loader::LibraryFiles* files, const sim::RtldConfig* cfg) {
  sim::StartInfo info;
  if (r->objects.size() < 2) {
    // ld.so run as a program (`ld.so ./prog`) maps the program itself and then its
    // libraries, a path the start-stage model does not cover: say so rather than show the
    // exec layout as if it were the entry point.
    loader::HostLibraryFiles host;
    const loader::LibraryFiles& fs = files ? *files : host;
    int e = 0;
    std::unique_ptr<loader::ExecFile> f = fs.open_library(r->objects[0].id.path, &e);
    if (f) {
      loader::DynInfo d = loader::read_dyn_info(*f);
      if (d.soname && d.soname->compare(0, 8, "ld-linux") == 0) {
        r->error.kind = sim::ExecError::Kind::Io;
        r->error.message = req.filename + ": the dynamic loader run as a program: --stage start "
                           "does not model `ld.so PROGRAM` (use --stage exec, or run PROGRAM itself)";
        r->error.check = "--stage start";
        return false;
      }
    }
    info.notes.push_back("statically linked: the entry point is the first instruction, so the "
                         "start stage is the exec stage");
    r->start = info;
    return true;
  }
  sim::RtldResult res;
  std::string err;
  if (!resolve_for_exec(*r, req, &res, &err, files, cfg)) {
    r->error.kind = sim::ExecError::Kind::Io;
    r->error.message = err;
    r->error.check = "open";
    return false;
  }
  sim::StartResult st = sim::simulate_rtld_start(*r, res, sim::RtldConfig(), req.record_steps);
  if (!st.ok) {
    r->error.kind = sim::ExecError::Kind::LdSo;
    r->error.name = "exit 127";
    r->error.message = st.error;
    r->error.check = "elf/rtld.c dl_main";
    return false;
  }
  for (const sim::StartObject& p : st.placed) {
    const sim::RtldObject& o = res.objects[size_t(p.object)];
    uint64_t align = 0;
    for (const elf::Phdr& ph : p.object == 0 ? r->objects[0].phdrs : o.dyn.phdrs)
      if (ph.p_type == elf::PT_LOAD) align = std::max(align, ph.p_align);
    info.objects.push_back({p.object == 0 ? "" : o.libname,
                            p.object == 0 ? r->objects[0].id.path : o.l_name, p.l_addr,
                            p.map_start, p.map_end, align});
  }
  if (res.interp_index >= 0) {
    // ld.so itself, mapped by the kernel.
    const sim::RtldObject& o = res.objects[size_t(res.interp_index)];
    uint64_t lo = ~uint64_t(0), hi = 0;
    for (const elf::Phdr& ph : r->objects[1].phdrs)
      if (ph.p_type == elf::PT_LOAD) {
        lo = std::min(lo, ph.p_vaddr & ~uint64_t(4095));
        hi = std::max(hi, ph.p_vaddr + ph.p_memsz);
      }
    info.objects.push_back({o.libname, o.l_name, *r->interp_base, *r->interp_base + lo,
                            *r->interp_base + hi, 0});
  }
  info.heap_may_appear = st.heap_may_appear;
  info.tcb = st.tcb;
  info.notes = res.notes;
  info.notes.insert(info.notes.end(), st.notes.begin(), st.notes.end());
  r->start = std::move(info);
  return true;
}

int run_libs(const LibsOptions& o) {
  sim::ExecRequest req;
  sim::ExecResult r;
  int rc = 0;
  if (!simulate_request(o.exec, /*record=*/false, &req, &r, &rc)) return rc;
  if (r.objects.size() < 2) {
    std::cerr << "execmap: " << req.filename << ": not a dynamically linked program (no PT_INTERP)\n";
    return kExitFailure;
  }
  sim::RtldResult res;
  std::string err;
  if (!resolve_for_exec(r, req, &res, &err)) {
    std::cerr << "execmap: error: " << err << "\n";
    return kExitFailure;
  }
  // Base addresses: the start stage on a copy of the exec.
  std::vector<std::optional<uint64_t>> base(res.objects.size());
  if (res.ok) {
    sim::ExecResult r2 = r;
    sim::StartResult st = sim::simulate_rtld_start(r2, res, sim::RtldConfig(), false);
    if (st.ok) {
      for (const sim::StartObject& p : st.placed) base[size_t(p.object)] = p.l_addr;
      if (res.interp_index >= 0) base[size_t(res.interp_index)] = *r.interp_base;
      res.notes.insert(res.notes.end(), st.notes.begin(), st.notes.end());
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
