// Golden tests: replay kernel captures recorded by testdata/golden/record.sh (execmap verify
// --save-capture on the real kernel) through the simulator, without ptrace. The host values
// come from the capture's own auxv and maps, and each file's identity from its maps lines.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "analysis/capture_json.h"
#include "analysis/compare.h"
#include "cli/commands.h"
#include "cli/render.h"
#include "loader/exec_file.h"
#include "loader/lib_files.h"
#include "sim/exec.h"
#include "sim/pipeline.h"
#include "sim/target.h"
#include "util/maps.h"

using namespace execmap;

namespace {

std::string basename_of(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

// Wraps a host file but reports the identity the capture recorded (inode, device and path
// differ from machine to machine and clone to clone).
class RecordedFile final : public loader::ExecFile {
 public:
  RecordedFile(std::unique_ptr<loader::ExecFile> f, loader::FileIdentity id, uint64_t size = 0)
      : f_(std::move(f)), id_(std::move(id)), size_(size) {}
  const loader::FileIdentity& identity() const override { return id_; }
  uint64_t size() const override { return size_ ? size_ : f_->size(); }
  int64_t read_at(uint64_t off, void* out, uint64_t len) const override {
    return f_->read_at(off, out, len);
  }

 private:
  std::unique_ptr<loader::ExecFile> f_;
  loader::FileIdentity id_;
  uint64_t size_;
};


// The maps lines' identities by basename.
std::map<std::string, loader::FileIdentity> identities(const std::string& maps) {
  std::map<std::string, loader::FileIdentity> ids;
  for (const util::MapsLine& m : util::parse_maps(maps)) {
    if (m.inode == 0) continue;
    loader::FileIdentity id{m.dev_major, m.dev_minor, m.inode, m.path};
    ids[basename_of(id.path)] = id;
  }
  return ids;
}

// What ld.so opens, for a --stage start capture: this machine's files under the recorded
// identities, the program from testdata, and ld.so.cache with its recorded size (its
// mapping's length moves everything below it).
class GoldenLibs final : public loader::LibraryFiles {
 public:
  GoldenLibs(std::string exe_disk, const std::string& maps, uint64_t cache_size)
      : exe_disk_(std::move(exe_disk)), ids_(identities(maps)), cache_size_(cache_size) {}
  std::unique_ptr<loader::ExecFile> open_library(const std::string& path, int* err) const override {
    std::string base = basename_of(path);
    bool is_exe = base == basename_of(exe_disk_);
    std::unique_ptr<loader::ExecFile> f = host_.open_library(is_exe ? exe_disk_ : path, err);
    if (!f) return f;
    if (path == "/etc/ld.so.cache") {
      loader::FileIdentity id = f->identity();
      return std::make_unique<RecordedFile>(std::move(f), id, cache_size_);
    }
    auto it = ids_.find(basename_of(f->identity().path));
    if (is_exe) it = ids_.find(base);
    if (it == ids_.end()) return f;
    return std::make_unique<RecordedFile>(std::move(f), it->second);
  }
  bool read_whole(const std::string& path, uint64_t max, std::vector<uint8_t>* out) const override {
    return host_.read_whole(path, max, out);
  }

 private:
  std::string exe_disk_;
  std::map<std::string, loader::FileIdentity> ids_;
  uint64_t cache_size_;
  loader::HostLibraryFiles host_;
};


class GoldenFs final : public loader::FileSystem {
 public:
  GoldenFs(std::string exe_as_given, std::string exe_on_disk, const std::string& maps)
      : exe_(std::move(exe_as_given)), exe_disk_(std::move(exe_on_disk)), ids_(identities(maps)) {}
  loader::OpenResult open_exec(const std::string& path) const override {
    std::string disk = path == exe_ ? exe_disk_ : path;
    loader::OpenResult r = host_.open_exec(disk);
    if (!r.file) return r;
    char* real = ::realpath(disk.c_str(), nullptr);
    std::string key = basename_of(path == exe_ ? exe_ : (real ? real : disk));
    std::free(real);
    auto it = ids_.find(key);
    if (it != ids_.end()) r.file = std::make_unique<RecordedFile>(std::move(r.file), it->second);
    return r;
  }

 private:
  std::string exe_, exe_disk_;
  std::map<std::string, loader::FileIdentity> ids_;
  loader::HostFileSystem host_;
};

std::vector<std::string> capture_files() {
  std::vector<std::string> out;
  std::string dir = std::string(EXECMAP_GOLDEN_DIR) + "/captures";
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > 5 && n.substr(n.size() - 5) == ".json") out.push_back(dir + "/" + n);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// ld.so's view of a capture's machine: the recorded files and the recorded ld.so values.
class GoldenRtld final : public sim::RtldHost {
 public:
  GoldenRtld(GoldenLibs libs, sim::RtldConfig cfg) : libs_(std::move(libs)), cfg_(std::move(cfg)) {}
  const loader::LibraryFiles& files() const override { return libs_; }
  sim::RtldConfig config_for(const sim::ExecResult&) const override { return cfg_; }
  std::string cwd() const override {
    char b[4096];
    return getcwd(b, sizeof b) ? std::string(b) : std::string("/");
  }

 private:
  GoldenLibs libs_;
  sim::RtldConfig cfg_;
};

}  // namespace

TEST_CASE("golden kernel captures replay exactly", "[golden]") {
  auto files = capture_files();
  REQUIRE(files.size() >= 9);
  for (const auto& path : files) {
    {
      std::ifstream f(path);
      nlohmann::json j = nlohmann::json::parse(f);
      sim::ExecRequest req;
      req.filename = j.at("path");
      req.argv = j.at("argv").get<std::vector<std::string>>();
      req.envp = j.at("envp").get<std::vector<std::string>>();
      analysis::CaptureTarget t = analysis::target_from_capture(j);
      sim::TargetKey key;
      key.config = t.config;
      req.profile = sim::profile_for(key, &t.measured);
      req.host = t.host;
      std::string on_disk = std::string(EXECMAP_GOLDEN_DIR) + "/bin/" + basename_of(req.filename);
      live::Capture cap = analysis::capture_from_json(j);
      GoldenFs fs(req.filename, on_disk, cap.maps);
      // A dynamic capture depends on this machine's ld.so being the one recorded.
      if (cap.maps.find("ld-linux-x86-64.so.2") != std::string::npos) {
        std::ifstream sz(std::string(EXECMAP_GOLDEN_DIR) + "/captures/ldso-size");
        uint64_t recorded = 0;
        sz >> recorded;
        struct stat st;
        if (::stat("/lib64/ld-linux-x86-64.so.2", &st) != 0 || uint64_t(st.st_size) != recorded) {
          WARN("SKIPPED " << basename_of(path) << ": this machine's ld.so is not the recorded one");
          continue;
        }
      }
      // Files the capture mapped (and ld.so.cache) must be the recorded ones, by size.
      bool same_files = true;
      if (j.contains("file_sizes"))
        for (auto it = j["file_sizes"].begin(); it != j["file_sizes"].end(); ++it) {
          if (basename_of(it.key()) == basename_of(req.filename)) continue;
          struct stat st;
          if (::stat(it.key().c_str(), &st) != 0 || uint64_t(st.st_size) != it.value().get<uint64_t>()) {
            WARN("SKIPPED " << basename_of(path) << ": " << it.key() << " is not the recorded file");
            same_files = false;
            break;
          }
        }
      if (!same_files) continue;
      std::unique_ptr<GoldenRtld> rtld;
      if (cap.at_entry) {
        rtld = std::make_unique<GoldenRtld>(
            GoldenLibs(on_disk, cap.maps, j["file_sizes"].value("/etc/ld.so.cache", uint64_t(0))),
            cli::rtld_config_from_json(j.at("rtld")));
        req.stage = sim::Stage::start;
      }
      sim::Pipeline pipeline(fs, rtld.get());
      sim::ExecResult r = pipeline.predict(req);
      analysis::Comparison cmp = analysis::compare(r, cap);
      INFO(cli::render_comparison(cmp, r, cap));
      CHECK(cmp.exact);
    }
  }
}
