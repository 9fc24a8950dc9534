// Replays the captures taken in Debian's 5.10, 6.1, 6.12 and 7.2 kernels booted in qemu
// (testdata/golden/vm/, recorded by tests/vm/record.sh) against `--kernel VERSION`, without a VM:
//  * exec stage: each capture exactly, AT_RANDOM aside;
//  * start stage: the captures stopped at AT_ENTRY, with the VM's own ld.so values (its
//    --list-diagnostics output), exact but for a [heap] line as `verify` excuses it;
//  * ASLR: every randomized sample's regions inside `entropy --kernel VERSION`'s ranges;
//  * --ops: opsrun's results and final maps equal `layout --kernel VERSION --ops`;
//  * 5-level paging: the 6.12 kernel on an LA57 CPU (6.12-la57/) under paging=5.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "cli/aslr_view.h"
#include "analysis/capture_json.h"
#include "analysis/compare.h"
#include "cli/ops.h"
#include "cli/render.h"
#include "live/rtld_probe.h"
#include "loader/exec_file.h"
#include "loader/elf_defs.h"
#include "loader/lib_files.h"
#include "sim/aslr.h"
#include "sim/mm_ops.h"
#include "sim/pipeline.h"
#include "sim/target.h"
#include "util/maps.h"

using namespace execmap;

namespace {

std::string base_of(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') out.push_back(e->d_name);
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

uint64_t num(const nlohmann::json& v) {
  if (v.is_number()) return v.get<uint64_t>();
  return std::stoull(v.get<std::string>(), nullptr, 0);
}

std::string hexs(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream f(path);
  return nlohmann::json::parse(f);
}

// The kernel directories of testdata/golden/vm: "5.10", ..., "6.12-la57".
std::vector<std::string> vm_versions() {
  const std::string root = std::string(EXECMAP_GOLDEN_DIR) + "/vm";
  std::vector<std::string> versions;
  for (const auto& d : list_dir(root))
    if (d.find('.') != std::string::npos && d.find(".md") == std::string::npos) versions.push_back(d);
  return versions;
}

bool has_suffix(const std::string& s, const std::string& suffix) {
  return s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
// VERSION-ia32: the ia32 corpus (corpus32/) captured on that kernel.
bool ia32_dir(const std::string& version) { return has_suffix(version, "-ia32"); }
// VERSION-start32: the AT_ENTRY captures of the ia32 start-stage corpus (start32/).
bool start32_dir(const std::string& version) { return has_suffix(version, "-start32"); }

std::string vm_dir(const std::string& version) {
  return std::string(EXECMAP_GOLDEN_DIR) + "/vm/" + version;
}

// Where a recorded absolute path lives on this machine: the corpus from this build, the ops
// directory's opsrun from this build and its scripts and data files from testdata/ops, the
// rest (ld.so, libc, ld.so.cache) at the same path.
std::string local_path(const std::string& abs) {
  size_t ops = abs.rfind("/corpus/vm-ops/");
  if (ops != std::string::npos) {
    std::string name = base_of(abs);  // "DIR/vm-ops/./opsrun" too
    return name == "opsrun" ? std::string(EXECMAP_OPSRUN) : std::string(EXECMAP_OPS_DIR) + "/" + name;
  }
  size_t c = abs.rfind("/start32/");
  if (c != std::string::npos) return std::string(EXECMAP_START32_DIR) + abs.substr(c + 8);
  c = abs.rfind("/corpus32/");
  if (c != std::string::npos) return std::string(EXECMAP_CORPUS32_DIR) + abs.substr(c + 9);
  c = abs.rfind("/corpus/");
  if (c != std::string::npos) return std::string(EXECMAP_CORPUS_DIR) + abs.substr(c + 7);
  return abs;
}

// A host file reported under the identity the VM showed for it.
class Recorded final : public loader::ExecFile {
 public:
  Recorded(std::unique_ptr<loader::ExecFile> f, loader::FileIdentity id)
      : f_(std::move(f)), id_(std::move(id)) {}
  const loader::FileIdentity& identity() const override { return id_; }
  uint64_t size() const override { return f_->size(); }
  int64_t read_at(uint64_t off, void* out, uint64_t len) const override {
    return f_->read_at(off, out, len);
  }

 private:
  std::unique_ptr<loader::ExecFile> f_;
  loader::FileIdentity id_;
};

// The device, inode and path of each file a capture's maps show, by basename.
std::map<std::string, loader::FileIdentity> identities(const std::string& maps) {
  std::map<std::string, loader::FileIdentity> ids;
  for (const util::MapsLine& m : util::parse_maps(maps))
    if (m.inode)
      ids[base_of(m.path)] = loader::FileIdentity{m.dev_major, m.dev_minor, m.inode, m.path};
  return ids;
}

// The local file for a recorded path, under the VM's identity when the maps show it.
std::unique_ptr<loader::ExecFile> as_recorded(std::unique_ptr<loader::ExecFile> f,
                                              const std::string& local,
                                              const std::map<std::string, loader::FileIdentity>& ids,
                                              const std::string& fallback_key) {
  char* real = ::realpath(local.c_str(), nullptr);
  std::string key = base_of(real ? real : fallback_key);
  std::free(real);
  auto it = ids.find(key);
  if (it == ids.end()) return f;
  return std::make_unique<Recorded>(std::move(f), it->second);
}

// The VM's files as execve() opens them.
class VmFs final : public loader::FileSystem {
 public:
  VmFs(std::string cwd, const std::string& maps) : cwd_(std::move(cwd)), ids_(identities(maps)) {}
  loader::OpenResult open_exec(const std::string& path) const override {
    std::string abs = path.empty() || path[0] == '/' ? path : cwd_ + "/" + path;
    std::string local = local_path(abs);
    loader::OpenResult r = host_.open_exec(local);
    if (r.file) r.file = as_recorded(std::move(r.file), local, ids_, abs);
    return r;
  }

 private:
  std::string cwd_;
  std::map<std::string, loader::FileIdentity> ids_;
  loader::HostFileSystem host_;
};

// The VM's files as ld.so opens them. The initramfs has no /etc/ld.so.preload.
class VmLibs final : public loader::LibraryFiles {
 public:
  explicit VmLibs(const std::string& maps) : ids_(identities(maps)) {}
  std::unique_ptr<loader::ExecFile> open_library(const std::string& path, int* err) const override {
    if (path == "/etc/ld.so.preload") {
      *err = ENOENT;
      return nullptr;
    }
    std::string local = local_path(path);
    std::unique_ptr<loader::ExecFile> f = host_.open_library(local, err);
    if (!f || path == "/etc/ld.so.cache") return f;
    return as_recorded(std::move(f), local, ids_, path);
  }
  bool read_whole(const std::string& path, uint64_t max, std::vector<uint8_t>* out) const override {
    if (path == "/etc/ld.so.preload") return false;
    return host_.read_whole(local_path(path), max, out);
  }

 private:
  std::map<std::string, loader::FileIdentity> ids_;
  loader::HostLibraryFiles host_;
};

// ld.so in the VM: its files, the values its --list-diagnostics printed there, the cwd.
class VmRtld final : public sim::RtldHost {
 public:
  VmRtld(const std::string& maps, sim::RtldConfig cfg, std::string cwd)
      : libs_(maps), cfg_(std::move(cfg)), cwd_(std::move(cwd)) {}
  const loader::LibraryFiles& files() const override { return libs_; }
  sim::RtldConfig config_for(const sim::ExecResult&) const override { return cfg_; }
  std::string cwd() const override { return cwd_; }

 private:
  VmLibs libs_;
  sim::RtldConfig cfg_;
  std::string cwd_;
};

struct Facts {
  sim::TargetKey key;
  sim::HostState host;
  std::string ldso_diagnostics;  // "" in goldens recorded before it was kept
  std::string ldso32_diagnostics;  // i386 ld.so's, in the ia32 and start32 directories
  uint64_t stack_rlimit = 8ull << 20;  // PID 1's, inherited by the run cases
  nlohmann::json ops_file_sizes = nlohmann::json::object();
  bool la57 = false;
};

Facts read_facts(const std::string& dir) {
  nlohmann::json j = read_json(dir + "/facts.json");
  Facts out;
  bool exact = false;
  REQUIRE(sim::parse_kernel_version(j.at("release").get<std::string>(), &out.key.kernel));
  REQUIRE(sim::nearest_modelled(out.key.kernel, &out.key.kernel, &exact));
  out.key.config.vsyscall = j.value("vsyscall", false) ? sim::VsyscallMode::xonly
                                                       : sim::VsyscallMode::none;
  out.la57 = j.value("la57", false);
  out.key.config.paging = out.la57 ? 5 : 4;
  sim::HostState& h = out.host;
  h.source = "vm";
  const auto& v = j.at("auxv_values");
  h.hwcap = num(v.at("AT_HWCAP"));
  h.hwcap2 = num(v.value("AT_HWCAP2", nlohmann::json(0)));
  if (v.contains("AT_MINSIGSTKSZ")) h.minsigstksz = num(v.at("AT_MINSIGSTKSZ"));
  h.clktck = num(v.at("AT_CLKTCK"));
  h.platform = j.at("platform");
  h.uid = num(v.at("AT_UID"));
  h.euid = num(v.at("AT_EUID"));
  h.gid = num(v.at("AT_GID"));
  h.egid = num(v.at("AT_EGID"));
  h.mmap_min_addr = j.at("mmap_min_addr");
  h.randomize_va_space = j.at("randomize_va_space");
  h.overcommit_memory = j.at("overcommit_memory");
  h.legacy_va_layout = j.value("legacy_va_layout", 0u);
  // Recorded since the ia32 goldens; before, the Debian defaults (28, 8) held.
  if (j.contains("mmap_rnd_bits") && j["mmap_rnd_bits"].is_number())
    h.mmap_rnd_bits = j["mmap_rnd_bits"];
  if (j.contains("mmap_rnd_compat_bits") && j["mmap_rnd_compat_bits"].is_number())
    h.mmap_rnd_compat_bits = j["mmap_rnd_compat_bits"];
  // The agent is PID 1, root with every capability: MMAP_PAGE_ZERO maps page 0.
  h.cap_sys_rawio = h.euid == 0 ? 1 : 0;
  h.commit_limit_pages = 0;
  out.ldso_diagnostics = j.value("ldso_diagnostics", std::string());
  out.ldso32_diagnostics = j.value("ldso32_diagnostics", std::string());
  const auto& sl = j.at("stack_rlimit").at("cur");
  out.stack_rlimit = sl.is_string() ? sim::kRlimInfinity : sl.get<uint64_t>();
  if (j.contains("ops_file_sizes")) out.ops_file_sizes = j["ops_file_sizes"];
  return out;
}

// The request a capture file records, for the kernel of facts.
sim::ExecRequest request_of(const nlohmann::json& j, const Facts& facts) {
  sim::ExecRequest req;
  req.filename = j.at("path");
  req.argv = j.at("argv").get<std::vector<std::string>>();
  req.envp = j.at("envp").get<std::vector<std::string>>();
  req.profile = sim::profile_for(facts.key);
  req.host = facts.host;
  const auto& sl = j.at("stack_limit");
  req.host.stack_rlimit = sl.is_string() ? sim::kRlimInfinity : sl.get<uint64_t>();
  req.randomize = !j.value("disable_aslr", true);
  req.personality = j.value("personality", 0u);
  return req;
}

// Whether the files a capture mapped are this machine's (by size); else *which names one.
bool same_files(const nlohmann::json& j, std::string* which) {
  if (!j.contains("file_sizes")) return true;
  for (auto it = j["file_sizes"].begin(); it != j["file_sizes"].end(); ++it) {
    struct stat st;
    std::string local = local_path(it.key());
    if (::stat(local.c_str(), &st) != 0 || uint64_t(st.st_size) != it.value().get<uint64_t>()) {
      *which = it.key();
      return false;
    }
  }
  return true;
}

// `verify --stage start`'s verdict: a [heap] the libraries' initializers made before the
// entry point is outside the model, so differences that are only such lines are excused.
bool exact_except_heap(const analysis::Comparison& cmp) {
  if (cmp.exact) return true;
  for (const analysis::Difference& d : cmp.diffs)
    if (!(d.what == "maps" && d.predicted.empty() && d.actual.size() >= 6 &&
          d.actual.compare(d.actual.size() - 6, 6, "[heap]") == 0))
      return false;
  return true;
}

}  // namespace

TEST_CASE("captures from Debian kernels in qemu replay exactly with --kernel VERSION", "[vm]") {
  auto versions = vm_versions();
  REQUIRE(versions.size() >= 4);
  for (const std::string& version : versions) {
    if (start32_dir(version)) continue;  // entry captures only: the start-stage test
    const std::string dir = vm_dir(version);
    Facts facts = read_facts(dir);
    // The same captures under 6.18's rules: each kernel must differ somewhere, or this replay
    // would not show that its rules matter.
    sim::TargetKey other = facts.key;
    other.kernel = sim::KernelVersion{6, 18};
    sim::KernelProfile profile_618 = sim::profile_for(other);
    int total = 0, exact = 0, skipped = 0, entry = 0, differ_618 = 0;
    for (const std::string& name : list_dir(dir + "/captures")) {
      nlohmann::json j = read_json(dir + "/captures/" + name);
      live::Capture cap = analysis::capture_from_json(j);
      if (cap.at_entry || j.value("stop_at_entry", false)) {
        ++entry;  // the start stage: the next test
        continue;
      }
      sim::ExecRequest req = request_of(j, facts);
      std::string which;
      if (!same_files(j, &which)) {
        WARN("SKIPPED " << version << "/" << name << ": " << which << " is not the recorded file");
        ++skipped;
        continue;
      }
      VmFs fs(j.value("cwd", std::string("/")), cap.maps);
      sim::Pipeline pipeline(fs, nullptr);
      sim::ExecResult r = pipeline.predict(req);
      analysis::Comparison cmp = analysis::compare(r, cap);
      ++total;
      if (cmp.exact) ++exact;
      sim::ExecRequest req618 = req;
      req618.profile = profile_618;
      if (!analysis::compare(pipeline.predict(req618), cap).exact) ++differ_618;
      INFO("kernel " << version << ": " << name << "\n" << cli::render_comparison(cmp, r, cap));
      CHECK(cmp.exact);
    }
    WARN("kernel " << version << ": exec stage: " << exact << " of " << total << " captures exact"
                   << (skipped ? ", " + std::to_string(skipped) + " skipped" : std::string())
                   << "; " << differ_618 << " differ under 6.18's rules; " << entry
                   << " entry captures replayed by the start-stage test");
    CHECK(total > 0);
    CHECK(differ_618 > 0);
  }
}

TEST_CASE("entry captures from qemu replay with --stage start and the VM's ld.so values",
          "[vm][start]") {
  for (const std::string& version : vm_versions()) {
    const std::string dir = vm_dir(version);
    // ia32 programs start with i386 ld.so (libc6-i386), whose values the guest printed too.
    const bool i386 = ia32_dir(version) || start32_dir(version);
    const sim::RtldConfig base = i386 ? sim::rtld_config_i386() : sim::RtldConfig();
    Facts facts = read_facts(dir);
    INFO("kernel " << version);
    const std::string& diagnostics = i386 ? facts.ldso32_diagnostics : facts.ldso_diagnostics;
    REQUIRE_FALSE(diagnostics.empty());
    std::optional<sim::RtldConfig> cfg = live::rtld_config_from_diagnostics(diagnostics, base);
    REQUIRE(cfg);
    int total = 0, exact = 0, heap_only = 0, skipped = 0, differ_default = 0;
    for (const std::string& name : list_dir(dir + "/captures")) {
      nlohmann::json j = read_json(dir + "/captures/" + name);
      live::Capture cap = analysis::capture_from_json(j);
      if (!cap.at_entry) continue;
      std::string which;
      if (!same_files(j, &which)) {
        WARN("SKIPPED " << version << "/" << name << ": " << which << " is not the recorded file");
        ++skipped;
        continue;
      }
      sim::ExecRequest req = request_of(j, facts);
      req.stage = sim::Stage::start;
      const std::string cwd = j.value("cwd", std::string("/"));
      VmFs fs(cwd, cap.maps);
      VmRtld rtld(cap.maps, *cfg, cwd);
      sim::Pipeline pipeline(fs, &rtld);
      sim::ExecResult r = pipeline.predict(req);
      analysis::Comparison cmp = analysis::compare(r, cap);
      ++total;
      if (cmp.exact) ++exact;
      else if (exact_except_heap(cmp)) ++heap_only;
      INFO(name << "\n" << cli::render_comparison(cmp, r, cap));
      CHECK(r.start.has_value());
      CHECK(exact_except_heap(cmp));
      // The same with ld.so's documented defaults instead of the VM's values: where the
      // VM's CPU has other glibc-hwcaps levels, ld.so's start-up allocations differ.
      VmRtld defaults(cap.maps, base, cwd);
      sim::Pipeline with_defaults(fs, &defaults);
      if (!exact_except_heap(analysis::compare(with_defaults.predict(req), cap))) ++differ_default;
    }
    WARN("kernel " << version << ": start stage: " << exact + heap_only << " of " << total
                   << " entry captures exact (" << heap_only << " of them but for [heap])"
                   << (skipped ? ", " + std::to_string(skipped) + " skipped" : std::string())
                   << "; ld.so platform " << cfg->platform << ", glibc-hwcaps "
                   << cfg->glibc_hwcaps.size() << " subdirectories; " << differ_default
                   << " differ with ld.so's default values");
    // 10 entry captures in VERSION-ia32, at least 30 programs in VERSION-start32.
    CHECK(total >= (ia32_dir(version) ? 10 : start32_dir(version) ? 30 : 20));
  }
}

TEST_CASE("randomized runs in qemu lie inside entropy --kernel VERSION's ranges",
          "[vm][aslr]") {
  const std::set<std::string> required64 = {"pie", "nopie", "static", "static-pie",
                                            "align2m-static-pie"};
  const std::set<std::string> required32 = {"pie32", "nopie32", "static32", "static-pie32"};
  for (const std::string& version : vm_versions()) {
    if (start32_dir(version)) continue;  // entry captures only
    const std::string dir = vm_dir(version);
    const std::set<std::string>& required = ia32_dir(version) ? required32 : required64;
    Facts facts = read_facts(dir);
    std::set<std::string> seen;
    std::ostringstream report;
    size_t values = 0, outside = 0, runs = 0;
    for (const std::string& name : list_dir(dir + "/aslr")) {
      nlohmann::json j = read_json(dir + "/aslr/" + name);
      const std::string prog = j.at("id").get<std::string>().substr(
          0, j.at("id").get<std::string>().rfind('.'));
      const auto& samples = j.at("samples");
      INFO("kernel " << version << ": " << prog);
      REQUIRE(samples.size() >= 100);
      const nlohmann::json& first = samples[0];
      std::string which;
      if (!same_files(first, &which)) {
        WARN("SKIPPED " << version << "/" << name << ": " << which << " is not the recorded file");
        continue;
      }
      seen.insert(prog);
      sim::ExecRequest req = request_of(first, facts);
      REQUIRE(req.randomize);
      VmFs fs(first.value("cwd", std::string("/")), first.at("maps").get<std::string>());
      sim::Pipeline pipeline(fs, nullptr);
      sim::EntropyResult m = sim::entropy_model(req, pipeline);
      REQUIRE(m.ok());
      std::map<std::string, std::vector<uint64_t>> observed;
      for (const auto& s : samples) {
        live::Capture cap = analysis::capture_from_json(s);
        REQUIRE(cap.outcome == live::Capture::Outcome::Stopped);
        for (const auto& [region, v] : cli::observed_regions(cap, m)) observed[region].push_back(v);
        ++runs;
      }
      report << "  " << prog << ":";
      for (const sim::RegionEntropy& re : m.regions) {
        const std::vector<uint64_t>& vs = observed[re.name];
        if (vs.empty()) {
          report << " " << re.name << " -";
          continue;
        }
        uint64_t lo = *std::min_element(vs.begin(), vs.end());
        uint64_t hi = *std::max_element(vs.begin(), vs.end());
        size_t bad = 0;
        for (uint64_t v : vs) {
          ++values;
          bool in = v >= re.min && v <= re.max && (re.align == 0 || (v - re.min) % re.align == 0);
          if (!in) {
            ++bad;
            if (bad <= 3)
              FAIL_CHECK(prog << " " << re.name << ": observed " << hexs(v) << " outside "
                              << hexs(re.min) << ".." << hexs(re.max) << " step " << hexs(re.align));
          }
        }
        outside += bad;
        // Spread: the observed span as a share of the model's. 100 uniform draws span ~98% of
        // their range, so a range far wider than the kernel's shows here (brk's 32 MiB on
        // 5.10). Only for a region of one draw: a sum of draws, or the vdso that falls back
        // below mmap_base when the stack ends within its size of DEFAULT_MAP_WINDOW (vdso_addr()
        // before 6.9), reaches its extremes too rarely for 100 runs.
        double spread = re.max > re.min ? double(hi - lo) / double(re.max - re.min) : 1.0;
        if (re.count >= 64 && re.draws.size() == 1) {
          INFO(prog << " " << re.name << ": observed " << hexs(lo) << ".." << hexs(hi)
                    << ", model " << hexs(re.min) << ".." << hexs(re.max) << " (" << re.count
                    << " values)");
          CHECK(spread >= 0.8);
        }
        char sp[16];
        std::snprintf(sp, sizeof sp, "%.0f%%", spread * 100);
        report << " " << re.name << " " << sp;
      }
      // Before 6.9 the vdso is hinted at a random page above the stack, inside the stack top's
      // 2 MiB (vdso_addr()): observed above the stack end, less than PMD_SIZE from it.
      if (m.base.profile.vdso_above_stack && !observed["vdso"].empty()) {
        uint64_t far = 0;
        for (size_t k = 0; k < observed["vdso"].size() && k < observed["stack"].size(); ++k) {
          uint64_t vdso = observed["vdso"][k], stack = observed["stack"][k];
          INFO(prog << ": vdso " << hexs(vdso) << ", stack end " << hexs(stack));
          CHECK(vdso >= stack);
          CHECK(vdso - stack < m.base.profile.pmd_size);
          far = std::max(far, vdso - stack);
        }
        report << " (vdso at most " << hexs(far) << " above the stack)";
      }
      report << "\n";
    }
    for (const std::string& p : required) {
      INFO("kernel " << version << ": no ASLR samples of " << p);
      CHECK(seen.count(p));
    }
    WARN("kernel " << version << ": ASLR: " << runs << " runs of " << seen.size() << " programs, "
                   << values << " region values, " << outside
                   << " outside the model; observed spread per region:\n"
                   << report.str());
  }
}

namespace {

struct OpsReplay {
  bool ok = false;
  std::string why;           // !ok: what did not match
  std::string predicted_maps, recorded_maps;
  std::vector<std::string> predicted_results, recorded_results;
};

// One opsrun run recorded in a VM, replayed as `layout --kernel V --ops SCRIPT --format maps`
// (and the per-operation results of `step --ops`) with the profile of key.
OpsReplay replay_ops(const nlohmann::json& j, const Facts& facts, const sim::TargetKey& key,
                     const std::string& script) {
  OpsReplay out;
  const std::string stdout_text = j.at("stdout");
  size_t sep = stdout_text.find("--- maps\n");
  REQUIRE(sep != std::string::npos);
  out.recorded_maps = stdout_text.substr(sep + 9);
  std::vector<std::string> op_lines = lines_of(stdout_text.substr(0, sep));

  sim::ExecRequest req;
  req.filename = j.at("path");
  req.argv = j.at("argv").get<std::vector<std::string>>();
  req.envp = j.at("envp").get<std::vector<std::string>>();
  req.profile = sim::profile_for(key);
  req.host = facts.host;
  req.host.stack_rlimit = facts.stack_rlimit;
  req.randomize = !j.value("disable_aslr", true);
  VmFs fs(j.at("cwd"), out.recorded_maps);
  sim::Pipeline pipeline(fs, nullptr);
  sim::ExecResult r = pipeline.predict(req);
  INFO("exec of " << req.filename << ": " << r.error.name << " " << r.error.message);
  REQUIRE(r.ok());
  // The script's data files: opened on this machine, shown under the VM's identities.
  const size_t exec_files = r.files.size();
  std::vector<sim::MemOp> ops;
  std::string err;
  REQUIRE(cli::parse_ops_file(script, r, &ops, &err));
  auto ids = identities(out.recorded_maps);
  for (size_t i = exec_files; i < r.files.size(); ++i) {
    auto it = ids.find(base_of(r.files[i].path));
    if (it != ids.end()) r.files[i] = it->second;
  }
  std::vector<sim::OpOutcome> outcomes = sim::apply_ops(r, ops, /*record_steps=*/false);
  out.predicted_maps = cli::render_maps(r);

  // "op K: 0x..." or "op K: -ERRNO", and for brk " brk=0x..." (what brk() returned).
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const sim::OpOutcome& o = outcomes[i];
    std::string s = "op " + std::to_string(i + 1) + ": " +
                    (o.ok ? hexs(o.value) : "-" + std::to_string(o.err));
    if (ops[i].kind == sim::MemOp::Kind::BrkRelative || ops[i].kind == sim::MemOp::Kind::BrkAbsolute)
      s += " brk=" + hexs(o.value);
    out.predicted_results.push_back(s);
  }
  for (const std::string& l : op_lines)
    if (l.rfind("op ", 0) == 0) out.recorded_results.push_back(l);
  bool maps_same = out.predicted_maps == out.recorded_maps;
  bool results_same = out.predicted_results == out.recorded_results;
  out.ok = maps_same && results_same;
  if (!maps_same) out.why += "maps differ. ";
  if (!results_same) out.why += "operation results differ. ";
  return out;
}

std::string render_ops_diff(const OpsReplay& o) {
  std::ostringstream s;
  s << o.why << "\n--- predicted results / +++ kernel results\n";
  size_t n = std::max(o.predicted_results.size(), o.recorded_results.size());
  for (size_t i = 0; i < n; ++i) {
    std::string p = i < o.predicted_results.size() ? o.predicted_results[i] : "(none)";
    std::string a = i < o.recorded_results.size() ? o.recorded_results[i] : "(none)";
    if (p == a) s << "  " << p << "\n";
    else s << "- " << p << "\n+ " << a << "\n";
  }
  s << "--- predicted maps / +++ kernel maps\n";
  auto pl = lines_of(o.predicted_maps), al = lines_of(o.recorded_maps);
  std::set<std::string> ps(pl.begin(), pl.end()), as(al.begin(), al.end());
  for (const auto& l : pl) s << (as.count(l) ? "  " : "- ") << l << "\n";
  for (const auto& l : al)
    if (!ps.count(l)) s << "+ " << l << "\n";
  return s.str();
}

// Whether the run used this machine's opsrun and script (facts.json's ops_file_sizes).
bool same_ops_files(const Facts& facts, const std::string& script_name, std::string* which) {
  for (auto it = facts.ops_file_sizes.begin(); it != facts.ops_file_sizes.end(); ++it) {
    if (it.key() != "opsrun" && it.key() != script_name && it.key().find(".ops") != std::string::npos)
      continue;
    std::string local = local_path("/corpus/vm-ops/" + it.key());
    struct stat st;
    if (::stat(local.c_str(), &st) != 0 || uint64_t(st.st_size) != it.value().get<uint64_t>()) {
      *which = local;
      return false;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("ops scripts run by opsrun in qemu agree with layout --kernel VERSION --ops",
          "[vm][ops]") {
  for (const std::string& version : vm_versions()) {
    // opsrun is a 64-bit program: recorded with the 64-bit corpus.
    if (ia32_dir(version) || start32_dir(version)) continue;
    const std::string dir = vm_dir(version);
    Facts facts = read_facts(dir);
    int total = 0, agree = 0, skipped = 0;
    for (const std::string& name : list_dir(dir + "/ops")) {
      nlohmann::json j = read_json(dir + "/ops/" + name);
      const std::string script_name = name.substr(0, name.size() - 5) + ".ops";
      INFO("kernel " << version << ": " << script_name);
      REQUIRE(j.at("ok").get<bool>());
      REQUIRE(j.at("exit_status").get<int>() == 0);
      std::string which;
      if (facts.ops_file_sizes.empty() || !same_ops_files(facts, script_name, &which)) {
        WARN("SKIPPED " << version << "/" << name << ": "
                        << (which.empty() ? "no ops_file_sizes in facts.json" : which + " is not the recorded file"));
        ++skipped;
        continue;
      }
      OpsReplay o = replay_ops(j, facts, facts.key, std::string(EXECMAP_OPS_DIR) + "/" + script_name);
      ++total;
      if (o.ok) ++agree;
      INFO(render_ops_diff(o));
      CHECK(o.ok);
    }
    WARN("kernel " << version << ": --ops: " << agree << " of " << total << " opsrun runs agree"
                   << (skipped ? ", " + std::to_string(skipped) + " skipped" : std::string()));
    CHECK(total >= 17);
  }
}

TEST_CASE("5-level paging: the 6.12 kernel on an LA57 CPU agrees with --kernel-config paging=5",
          "[vm][ops][la57]") {
  const std::string dir = vm_dir("6.12-la57");
  Facts facts = read_facts(dir);
  REQUIRE(facts.la57);
  REQUIRE(facts.key.config.paging == 5);
  REQUIRE(facts.key.kernel == (sim::KernelVersion{6, 12}));
  // The profile: TASK_SIZE 2^56 - 4 KiB, the exec layout in the 47-bit window.
  sim::KernelProfile p = sim::profile_for(facts.key);
  CHECK(p.task_size == (uint64_t(1) << 56) - 4096);
  CHECK(p.default_map_window == (uint64_t(1) << 47) - 4096);
  CHECK(p.stack_top == p.default_map_window);
  CHECK(p.elf_et_dyn_base == sim::profile_for(sim::TargetKey{}).elf_et_dyn_base);

  sim::TargetKey four = facts.key;
  four.config.paging = 4;
  // 18: hints above the window and MAP_FIXED up there; 09: a hint at 2^47, "beyond TASK_SIZE"
  // only with 4-level paging; 10: MAP_FIXED ending at 2^47, ENOMEM only with 4-level paging.
  const std::pair<const char*, bool> scripts[] = {
      {"18-above-47-bits", true}, {"09-hints", true}, {"10-errors", false}};
  for (const auto& [script, maps_above] : scripts) {
    INFO(script);
    nlohmann::json j = read_json(dir + "/ops/" + script + ".json");
    std::string which;
    if (!same_ops_files(facts, std::string(script) + ".ops", &which)) {
      WARN("SKIPPED 6.12-la57/" << script << ": " << which << " is not the recorded file");
      continue;
    }
    const std::string path = std::string(EXECMAP_OPS_DIR) + "/" + script + ".ops";
    OpsReplay five = replay_ops(j, facts, facts.key, path);
    INFO(render_ops_diff(five));
    CHECK(five.ok);
    // The kernel really mapped above 2^47, and 4-level rules would not have.
    bool above = false;
    for (const std::string& l : lines_of(five.recorded_maps))
      above |= std::stoull(l.substr(0, l.find('-')), nullptr, 16) >= (uint64_t(1) << 47);
    CHECK(above == maps_above);
    OpsReplay as_four = replay_ops(j, facts, four, path);
    CHECK_FALSE(as_four.ok);
  }
}

// `ld-linux.so.2 --list PROG` (what ldd runs) in the guest against the libraries the start
// stage loads, in the same order: each "NAME => PATH" (and ld.so's own "PATH") line. Its
// addresses are not compared: with --list, ld.so runs as a program and maps PROG itself.
TEST_CASE("libs of ia32 programs agree with i386 ld.so --list in qemu", "[vm][libs]") {
  int dirs = 0;
  for (const std::string& version : vm_versions()) {
    if (!ia32_dir(version) && !start32_dir(version)) continue;
    const std::string dir = vm_dir(version);
    nlohmann::json facts_json = read_json(dir + "/facts.json");
    if (!facts_json.contains("ldd32")) continue;
    ++dirs;
    Facts facts = read_facts(dir);
    std::optional<sim::RtldConfig> cfg =
        live::rtld_config_from_diagnostics(facts.ldso32_diagnostics, sim::rtld_config_i386());
    REQUIRE(cfg);
    int total = 0, agree = 0, skipped = 0;
    for (auto it = facts_json["ldd32"].begin(); it != facts_json["ldd32"].end(); ++it) {
      const std::string prog = it.key();
      INFO("kernel " << version << ": " << prog);
      REQUIRE(it.value().at("exit_status") == 0);
      const std::string cap_path = dir + "/captures/" + prog + ".entry.json";
      REQUIRE(::access(cap_path.c_str(), R_OK) == 0);
      nlohmann::json j = read_json(cap_path);
      std::string which;
      if (!same_files(j, &which)) {
        WARN("SKIPPED " << version << "/" << prog << ": " << which << " is not the recorded file");
        ++skipped;
        continue;
      }
      live::Capture cap = analysis::capture_from_json(j);
      sim::ExecRequest req = request_of(j, facts);
      req.stage = sim::Stage::start;
      const std::string cwd = j.value("cwd", std::string("/"));
      VmFs fs(cwd, cap.maps);
      VmRtld rtld(cap.maps, *cfg, cwd);
      sim::Pipeline pipeline(fs, &rtld);
      sim::ExecResult r = pipeline.predict(req);
      REQUIRE(r.start.has_value());
      // `libs' order: ld.so's resolution order (RtldResult), ld.so where first named.
      std::vector<sim::StartInfo::Object> objects = r.start->objects;
      std::sort(objects.begin(), objects.end(),
                [](const sim::StartInfo::Object& x, const sim::StartInfo::Object& y) {
                  return x.index < y.index;
                });
      std::vector<std::string> predicted, actual;
      for (const sim::StartInfo::Object& o : objects)
        if (o.index > 0) predicted.push_back(o.name == o.path ? o.path : o.name + " => " + o.path);
      std::istringstream ldd(it.value().at("stdout").get<std::string>());
      std::string line;
      while (std::getline(ldd, line)) {
        size_t b = line.find_first_not_of(" \t"), paren = line.rfind(" (0x");
        if (b == std::string::npos || paren == std::string::npos || paren <= b) continue;
        std::string entry = line.substr(b, paren - b);
        if (entry == "linux-gate.so.1") continue;  // the vDSO
        // Run as `ld.so --list ./PROG', ld.so takes the main map's $ORIGIN from the name it
        // was given (".", made absolute with the cwd), where an exec gives /proc/self/exe's
        // directory: the same directory, spelt ".../start32/./lib".
        for (size_t dot; (dot = entry.find("/./")) != std::string::npos;) entry.erase(dot, 2);
        actual.push_back(entry);
      }
      ++total;
      CHECK(predicted == actual);
      if (predicted == actual) ++agree;
    }
    WARN("kernel " << version << ": libs: " << agree << " of " << total
                   << " ia32 programs list what i386 ld.so --list lists"
                   << (skipped ? ", " + std::to_string(skipped) + " skipped" : std::string()));
    CHECK(total > 0);
  }
  CHECK(dirs >= 8);
}
