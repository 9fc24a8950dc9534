// predict(): the exec, then ld.so's resolution and replay for --stage start, on one result.
#include "sim/pipeline.h"

#include <algorithm>
#include <cstring>

#include "loader/dyn_info.h"
#include "loader/elf_defs.h"
#include "sim/rtld_stack.h"
#include "sim/rtld_start.h"

namespace execmap::sim {
namespace {

// The value of the last NAME=... in envp (rtld's process_envvars lets later entries win).
std::optional<std::string> env_value(const std::vector<std::string>& envp, const std::string& k) {
  std::optional<std::string> v;
  for (const std::string& e : envp)
    if (e.size() > k.size() && e.compare(0, k.size(), k) == 0 && e[k.size()] == '=')
      v = e.substr(k.size() + 1);
  return v;
}

void set_error(ExecResult* r, ExecError::Kind kind, const std::string& message,
               const std::string& check) {
  r->error.kind = kind;
  r->error.message = message;
  r->error.check = check;
}

}  // namespace

std::shared_ptr<const Resolution> Pipeline::resolve(const ExecResult& r,
                                                    const ExecRequest& req) const {
  auto out = std::make_shared<Resolution>();
  if (!rtld_) {
    out->error = "the start stage needs ld.so's files and values, and none were given";
    return out;
  }
  const loader::LibraryFiles& fs = rtld_->files();
  RtldRequest rq;
  rq.exe_path = r.objects.empty() ? req.filename : r.objects[0].id.path;
  rq.ld_library_path = env_value(req.envp, "LD_LIBRARY_PATH");
  rq.ld_preload = env_value(req.envp, "LD_PRELOAD");
  rq.secure = r.host.secure != 0;
  rq.cwd = rtld_->cwd();
  bool vdso = false;
  for (const auto& kv : r.mm_vmas.vmas()) vdso |= kv.second.name == "[vdso]";
  rq.vdso = vdso;
  std::string interp_path = r.objects.size() > 1 ? r.objects[1].id.path : "";
  auto cfg = configs_.find(interp_path);
  if (cfg == configs_.end()) cfg = configs_.emplace(interp_path, rtld_->config_for(r)).first;
  rq.config = cfg->second;

  std::string key = rq.exe_path + '\0' + interp_path + '\0' + rq.ld_library_path.value_or("\1") +
                    '\0' + rq.ld_preload.value_or("\1") + '\0' + (rq.secure ? "s" : "") +
                    (rq.vdso ? "v" : "");
  auto hit = resolved_.find(key);
  if (hit != resolved_.end()) return hit->second;

  out->config = rq.config;
  int e = 0;
  std::unique_ptr<loader::ExecFile> exe = fs.open_library(rq.exe_path, &e);
  if (!exe) {
    out->error = rq.exe_path + ": cannot open";
    return out;
  }
  std::unique_ptr<loader::ExecFile> interp;
  if (r.objects.size() > 1) {
    // rtld's l_name for itself is the PT_INTERP string.
    loader::DynInfo d = loader::read_dyn_info(*exe, rq.config.elf_class);
    for (const elf::Phdr& p : d.phdrs)
      if (p.p_type == elf::PT_INTERP && p.p_filesz > 1 && p.p_filesz < 4096) {
        std::vector<char> b(p.p_filesz);
        if (exe->read_at(p.p_offset, b.data(), p.p_filesz) == int64_t(p.p_filesz))
          rq.interp.assign(b.data(), strnlen(b.data(), b.size()));
      }
    interp = fs.open_library(r.objects[1].id.path, &e);
  }
  out->libs = resolve_libraries(rq, *exe, interp.get(), fs);
  out->ok = true;
  resolved_.emplace(key, out);
  return out;
}

void Pipeline::start_stage(const ExecRequest& req, ExecResult* r) const {
  StartInfo info;
  if (r->objects.size() < 2) {
    // ld.so run as a program (`ld.so ./prog`) maps the program itself and then its
    // libraries, a path the start-stage model does not cover: say so rather than show the
    // exec layout as if it were the entry point.
    if (rtld_) {
      int e = 0;
      std::unique_ptr<loader::ExecFile> f = rtld_->files().open_library(r->objects[0].id.path, &e);
      if (f) {
        loader::DynInfo d = loader::read_dyn_info(
            *f, r->profile.compat ? elf::ElfClass::Elf32 : elf::ElfClass::Elf64);
        if (d.soname && d.soname->compare(0, 8, "ld-linux") == 0) {
          set_error(r, ExecError::Kind::Io,
                    req.filename + ": the dynamic loader run as a program: --stage start does "
                                   "not model `ld.so PROGRAM` (use --stage exec, or run PROGRAM "
                                   "itself)",
                    "--stage start");
          return;
        }
      }
    }
    info.notes.push_back("statically linked: the entry point is the first instruction, so the "
                         "start stage is the exec stage");
    r->start = info;
    return;
  }
  std::shared_ptr<const Resolution> res = resolve(*r, req);
  if (!res->ok) {
    set_error(r, ExecError::Kind::Io, res->error, "open");
    return;
  }
  StartResult st = simulate_rtld_start(*r, res->libs, res->config, req.record_steps);
  if (!st.ok) {
    set_error(r, ExecError::Kind::LdSo, st.error, "elf/rtld.c dl_main");
    r->error.name = "exit 127";
    return;
  }
  for (const StartObject& p : st.placed) {
    const RtldObject& o = res->libs.objects[size_t(p.object)];
    uint64_t align = 0;
    for (const elf::Phdr& ph : p.object == 0 ? r->objects[0].phdrs : o.dyn.phdrs)
      if (ph.p_type == elf::PT_LOAD) align = std::max(align, ph.p_align);
    StartInfo::Object so;
    so.name = p.object == 0 ? "" : o.libname;
    so.path = p.object == 0 ? r->objects[0].id.path : o.l_name;
    so.index = p.object;
    so.base = p.l_addr;
    so.start = p.map_start;
    so.end = p.map_end;
    so.align = align;
    info.objects.push_back(so);
  }
  if (res->libs.interp_index >= 0) {
    // ld.so itself, mapped by the kernel.
    const RtldObject& o = res->libs.objects[size_t(res->libs.interp_index)];
    uint64_t lo = ~uint64_t(0), hi = 0;
    for (const elf::Phdr& ph : r->objects[1].phdrs)
      if (ph.p_type == elf::PT_LOAD) {
        lo = std::min(lo, ph.p_vaddr & ~uint64_t(4095));
        hi = std::max(hi, ph.p_vaddr + ph.p_memsz);
      }
    StartInfo::Object so;
    so.name = o.libname;
    so.path = o.l_name;
    so.index = res->libs.interp_index;
    so.base = *r->interp_base;
    so.start = *r->interp_base + lo;
    so.end = *r->interp_base + hi;
    info.objects.push_back(so);
  }
  info.heap_may_appear = st.heap_may_appear;
  info.tcb = st.tcb;
  info.notes = res->libs.notes;
  info.notes.insert(info.notes.end(), st.notes.begin(), st.notes.end());
  // ld.so runs on the stack the kernel set up, which may not grow past RLIMIT_STACK: when its
  // deepest write lies below what the limit lets the stack reach, the page fault finds no VMA
  // (expand_stack() fails in acct_stack_growth) and the task dies with SIGSEGV in ld.so.
  info.ldso_stack = rtld_stack_depth(res->libs, res->config,
                                     env_value(req.envp, "LD_LIBRARY_PATH"), r->host.secure != 0);
  if (info.ldso_stack) {
    LdsoStack& ls = *info.ldso_stack;
    ls.room = stack_room(r->stack.sp, r->stack.end, r->host.stack_rlimit, r->profile.page_size);
    if (ls.room && ls.depth > *ls.room) {
      set_error(r, ExecError::Kind::Signal,
                "ld.so writes " + std::to_string(ls.depth) +
                    " bytes below the initial stack pointer (its deepest point: " + ls.where +
                    "), but the stack limit (" + std::to_string(r->host.stack_rlimit) +
                    " bytes) lets the stack reach only " + std::to_string(*ls.room) +
                    ": killed by SIGSEGV before the entry point",
                "acct_stack_growth");
      r->error.name = "SIGSEGV";
      r->error.err = 0;
      r->error.before_entry = true;
      r->start = std::move(info);
      return;
    }
  }
  r->start = std::move(info);
  // ld.so jumps to the program's entry (elf/rtld.c _dl_start_user -> AT_ENTRY) with the stack
  // pointer the kernel set: at this stage the thread is at AT_ENTRY, not at ld.so's _start.
  r->rip = r->entry;
}

ExecResult Pipeline::predict(const ExecRequest& req) const {
  ExecResult r = simulate_exec(req, fs_);
  if (r.ok() && req.stage == Stage::start) start_stage(req, &r);
  return r;
}

}  // namespace execmap::sim
