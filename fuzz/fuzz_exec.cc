// libFuzzer target: one simulated execve() of an arbitrary executable and interpreter, then
// every renderer the CLI runs on the result. A damaged file must give a result value (an
// errno, a kill, a layout), never a crash, a hang or undefined behaviour. The same bytes are
// also read as /proc/PID/maps text, which captures and students' snapshots bring in.
//
// Input layout (little-endian):
//   u32 exe_len        bytes of the executable that follow the 8-byte header
//   u8  exe_pad        the executable is extended by exe_pad % 64 zero pages (sizes matter:
//   u8  interp_pad     padzero() faults past EOF), and the interpreter by interp_pad % 64
//   u8  options        bit 0: ASLR on; bit 1: argc 0; bit 2: unlimited stack rlimit;
//                      bit 3: no vdso block; bit 4: empty PT_INTERP file system (ENOENT);
//                      bit 5: --stage start's libraries are the interpreter blob (else the
//                      executable blob, under another inode); bits 6-7: the kernel's rules
//                      (0: 6.18, 1: 5.10, 2: 6.1, 3: 6.12), so the pre-6.7 bss code is fuzzed
//   u8  seed
//   exe bytes (min(exe_len, rest)), then the interpreter bytes (the rest).
// Whatever path the executable's PT_INTERP names resolves to the interpreter blob. The target
// kernel runs ia32 programs, so an EM_386 executable takes the compat loader's ELF32 path.
#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "cli/render.h"
#include "loader/sections.h"
#include "memfs.h"
#include "loader/dyn_info.h"
#include "loader/dyn_symbols.h"
#include "loader/hardening.h"
#include "loader/lib_files.h"
#include "sim/exec.h"
#include "sim/profile.h"
#include "sim/rtld.h"
#include "sim/rtld_stack.h"
#include "sim/rtld_start.h"
#include "sim/target.h"
#include "util/maps.h"

namespace {

using execmap::testing::MemFile;
using execmap::testing::MemFs;

// Every path but the executable's own is the interpreter blob (or ENOENT when there is none).
class FuzzFs final : public execmap::loader::FileSystem {
 public:
  FuzzFs(std::vector<uint8_t> exe, std::vector<uint8_t> interp, bool have_interp) {
    fs_.add("/exe", std::move(exe));
    if (have_interp) fs_.add("/ld", std::move(interp));
    fs_.fail("/tmp", EACCES);
  }
  execmap::loader::OpenResult open_exec(const std::string& path) const override {
    if (path == "/exe" || path == "/tmp") return fs_.open_exec(path);
    return fs_.open_exec("/ld");
  }
  const MemFs& mem() const { return fs_; }

 private:
  MemFs fs_;
};

// ld.so's view for --stage start: every library it opens is one blob; there is no
// ld.so.cache and no /etc/ld.so.preload.
class FuzzLibs final : public execmap::loader::LibraryFiles {
 public:
  explicit FuzzLibs(const std::vector<uint8_t>& blob) : blob_(blob) {}
  std::unique_ptr<execmap::loader::ExecFile> open_library(const std::string& path,
                                                          int* err) const override {
    if (path.compare(0, 5, "/etc/") == 0) {
      *err = ENOENT;
      return nullptr;
    }
    return std::make_unique<MemFile>(blob_, execmap::loader::FileIdentity{0xfe, 0, 9, "/lib/blob"});
  }
  bool read_whole(const std::string&, uint64_t, std::vector<uint8_t>*) const override {
    return false;
  }

 private:
  const std::vector<uint8_t>& blob_;
};

uint32_t le32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

// How many inputs took the ia32 path (an EM_386 or EM_486 executable, read as ELF32), for
// run_fuzz.sh's report; printed when the fuzzer exits.
struct Elf32Count {
  uint64_t n = 0;
  ~Elf32Count() { std::fprintf(stderr, "fuzz_exec: elf32_executions: %llu\n", (unsigned long long)n); }
};
Elf32Count g_elf32;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace sim = execmap::sim;
  namespace cli = execmap::cli;
  if (size < 8) return 0;
  uint32_t exe_len = le32(data);
  unsigned exe_pad = data[4] % 64, interp_pad = data[5] % 64, options = data[6], seed = data[7];
  data += 8;
  size -= 8;
  size_t n = std::min<size_t>(exe_len, size);
  std::vector<uint8_t> exe(data, data + n), interp(data + n, data + size);
  const uint64_t page = 4096;
  exe.resize(exe.size() + exe_pad * page, 0);
  interp.resize(interp.size() + interp_pad * page, 0);
  FuzzFs fs(exe, interp, !(options & 16));
  if (exe.size() >= 20 && (exe[18] == 3 || exe[18] == 6) && exe[19] == 0) ++g_elf32.n;

  sim::ExecRequest req;
  req.filename = "/exe";
  if (!(options & 2)) req.argv = {"/exe", "arg"};
  req.envp = {"A=1"};
  static const sim::KernelVersion kKernels[4] = {{6, 18}, {5, 10}, {6, 1}, {6, 12}};
  sim::TargetKey key;
  key.kernel = kKernels[(options >> 6) & 3];
  req.profile = sim::profile_for(key);
  if (options & 4) req.host.stack_rlimit = sim::kRlimInfinity;
  if (options & 8) req.profile.vdso_block.clear();
  req.randomize = options & 1;
  req.seed = seed;
  req.record_steps = true;
  sim::ExecResult r = sim::simulate_exec(req, fs);

  // The views `execmap layout`, `stack` and `verify` print, as the CLI calls them: the
  // failure line and JSON for a failed exec, every view of a successful one.
  std::string sink;
  if (!r.ok()) {
    sink += cli::error_line(r.error);
    sink += cli::dump_json(cli::error_json(r.error));
  } else {
    sink += cli::render_maps(r);
    sink += cli::dump_json(cli::layout_json(r));
    sink += cli::dump_json(cli::stack_json(r));
    sink += cli::render_stack_text(r);
    std::vector<std::vector<execmap::loader::Section>> sections;
    for (const auto& obj : r.objects) {
      execmap::loader::OpenResult f = fs.open_exec(obj.id.path);
      std::string why;
      sections.push_back(f.file ? execmap::loader::read_alloc_sections(*f.file, &why)
                                : std::vector<execmap::loader::Section>{});
    }
    sink += cli::render_table(r, sections);
  }
  // The section reader on its own, also for files the exec refused.
  for (const auto& blob : {&exe, &interp}) {
    MemFile f(*blob, execmap::loader::FileIdentity{0xfe, 0, 7, "/blob"});
    std::string why;
    auto s = execmap::loader::read_alloc_sections(f, &why);
    sink += why;
    for (const auto& sec : s) sink += sec.name;
  }
  for (const auto& step : r.steps) {
    sink += step.name;
    for (const auto& c : step.changes) sink += c;
  }
  // The start stage: ld.so's readers on both blobs, then resolution and the replay.
  for (const auto& blob : {&exe, &interp}) {
    MemFile f(*blob, execmap::loader::FileIdentity{0xfe, 0, 8, "/blob"});
    // As x86_64's ld.so and as i386's ld-linux.so.2 read it (ELF64 and ELF32 readers).
    for (auto cls : {execmap::elf::ElfClass::Elf64, execmap::elf::ElfClass::Elf32}) {
      execmap::loader::DynInfo d = execmap::loader::read_dyn_info(f, cls);
      execmap::loader::SymbolFacts s = execmap::loader::read_symbol_facts(f, d);
      sink += d.error + std::to_string(s.unique_defined.size() + s.referenced.size());
    }
    execmap::loader::Hardening h;
    std::string why;
    if (execmap::loader::read_hardening(f, &h, &why)) sink += h.relro;
    sink += why;
  }
  if (r.ok() && r.objects.size() > 1) {
    FuzzLibs libs((options & 32) ? interp : exe);
    MemFile exef(exe, r.objects[0].id);
    MemFile interpf(interp, r.objects[1].id);
    sim::RtldRequest rq;
    rq.exe_path = "/exe";
    rq.interp = "/ld";
    sim::RtldConfig cfg = r.profile.compat ? sim::rtld_config_i386() : sim::RtldConfig();
    rq.config = cfg;
    sim::RtldResult res = sim::resolve_libraries(rq, exef, &interpf, libs);
    sim::StartResult st = sim::simulate_rtld_start(r, res, cfg, true);
    sink += st.error + cli::render_maps(r);
    if (auto depth = sim::rtld_stack_depth(res, cfg, std::string("/l"), false)) {
      depth->room = sim::stack_room(r.stack.sp, r.stack.end, req.host.stack_rlimit, page);
      sink += cli::ldso_stack_line(*depth) + cli::dump_json(cli::ldso_stack_json(*depth));
    }
    for (const auto& n : st.notes) sink += n;
  }
  // The maps parser on the raw bytes: every line it accepts prints back to a line that parses
  // to the same fields.
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const execmap::util::MapsLine& m : execmap::util::parse_maps(text)) {
    execmap::util::MapsLine again;
    if (!execmap::util::parse_maps_line(execmap::util::format_maps_line(m), &again) ||
        again != m)
      __builtin_trap();
    sink += m.path;
  }
  // Keep the work observable so it is not optimised away.
  volatile size_t keep = sink.size();
  (void)keep;
  return 0;
}
