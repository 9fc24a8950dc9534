// Replays the captures taken in Debian's 5.10, 6.1, 6.12 and 7.2 kernels booted in qemu
// (testdata/golden/vm/, recorded by tests/vm/record.sh) against `--kernel VERSION`: the
// prediction must equal the kernel's answer exactly, AT_RANDOM aside. No VM is needed.
#include <dirent.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <map>

#include "analysis/capture_json.h"
#include "analysis/compare.h"
#include "cli/render.h"
#include "loader/exec_file.h"
#include "loader/elf_defs.h"
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

uint64_t num(const nlohmann::json& v) {
  if (v.is_number()) return v.get<uint64_t>();
  return std::stoull(v.get<std::string>(), nullptr, 0);
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

// The VM's files as this machine has them: the corpus from this build, ld.so from the host,
// each under the device, inode and path the capture's maps show.
class VmFs final : public loader::FileSystem {
 public:
  VmFs(std::string cwd, const std::string& maps) : cwd_(std::move(cwd)) {
    for (const util::MapsLine& m : util::parse_maps(maps))
      if (m.inode)
        ids_[base_of(m.path)] = loader::FileIdentity{m.dev_major, m.dev_minor, m.inode, m.path};
  }
  // Where the recorded absolute path lives on this machine.
  static std::string local(const std::string& abs) {
    size_t c = abs.rfind("/corpus/");
    if (c != std::string::npos) return std::string(EXECMAP_CORPUS_DIR) + abs.substr(c + 7);
    return abs;
  }
  loader::OpenResult open_exec(const std::string& path) const override {
    std::string abs = path.empty() || path[0] == '/' ? path : cwd_ + "/" + path;
    loader::OpenResult r = host_.open_exec(local(abs));
    if (!r.file) return r;
    char* real = ::realpath(local(abs).c_str(), nullptr);
    std::string key = base_of(real ? real : abs);
    std::free(real);
    auto it = ids_.find(key);
    if (it != ids_.end()) r.file = std::make_unique<Recorded>(std::move(r.file), it->second);
    return r;
  }

 private:
  std::string cwd_;
  std::map<std::string, loader::FileIdentity> ids_;
  loader::HostFileSystem host_;
};

struct Facts {
  sim::TargetKey key;
  sim::HostState host;
};

Facts read_facts(const std::string& dir) {
  std::ifstream f(dir + "/facts.json");
  nlohmann::json j = nlohmann::json::parse(f);
  Facts out;
  bool exact = false;
  REQUIRE(sim::parse_kernel_version(j.at("release").get<std::string>(), &out.key.kernel));
  REQUIRE(sim::nearest_modelled(out.key.kernel, &out.key.kernel, &exact));
  out.key.config.vsyscall = j.value("vsyscall", false) ? sim::VsyscallMode::xonly
                                                       : sim::VsyscallMode::none;
  out.key.config.paging = j.value("la57", false) ? 5 : 4;
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
  h.commit_limit_pages = 0;
  return out;
}

}  // namespace

TEST_CASE("captures from Debian kernels in qemu replay exactly with --kernel VERSION", "[vm]") {
  const std::string root = std::string(EXECMAP_GOLDEN_DIR) + "/vm";
  std::vector<std::string> versions;
  for (const auto& d : list_dir(root))
    if (d.find('.') != std::string::npos && d.find(".md") == std::string::npos) versions.push_back(d);
  REQUIRE(versions.size() >= 4);
  for (const std::string& version : versions) {
    const std::string dir = root + "/" + version;
    Facts facts = read_facts(dir);
    sim::KernelProfile profile = sim::profile_for(facts.key);
    // The same captures under 6.18's rules: each kernel must differ somewhere, or this replay
    // would not show that its rules matter.
    sim::TargetKey other = facts.key;
    other.kernel = sim::KernelVersion{6, 18};
    sim::KernelProfile profile_618 = sim::profile_for(other);
    int total = 0, exact = 0, skipped = 0, differ_618 = 0;
    for (const std::string& name : list_dir(dir + "/captures")) {
      std::ifstream f(dir + "/captures/" + name);
      nlohmann::json j = nlohmann::json::parse(f);
      live::Capture cap = analysis::capture_from_json(j);
      if (cap.at_entry || j.value("stop_at_entry", false)) {
        ++skipped;  // the start stage needs the VM's ld.so values (not recorded yet)
        continue;
      }
      sim::ExecRequest req;
      req.filename = j.at("path");
      req.argv = j.at("argv").get<std::vector<std::string>>();
      req.envp = j.at("envp").get<std::vector<std::string>>();
      req.profile = profile;
      req.host = facts.host;
      const auto& sl = j.at("stack_limit");
      req.host.stack_rlimit = sl.is_string() ? sim::kRlimInfinity : sl.get<uint64_t>();
      VmFs fs(j.value("cwd", std::string("/")), cap.maps);
      // The program must be the recorded one.
      bool same = true;
      if (j.contains("file_sizes"))
        for (auto it = j["file_sizes"].begin(); it != j["file_sizes"].end(); ++it) {
          struct stat st;
          std::string local = VmFs::local(it.key());
          if (::stat(local.c_str(), &st) != 0 ||
              uint64_t(st.st_size) != it.value().get<uint64_t>())
            same = false;
        }
      if (!same) {
        ++skipped;
        continue;
      }
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
    WARN("kernel " << version << ": " << exact << " of " << total << " captures exact"
                   << (skipped ? ", " + std::to_string(skipped) + " skipped" : std::string())
                   << "; " << differ_618 << " differ under 6.18's rules");
    CHECK(total > 0);
    CHECK(differ_618 > 0);
  }
}
