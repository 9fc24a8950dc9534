// vm_capture: records golden captures from another kernel. Boots IMAGE once in qemu
// (live::run_in_vm) with every case -- each corpus program under the argv/env shapes of
// tests/live_verify.sh, stack limits, AT_ENTRY captures of the dynamic programs, ASLR samples and
// the testdata/ops scripts run by opsrun -- and writes them as capture files
// (analysis::capture_to_json) with the VM's facts under OUT. See tests/vm/record.sh.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "analysis/capture_json.h"
#include "cli/render.h"
#include "live/vm.h"
#include "loader/dyn_info.h"
#include "loader/elf_bytes.h"
#include "loader/elf_defs.h"
#include "loader/lib_files.h"
#include "sim/profile.h"
#include "vm_shapes.h"

namespace {

using execmap::live::Capture;
using execmap::live::VmCase;
using nlohmann::json;

// The Run case whose output is facts.json's "ldso_diagnostics", not an ops run.
constexpr char kLdsoDiagnostics[] = "ldso.list-diagnostics";
// The same for i386 ld.so, and `ld-linux.so.2 --list PROG` (ldd) for each ia32 program: ldd
// cannot run them on a host without ia32 emulation.
constexpr char kLdso32Diagnostics[] = "ldso32.list-diagnostics";
constexpr char kLdd32Prefix[] = "ldd32.";

struct Options {
  std::string agent, kernel, corpus, out, version;
  bool entry_only = false;
  std::string opsrun, ops_dir;
  std::string accel = "tcg", channel = "shm";
  unsigned aslr_samples = 100;
  // Programs that get the big-env shape: its capture files are ~0.5 MB each (160 KiB of
  // environment, twice: the strings and the stack image in hex); "all" for every program.
  std::string big_env = "pie,static";
  unsigned timeout = 3600;
  std::vector<std::string> extra_qemu, extra_cmdline;
  bool keep = false;
};

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

bool write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  return static_cast<bool>(f);
}

void make_dirs(const std::string& path) {
  for (size_t i = 1; i <= path.size(); ++i)
    if (i == path.size() || path[i] == '/') ::mkdir(path.substr(0, i).c_str(), 0755);
}

std::string realpath_of(const std::string& p) {
  char* r = ::realpath(p.c_str(), nullptr);
  std::string out = r ? r : p;
  std::free(r);
  return out;
}

// PT_INTERP of an ELF32 or ELF64 file, or "" (not dynamic, unreadable).
std::string pt_interp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto* bytes = reinterpret_cast<const uint8_t*>(data.data());
  execmap::elf::ElfClass cls;
  if (data.size() < 64 || data.compare(0, 4, "\x7f" "ELF") != 0 ||
      !execmap::elf::class_from_ident(bytes, &cls))
    return "";
  execmap::elf::Ehdr eh = execmap::elf::decode_ehdr(bytes, cls);
  const uint64_t n = execmap::elf::phdr_size(cls);
  if (eh.e_phentsize != n || eh.e_phoff > data.size() || eh.e_phnum * n > data.size() - eh.e_phoff)
    return "";
  for (const execmap::elf::Phdr& ph : execmap::elf::decode_phdrs(bytes + eh.e_phoff, eh.e_phnum, cls)) {
    if (ph.p_type != execmap::elf::PT_INTERP) continue;
    if (ph.p_offset > data.size() || ph.p_filesz > data.size() - ph.p_offset || ph.p_filesz == 0)
      return "";
    return std::string(data.c_str() + ph.p_offset);
  }
  return "";
}

// The files i386 ld.so opens for an ia32 program, found as the host's ldconfig cache would
// (the program's RPATH/RUNPATH with $ORIGIN, then /lib32): its DT_NEEDED closure, by the names
// ld.so uses. ldd cannot run an ia32 program where the kernel refuses them.
std::vector<std::string> ldso32_files(const std::string& prog) {
  std::vector<std::string> out, queue = {prog};
  std::set<std::string> seen;
  for (size_t i = 0; i < queue.size() && i < 256; ++i) {
    execmap::loader::HostLibraryFiles fs;
    int e = 0;
    std::unique_ptr<execmap::loader::ExecFile> f = fs.open_library(queue[i], &e);
    if (!f) continue;
    execmap::loader::DynInfo d = execmap::loader::read_dyn_info(*f, execmap::elf::ElfClass::Elf32);
    const std::string origin = queue[i].substr(0, queue[i].rfind('/'));
    std::vector<std::string> dirs;
    for (const auto* p : {&d.rpath, &d.runpath}) {
      if (!*p) continue;
      std::stringstream ss(**p);
      std::string dir;
      while (std::getline(ss, dir, ':')) {
        size_t o = dir.find("$ORIGIN");
        if (o != std::string::npos) dir.replace(o, 7, origin);
        dirs.push_back(dir);
      }
    }
    dirs.push_back("/lib32");
    for (const std::string& n : d.needed) {
      for (const std::string& dir : dirs) {
        const std::string path = dir + "/" + n;
        if (::access(path.c_str(), R_OK) != 0) continue;
        if (seen.insert(path).second) {
          out.push_back(path);
          queue.push_back(path);
        }
        break;
      }
    }
  }
  return out;
}

using execmap::testing::Shape;
using execmap::testing::shapes_for;

VmCase capture_case(const std::string& id, const std::string& cwd, const Shape& s) {
  VmCase c;
  c.id = id;
  c.cwd = cwd;
  c.request.path = s.path;
  c.request.argv = s.argv;
  c.request.envp = s.envp;
  c.request.timeout_ms = 120000;
  return c;
}

json capture_json(const VmCase& c, const execmap::live::VmCaptureResult& r, const Options& o,
                  const std::string& release) {
  execmap::sim::ExecRequest req;
  req.filename = c.request.path;
  req.argv = c.request.argv;
  req.envp = c.request.envp;
  req.personality = static_cast<uint32_t>(c.request.personality);
  req.profile = execmap::sim::default_profile();
  req.host.stack_rlimit = r.stack_rlimit;  // ~0 is kRlimInfinity on both sides
  json j = execmap::analysis::capture_to_json(req, r.capture);
  j["cwd"] = c.cwd;
  j["disable_aslr"] = c.request.disable_aslr;
  j["stop_at_entry"] = c.request.stop_at_entry;
  j["kernel"] = {{"version", o.version}, {"release", release}};
  return j;
}

json facts_json(const execmap::live::VmReport& rep, const Options& o, const std::string& image) {
  using namespace execmap;
  const live::VmFacts& f = rep.facts;
  json auxv = json::array(), order = json::array();
  json named = json::object();
  for (const auto& [type, value] : f.auxv) {
    auxv.push_back({{"type", elf::at_name(type)}, {"id", type}, {"value", hex(value)}});
    order.push_back(elf::at_name(type));
    named[elf::at_name(type)] = hex(value);
  }
  json files = json::object();
  for (const auto& [name, text] : f.files) files[name] = text;
  auto file = [&](const std::string& name) {
    return files.contains(name) ? files[name].get<std::string>() : std::string();
  };
  // The special mappings of the agent's own (static, non-PIE) process.
  json special = json::array();
  bool vsyscall = false;
  std::istringstream in(f.self_maps);
  std::string line;
  while (std::getline(in, line)) {
    unsigned long long s, e;
    char perms[5] = {};
    if (std::sscanf(line.c_str(), "%llx-%llx %4s", &s, &e, perms) != 3) continue;
    size_t lb = line.rfind('[');
    if (lb == std::string::npos) continue;
    std::string name = line.substr(lb);
    if (name == "[vsyscall]") vsyscall = true;
    if (name == "[heap]" || name == "[stack]") continue;
    special.push_back({{"name", name}, {"start", hex(s)}, {"end", hex(e)}, {"size", hex(e - s)},
                       {"perms", perms}});
  }
  const std::string flags = file("/proc/cpuinfo:flags");
  auto has_flag = [&](const std::string& flag) {
    return (" " + flags + " ").find(" " + flag + " ") != std::string::npos;
  };
  std::string fs = f.root_fs_magic == 0x01021994 ? "tmpfs"
                   : f.root_fs_magic == 0x858458f6 ? "ramfs"
                                                   : hex(f.root_fs_magic);
  auto num = [](const std::string& s) -> json {
    if (s.empty()) return nullptr;
    return std::stoull(s);
  };
  // The work directory is a fresh temp dir each time: name it $WORK so the file is stable.
  std::vector<std::string> args(rep.qemu_argv.begin() + 1, rep.qemu_argv.end());
  std::string work;
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "-initrd") work = args[i + 1].substr(0, args[i + 1].rfind('/'));
  for (std::string& a : args)
    for (size_t at; !work.empty() && (at = a.find(work)) != std::string::npos;)
      a.replace(at, work.size(), "$WORK");
  return {
      {"version", o.version},
      {"image", image},
      {"release", f.uname_release},
      {"uname_version", f.uname_version},
      {"proc_version", file("/proc/version")},
      {"cmdline", file("/proc/cmdline")},
      {"auxv", auxv},
      {"auxv_order", order},
      {"auxv_values", named},
      {"platform", f.platform},
      {"base_platform", f.base_platform},
      {"special_mappings", special},
      {"vsyscall", vsyscall},
      {"self_maps", f.self_maps},
      {"mmap_min_addr", num(file("/proc/sys/vm/mmap_min_addr"))},
      {"randomize_va_space", num(file("/proc/sys/kernel/randomize_va_space"))},
      {"overcommit_memory", num(file("/proc/sys/vm/overcommit_memory"))},
      {"max_map_count", num(file("/proc/sys/vm/max_map_count"))},
      {"legacy_va_layout", num(file("/proc/sys/vm/legacy_va_layout"))},
      {"mmap_rnd_bits", num(file("/proc/sys/vm/mmap_rnd_bits"))},
      {"mmap_rnd_compat_bits", num(file("/proc/sys/vm/mmap_rnd_compat_bits"))},
      {"thp_enabled", file("/sys/kernel/mm/transparent_hugepage/enabled")},
      {"thp_shmem_enabled", file("/sys/kernel/mm/transparent_hugepage/shmem_enabled")},
      {"cpu_flags", flags},
      {"la57", has_flag("la57")},
      {"stack_rlimit",
       {{"cur", f.stack_rlimit_cur == ~uint64_t{0} ? json("unlimited") : json(f.stack_rlimit_cur)},
        {"max", f.stack_rlimit_max == ~uint64_t{0} ? json("unlimited") : json(f.stack_rlimit_max)}}},
      {"page_size", f.page_size},
      {"root_fs", fs},
      {"qemu",
       {{"accel", rep.accel},
        {"args", args}}},
  };
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Record golden captures from a kernel image booted in qemu"};
  app.add_option("--agent", o.agent, "execmap-vm-agent")->required();
  app.add_option("--kernel", o.kernel, "bzImage")->required();
  app.add_option("--corpus", o.corpus, "build/corpus")->required();
  app.add_option("--out", o.out, "output directory (VERSION is appended)")->required();
  app.add_option("--version", o.version, "kernel version label (5.10, 6.1, ...)")->required();
  app.add_option("--opsrun", o.opsrun, "build/opsrun/opsrun (adds the testdata/ops runs)");
  app.add_option("--ops-dir", o.ops_dir, "testdata/ops");
  app.add_option("--aslr", o.aslr_samples, "ASLR samples per sampled program");
  app.add_option("--accel", o.accel, "tcg|kvm|auto");
  app.add_option("--channel", o.channel, "shm|debugcon");
  app.add_option("--timeout", o.timeout, "wall-clock limit of the boot, seconds");
  app.add_option("--qemu-arg", o.extra_qemu, "extra qemu argument (repeatable)")->allow_extra_args(false);
  app.add_option("--cmdline", o.extra_cmdline, "extra kernel command-line word (repeatable)")->allow_extra_args(false);
  app.add_option("--big-env", o.big_env, "programs that get the big-env shape (comma list, or all)");
  app.add_flag("--keep", o.keep, "keep the VM work directory");
  app.add_flag("--entry-only", o.entry_only,
               "only the AT_ENTRY capture of each dynamic program (and, for ia32 ones, ldd's list)");
  CLI11_PARSE(app, argc, argv);

  const std::string corpus = realpath_of(o.corpus);
  std::vector<std::string> programs;
  {
    std::ifstream m(corpus + "/MANIFEST");
    std::string p;
    while (std::getline(m, p))
      if (!p.empty()) programs.push_back(p);
  }
  if (programs.empty()) {
    std::cerr << "vm_capture: error: no programs in " << corpus << "/MANIFEST\n";
    return 1;
  }

  execmap::live::VmConfig cfg;
  cfg.kernel = o.kernel;
  cfg.agent = o.agent;
  cfg.accel = o.accel == "kvm"    ? execmap::live::VmConfig::Accel::Kvm
              : o.accel == "auto" ? execmap::live::VmConfig::Accel::Auto
                                  : execmap::live::VmConfig::Accel::Tcg;
  cfg.channel = o.channel == "debugcon" ? execmap::live::VmConfig::Channel::Debugcon
                                        : execmap::live::VmConfig::Channel::SharedMemory;
  cfg.timeout_seconds = o.timeout;
  cfg.extra_qemu_args = o.extra_qemu;
  cfg.extra_cmdline = o.extra_cmdline;
  cfg.keep_work_dir = o.keep;

  std::vector<VmCase> cases;
  std::set<std::string> files;
  std::string ia32_interp;  // i386 ld.so, when an ia32 program has one
  const std::set<std::string> stack_programs(execmap::testing::stack_limit_programs().begin(),
                                             execmap::testing::stack_limit_programs().end());
  // The ASLR samples: one of each way load_elf_binary() places an image (ET_EXEC, PIE with an
  // interpreter, static ET_EXEC, static PIE top-down, static PIE honouring a 2 MiB p_align).
  const std::set<std::string> aslr_programs = {"pie",      "nopie",        "static",
                                               "static-pie", "align2m-static-pie", "pie32",
                                               "nopie32",  "static32",     "static-pie32"};
  const std::set<std::string> personality_programs = {"pie32", "nopie32", "static32",
                                                      "static-pie32", "tiny-nognustack32"};
  for (const std::string& p : programs) {
    files.insert(corpus + "/" + p);
    const bool dynamic = !pt_interp(corpus + "/" + p).empty();
    const bool big_env = o.big_env == "all" || ("," + o.big_env + ",").find("," + p + ",") != std::string::npos;
    const Shape plain = shapes_for(p, corpus)[0];
    if (!o.entry_only)
      for (const Shape& s : shapes_for(p, corpus))
        if (s.name != "big-env" || big_env) cases.push_back(capture_case(p + "." + s.name, corpus, s));
    if (stack_programs.count(p) && !o.entry_only) {
      for (auto [name, limit] : {std::pair<const char*, uint64_t>{"stack-unlimited", ~uint64_t{0}},
                                 {"stack-1g", uint64_t{1} << 30},
                                 {"stack-64k", uint64_t{64} << 10}}) {
        VmCase c = capture_case(p + "." + name, corpus, plain);
        c.request.stack_limit = limit;
        cases.push_back(c);
      }
    }
    if (dynamic) {
      VmCase c = capture_case(p + ".entry", corpus, plain);
      c.request.stop_at_entry = true;
      // ld.so's stack depth, for the start-stage replay (sim/rtld_stack.h).
      c.request.measure_stack_depth = true;
      cases.push_back(c);
      const std::string interp = pt_interp(corpus + "/" + p);
      if (interp != "/lib64/ld-linux-x86-64.so.2") {
        ia32_interp = interp;
        files.insert(interp);
        for (const std::string& f : ldso32_files(corpus + "/" + p)) files.insert(f);
        VmCase l;
        l.kind = VmCase::Kind::Run;
        l.id = kLdd32Prefix + p;
        l.cwd = corpus;
        l.request.path = interp;
        l.request.argv = {interp, "--list", "./" + p};
        l.request.timeout_ms = 60000;
        cases.push_back(l);
      } else {
        for (const std::string& f : execmap::testing::ldd_files(corpus + "/" + p)) files.insert(f);
      }
    }
    if (o.entry_only) continue;
    // The personalities setarch sets (include/uapi/linux/personality.h), for the ia32 programs:
    // the legacy layout, the 3 GiB limit (alone, with the legacy layout and with an unlimited
    // stack), READ_IMPLIES_EXEC, ADDR_LIMIT_32BIT and MMAP_PAGE_ZERO (PID 1 is root, so page 0
    // is mapped below mmap_min_addr).
    if (personality_programs.count(p)) {
      struct Persona {
        const char* name;
        unsigned long flags;
        bool unlimited;
      };
      for (const Persona& q : {Persona{"per-L", 0x0200000, false}, Persona{"per-3", 0x8000000, false},
                               Persona{"per-L3", 0x8200000, false},
                               Persona{"per-3-unlimited", 0x8000000, true},
                               Persona{"per-L-unlimited", 0x0200000, true},
                               Persona{"per-X", 0x0400000, false}, Persona{"per-B", 0x0800000, false},
                               Persona{"per-Z", 0x0100000, false}}) {
        VmCase c = capture_case(p + "." + q.name, corpus, plain);
        c.request.personality = q.flags;
        if (q.unlimited) c.request.stack_limit = ~uint64_t{0};
        cases.push_back(c);
      }
    }
    if (aslr_programs.count(p) && o.aslr_samples > 0) {
      VmCase c = capture_case(p + ".aslr", corpus, plain);
      c.request.disable_aslr = false;
      c.repeat = o.aslr_samples;
      cases.push_back(c);
    }
  }
  files.insert("/lib64/ld-linux-x86-64.so.2");
  files.insert("/etc/ld.so.cache");
  // ld.so's own view of the guest's CPU (dl_platform, dl_hwcap, the glibc-hwcaps
  // subdirectories): the start stage of the entry captures depends on it. Kept in facts.json.
  {
    VmCase c;
    c.kind = VmCase::Kind::Run;
    c.id = kLdsoDiagnostics;
    c.cwd = "/";
    c.request.path = "/lib64/ld-linux-x86-64.so.2";
    c.request.argv = {c.request.path, "--list-diagnostics"};
    c.request.timeout_ms = 60000;
    cases.push_back(c);
    if (!ia32_interp.empty()) {
      c.id = kLdso32Diagnostics;
      c.request.path = ia32_interp;
      c.request.argv = {ia32_interp, "--list-diagnostics"};
      cases.push_back(c);
    }
  }

  // The ops scripts, as tests/live_ops.sh runs them: opsrun and the scripts in one directory
  // (a copy under the corpus directory, kept at the same path in the guest), an empty
  // environment, ASLR off.
  std::vector<std::string> ops_names;
  json ops_file_sizes = json::object();  // facts.json: which opsrun and data files ran
  if (!o.opsrun.empty() && !o.ops_dir.empty()) {
    const std::string stage = corpus + "/vm-ops";
    make_dirs(stage);
    std::vector<std::string> entries;
    std::string list_cmd = "ls -1 '" + o.ops_dir + "'";
    if (FILE* p = ::popen(list_cmd.c_str(), "r")) {
      char line[4096];
      while (std::fgets(line, sizeof line, p)) {
        std::string n = line;
        n.erase(n.find_last_not_of("\n") + 1);
        entries.push_back(n);
      }
      ::pclose(p);
    }
    for (const std::string& n : entries) {
      std::string src = o.ops_dir + "/" + n;
      struct stat st {};
      if (::stat(src.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      std::ifstream in(src, std::ios::binary);
      std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      write_text(stage + "/" + n, data);
      files.insert(stage + "/" + n);
      ops_file_sizes[n] = data.size();
      if (n.size() > 4 && n.compare(n.size() - 4, 4, ".ops") == 0) ops_names.push_back(n);
    }
    std::ifstream in(o.opsrun, std::ios::binary);
    std::string bin((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    write_text(stage + "/opsrun", bin);
    ops_file_sizes["opsrun"] = bin.size();
    ::chmod((stage + "/opsrun").c_str(), 0755);
    files.insert(stage + "/opsrun");
    std::sort(ops_names.begin(), ops_names.end());
    for (const std::string& n : ops_names) {
      VmCase c;
      c.kind = VmCase::Kind::Run;
      c.id = "ops." + n.substr(0, n.size() - 4);
      c.cwd = stage;
      c.request.path = "./opsrun";
      c.request.argv = {"./opsrun", "./" + n};
      c.request.timeout_ms = 60000;
      cases.push_back(c);
    }
  }
  cfg.files.assign(files.begin(), files.end());

  std::string err;
  const std::string release = execmap::live::bzimage_release(o.kernel, &err).value_or("");
  execmap::live::VmReport rep;
  std::cerr << "vm_capture: " << o.version << ": booting " << o.kernel << " with " << cases.size()
            << " cases\n";
  if (!execmap::live::run_in_vm(cfg, cases, &rep, &err)) {
    std::cerr << "vm_capture: error: " << err << "\n";
    return 1;
  }

  if (cfg.accel == execmap::live::VmConfig::Accel::Auto)
    std::cerr << "vm_capture: accel " << rep.accel << ": " << rep.accel_why << "\n";
  const std::string dir = o.out + "/" + o.version;
  for (const char* sub : {"/captures", "/aslr", "/ops"}) make_dirs(dir + sub);
  size_t written = 0, failed = 0;
  uint64_t json_bytes = 0;
  json failures = json::array();
  std::map<uint32_t, json> aslr;
  for (const auto& r : rep.captures) {
    const VmCase& c = cases[r.case_index];
    if (!r.ok) {
      ++failed;
      failures.push_back({{"id", c.id}, {"repeat", r.repeat_index}, {"error", r.error}});
      continue;
    }
    json j = capture_json(c, r, o, rep.facts.uname_release);
    if (c.repeat > 1) {
      // The entropy check reads maps, sp, mm and auxv; the stack image (~3.8 kB of hex a
      // sample) is left out to keep five programs' samples small.
      j["stack_image"] = "";
      aslr[r.case_index].push_back(std::move(j));
      continue;
    }
    std::string text = execmap::cli::dump_json(j) + "\n";
    json_bytes += text.size();
    write_text(dir + "/captures/" + c.id + ".json", text);
    ++written;
  }
  // One compact line per sample: 100 indented samples would be ~1.3 MB a program.
  for (auto& [index, samples] : aslr) {
    std::string text = "{\"id\": " + json(cases[index].id).dump() + ", \"samples\": [\n";
    for (size_t k = 0; k < samples.size(); ++k)
      text += execmap::cli::dump_json(samples[k], -1) + (k + 1 < samples.size() ? ",\n" : "\n");
    text += "]}\n";
    json_bytes += text.size();
    write_text(dir + "/aslr/" + cases[index].id + ".json", text);
  }
  std::string ldso_diagnostics, ldso32_diagnostics;
  json ldd32 = json::object();
  for (const auto& r : rep.runs) {
    const VmCase& c = cases[r.case_index];
    if (c.id == kLdsoDiagnostics || c.id == kLdso32Diagnostics) {
      if (!r.ok || r.exit_status != 0 || r.out.empty())
        failures.push_back({{"id", c.id}, {"error", r.error}, {"exit_status", r.exit_status}});
      (c.id == kLdsoDiagnostics ? ldso_diagnostics : ldso32_diagnostics) = r.out;
      continue;
    }
    if (c.id.compare(0, sizeof kLdd32Prefix - 1, kLdd32Prefix) == 0) {
      if (!r.ok) failures.push_back({{"id", c.id}, {"error", r.error}});
      ldd32[c.id.substr(sizeof kLdd32Prefix - 1)] = {
          {"exit_status", r.exit_status}, {"stdout", r.out}, {"stderr", r.err}};
      continue;
    }
    json j = {{"id", c.id},           {"path", c.request.path},  {"argv", c.request.argv},
              {"envp", c.request.envp}, {"cwd", c.cwd},           {"disable_aslr", c.request.disable_aslr},
              {"ok", r.ok},           {"error", r.error},        {"exit_status", r.exit_status},
              {"signal", r.signal},   {"stdout", r.out},         {"stderr", r.err},
              {"kernel", {{"version", o.version}, {"release", rep.facts.uname_release}}}};
    if (!r.ok || r.exit_status != 0) failures.push_back({{"id", c.id}, {"error", r.error}, {"exit_status", r.exit_status}});
    std::string text = execmap::cli::dump_json(j) + "\n";
    json_bytes += text.size();
    write_text(dir + "/ops/" + c.id.substr(4) + ".json", text);
  }
  const std::string image = o.kernel.substr(o.kernel.rfind('/') + 1);
  json facts = facts_json(rep, o, image);
  facts["ldso_diagnostics"] = ldso_diagnostics;
  if (!ia32_interp.empty()) {
    facts["ldso32_diagnostics"] = ldso32_diagnostics;
    facts["ldd32"] = ldd32;
  }
  facts["ops_file_sizes"] = ops_file_sizes;
  write_text(dir + "/facts.json", execmap::cli::dump_json(facts) + "\n");
  if (!failures.empty()) write_text(dir + "/failures.json", execmap::cli::dump_json(failures) + "\n");

  const double guest_cases = rep.done.uptime_at_end - rep.facts.uptime_at_start;
  std::printf(
      "%s %s: %zu cases, %zu captures (%zu failed), %zu runs; initramfs %.1f MB in %.2f s; "
      "boot %.1f s (guest %.1f s), cases %.1f s (guest %.1f s), wall %.1f s, accel %s; "
      "records %.1f MB framed, written in %.2f s (%.1f MB/s, %s); json %.1f MB\n",
      o.version.c_str(), rep.facts.uname_release.c_str(), cases.size(), rep.captures.size(),
      failed, rep.runs.size(), rep.initramfs_bytes / 1e6, rep.initramfs_seconds, rep.boot_seconds,
      rep.facts.uptime_at_start, rep.cases_seconds, guest_cases, rep.wall_seconds,
      rep.accel.c_str(), rep.done.framed_bytes / 1e6, rep.done.write_us / 1e6,
      rep.done.write_us ? rep.done.framed_bytes / (rep.done.write_us / 1e6) / 1e6 : 0.0,
      rep.facts.shared_memory ? "shared memory" : "debugcon", json_bytes / 1e6);
  (void)written;
  return failed == 0 ? 0 : 3;
}
