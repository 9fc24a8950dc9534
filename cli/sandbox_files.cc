// The sandbox's file list from the prediction pipeline (cli/sandbox_files.h).
#include "cli/sandbox_files.h"

#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace execmap::cli {
namespace {

std::string absolute_path(const std::string& path) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

}  // namespace

void add_sandbox_file(const std::string& path, live::SandboxSpec* spec) {
  if (path.empty()) return;
  const std::string named = absolute_path(path);
  char buf[PATH_MAX];
  const std::string canonical = ::realpath(named.c_str(), buf) ? std::string(buf) : named;
  spec->files.push_back(canonical);
  if (named != canonical) spec->links.emplace_back(named, canonical);
}

void add_sandbox_program(const std::string& file, const sim::ExecRequest& base, HostPipeline* hp,
                         live::SandboxSpec* spec) {
  add_sandbox_file(file, spec);
  sim::ExecRequest req = base;
  req.filename = file;
  if (req.argv.empty()) req.argv = {file};
  req.stage = sim::Stage::exec;
  sim::ExecResult r = hp->pipeline.predict(req);
  if (!r.ok() || r.objects.empty()) return;
  // #! scripts: every interpreter by the name its #! line gives, and the ELF that runs.
  for (const sim::ScriptPass& pass : r.scripts) {
    add_sandbox_file(pass.script, spec);
    add_sandbox_file(pass.interpreter, spec);
  }
  add_sandbox_file(r.objects[0].id.path, spec);
  if (r.objects.size() < 2) return;
  add_sandbox_file(r.objects[1].id.path, spec);
  // PT_INTERP's name, as the kernel opens it (often a symlink: /lib64/ld-linux-x86-64.so.2).
  for (const auto& ph : r.objects[0].phdrs)
    if (ph.p_type == 3 && ph.p_filesz > 1 && ph.p_filesz < PATH_MAX) {  // PT_INTERP
      std::ifstream f(r.objects[0].id.path, std::ios::binary);
      std::string name(ph.p_filesz, '\0');
      f.seekg(std::streamoff(ph.p_offset));
      if (f.read(&name[0], std::streamsize(name.size()))) {
        name.resize(std::strlen(name.c_str()));
        add_sandbox_file(name, spec);
      }
    }
  std::shared_ptr<const sim::Resolution> res = hp->pipeline.resolve(r, req);
  if (res && res->ok)
    for (const sim::RtldObject& ob : res->libs.objects) {
      if (!ob.l_name.empty() && ob.l_name[0] == '/') add_sandbox_file(ob.l_name, spec);
      add_sandbox_file(ob.id.path, spec);
    }
  add_sandbox_file("/etc/ld.so.cache", spec);
}

live::SandboxSpec base_sandbox_spec(bool no_sandbox, uint64_t scratch_bytes) {
  live::SandboxSpec spec;
  spec.enabled = !no_sandbox;
  spec.scratch_bytes = scratch_bytes;
  const char* force = std::getenv("EXECMAP_SANDBOX");
  if (force && std::string(force) == "chroot") spec.allow_namespaces = false;
  std::error_code ec;
  spec.cwd = std::filesystem::current_path(ec).string();
  return spec;
}

void apply_sandbox_ids(const live::SandboxSpec& spec, sim::ExecRequest* req,
                       live::SandboxLevel level) {
  if (!spec.enabled) return;
  req->host.no_new_privs = 1;  // Sandbox::enter() sets it: set-ID bits are ignored
  if (::geteuid() != 0) return;
  const uint32_t id = level == live::SandboxLevel::Chroot ? live::chroot_level_uid() : spec.uid;
  req->host.uid = req->host.euid = id;
  req->host.gid = req->host.egid = id;
}

}  // namespace execmap::cli
