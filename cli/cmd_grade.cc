// `execmap grade`: grade a user-space ELF loader's hand-over state against the simulated
// execve() of PROG, live under ptrace (--loader) or from a snapshot file (--snapshot).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>
#include <iterator>
#include <sstream>

#include "analysis/grade.h"
#include "cli/commands.h"
#include "cli/host_pipeline.h"
#include "cli/exit_codes.h"
#include "cli/render.h"
#include "cli/sandbox_files.h"
#include "live/capture.h"
#include "live/grade_trace.h"

namespace execmap::cli {

CLI::App* setup_grade(CLI::App& app, GradeOptions& o) {
  CLI::App* sub = app.add_subcommand(
      "grade", "Grade a user-space ELF loader: the mappings, entry point, stack and auxv it "
               "hands to PROG, against what execve() would build");
  auto* snap = sub->add_option("--snapshot", o.snapshot,
                               "Grade a snapshot file {maps, rip, sp, rdx?, image, memory?} "
                               "(contrib/execmap_snapshot.h writes one)");
  auto* live = sub->add_option("--loader", o.loader,
                               "Run 'CMD PROG [ARG...]' under ptrace and grade it at PROG's entry");
  snap->excludes(live);
  sub->add_option("--rubric", o.rubric,
                  "JSON {\"checks\": {\"<id>\": {\"points\", \"name\", \"enabled\"}}}");
  sub->add_option("--gradescope", o.gradescope, "Also write Gradescope's results.json here");
  sub->add_option("--timeout-ms", o.timeout_ms, "Wall-clock bound on the loader (--loader)")
      ->capture_default_str();
  sub->add_option("--as-limit-mb", o.as_limit_mb,
                  "The loader's RLIMIT_AS in MiB (--loader): address space, reservations included")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t(64), uint64_t(1) << 27));
  sub->add_option("--cpu-seconds", o.cpu_seconds, "The loader's RLIMIT_CPU (--loader)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 3600u));
  sub->add_option("--fsize-mb", o.fsize_mb,
                  "The loader's RLIMIT_FSIZE in MiB (--loader): files it writes, its stderr "
                  "included")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t(1), uint64_t(1024)));
  sub->add_flag("--no-sandbox", o.no_sandbox,
                "UNSAFE: run the loader without the sandbox (as this user, with rlimits only)");
  sub->add_option("--scratch-mb", o.scratch_mb,
                  "Size of the sandbox's one writable tmpfs (/tmp) in MiB (--loader)")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t(1), uint64_t(4096)));
  add_exec_options(sub, o.exec, {"text", "json"}, "text");
  for (const CLI::Option* opt : sub->get_options())
    for (const std::string& n : opt->get_lnames()) o.own_options.push_back("--" + n);
  return sub;
}

namespace {

bool read_whole(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  out->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return !f.bad();
}

std::vector<std::string> split_words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

// A snapshot is a student's file: bounded in size before it is read, and in nesting before
// the recursive JSON parser sees it. The contract is flat (an object of strings and one array
// of objects), so depth 8 is ample.
constexpr uint64_t kMaxSnapshotBytes = 64ull << 20;
constexpr int kMaxSnapshotDepth = 8;

bool read_snapshot_file(const std::string& path, std::string* out, std::string* err) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    *err = std::string("cannot open: ") + std::strerror(errno);
    return false;
  }
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    *err = "not a regular file";
    return false;
  }
  if (uint64_t(st.st_size) > kMaxSnapshotBytes) {
    ::close(fd);
    *err = "is " + std::to_string(st.st_size) + " bytes; a snapshot may have at most " +
           std::to_string(kMaxSnapshotBytes) + " (64 MiB)";
    return false;
  }
  out->clear();
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out->append(buf, size_t(n));
    if (out->size() > kMaxSnapshotBytes) break;
  }
  ::close(fd);
  if (out->size() > kMaxSnapshotBytes) {
    *err = "grew past 64 MiB while being read";
    return false;
  }
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : *out) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxSnapshotDepth) {
        *err = "nests deeper than " + std::to_string(kMaxSnapshotDepth) + " levels; a snapshot is "
               "an object of strings and one array of objects";
        return false;
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}


// What the sandbox holds: PROG and the loader with what ld.so loads for it, all predicted by
// the same pipeline, not by running anything.
live::SandboxSpec sandbox_spec(const GradeOptions& o, const sim::ExecRequest& prog_req,
                               const std::string& loader_file, HostPipeline* hp) {
  live::SandboxSpec spec = base_sandbox_spec(o.no_sandbox, o.scratch_mb << 20);
  add_sandbox_file(prog_req.filename, &spec);
  sim::ExecRequest lreq = prog_req;
  lreq.argv = {loader_file};
  add_sandbox_program(loader_file, lreq, hp, &spec);
  return spec;
}

// Writes `text` to `path` as rename() does: through a new file in the target's directory,
// never following a symlink, and refusing a target that exists and is not a regular file (a
// FIFO would hang a plain open, a symlink would redirect it).
bool write_file_safely(const std::string& path, const std::string& text, std::string* error) {
  std::filesystem::path p(path);
  const std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  const std::string name = p.filename().string();
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    *error = "cannot open the directory " + dir + ": " + std::strerror(errno);
    return false;
  }
  struct stat st{};
  if (::fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode)) {
    ::close(dfd);
    *error = path + " exists and is not a regular file";
    return false;
  }
  std::random_device rd;
  const std::string tmp = "." + name + ".execmap-" + std::to_string(rd());
  int fd = ::openat(dfd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = "cannot create " + dir + "/" + tmp + ": " + std::strerror(errno);
    ::close(dfd);
    return false;
  }
  size_t done = 0;
  bool ok = true;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    done += size_t(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (ok && ::renameat(dfd, tmp.c_str(), dfd, name.c_str()) != 0) ok = false;
  if (!ok) {
    *error = "cannot write " + path + ": " + std::strerror(errno);
    ::unlinkat(dfd, tmp.c_str(), 0);
  }
  ::close(dfd);
  return ok;
}

}  // namespace

int run_grade(const GradeOptions& o) {
  if (o.snapshot.empty() == o.loader.empty()) {
    std::cerr << "execmap: error: grade needs exactly one of --snapshot FILE or --loader CMD\n";
    return kExitUsage;
  }
  sim::ExecRequest req;
  int rc = 0;
  if (!build_exact_request(o.exec, "grade", &req, &rc)) return rc;
  // Arguments after PROG are PROG's (CLI11's prefix command): say so when one looks like
  // grade's own option, put there by mistake.
  for (size_t i = 1; i < req.argv.size(); ++i) {
    const std::string& a = req.argv[i];
    const std::string name = a.substr(0, a.find('='));
    for (const std::string& own : o.own_options)
      if (name == own) {
        std::cerr << "execmap: warning: '" << a << "' comes after PROG, so it is passed to "
                  << "PROG; put grade's options before PROG\n";
        break;
      }
  }
  // The whole grade is bounded, not only the loader: both runs, the prediction and the
  // checks. The loader dies with the grader (PR_SET_PDEATHSIG, PTRACE_O_EXITKILL).
  const uint64_t watchdog_ms = 2ull * o.timeout_ms + 60000;
  std::thread([watchdog_ms] {
    std::this_thread::sleep_for(std::chrono::milliseconds(watchdog_ms));
    const std::string msg = "execmap: error: grade did not finish within " +
                            std::to_string(watchdog_ms) + " ms (watchdog)\n";
    ssize_t ignored = ::write(2, msg.data(), msg.size());
    (void)ignored;
    ::_exit(kExitFailure);
  }).detach();
  std::string err;
  nlohmann::json rubric;
  if (!o.rubric.empty()) {
    std::string text;
    if (!read_whole(o.rubric, &text)) {
      std::cerr << "execmap: error: cannot read " << o.rubric << "\n";
      return kExitFailure;
    }
    rubric = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (rubric.is_discarded()) {
      std::cerr << "execmap: error: " << o.rubric << " is not valid JSON\n";
      return kExitUsage;
    }
  }

  // The kernel's answer for PROG: the expectation every check compares with.
  HostPipeline hp;
  sim::ExecResult r = hp.pipeline.predict(req);
  rc = report_failure(r, o.exec.format);
  if (rc >= 0) return rc;
  if (r.objects.size() != 1 || r.interp_base) {
    std::cerr << "execmap: error: grade handles static and static-pie programs; "
              << req.filename << " has an interpreter\n";
    return kExitFailure;
  }
  std::string file_text;
  if (!read_whole(req.filename, &file_text)) {
    std::cerr << "execmap: error: cannot read " << req.filename << "\n";
    return kExitFailure;
  }
  std::vector<uint8_t> file(file_text.begin(), file_text.end());

  analysis::GradeReport report;
  if (!o.snapshot.empty()) {
    std::string text;
    if (!read_snapshot_file(o.snapshot, &text, &err)) {
      std::cerr << "execmap: error: " << o.snapshot << ": " << err << "\n";
      return kExitFailure;
    }
    nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    analysis::GradeInput in;
    if (j.is_discarded() || !analysis::parse_snapshot(j, &in, &err)) {
      std::cerr << "execmap: error: " << o.snapshot << ": "
                << (j.is_discarded() ? std::string("not valid JSON") : err) << "\n";
      return kExitFailure;
    }
    report = analysis::grade_state(r, file, in);
    report.sandbox_level = "none";
    report.sandbox_detail = "--snapshot runs no code";
  } else {
    std::string why;
    if (!live::ptrace_available(&why)) {
      std::cerr << "execmap: error: grade --loader needs ptrace: " << why << "\n";
      return kExitFailure;
    }
    const auto& exe = r.objects[0];
    live::LoaderTraceRequest treq;
    treq.argv = split_words(o.loader);
    if (treq.argv.empty()) {
      std::cerr << "execmap: error: --loader is empty\n";
      return kExitUsage;
    }
    treq.argv.push_back(req.filename);
    treq.argv.insert(treq.argv.end(), req.argv.begin() + (req.argv.empty() ? 0 : 1),
                     req.argv.end());
    treq.envp = req.envp;
    treq.target_path = exe.id.path;
    treq.target_is_dyn = exe.ehdr.e_type == 3;  // ET_DYN
    treq.e_entry = exe.ehdr.e_entry;
    bool first = true;
    for (const auto& p : exe.phdrs) {
      if (p.p_type != 1) continue;  // PT_LOAD
      if (first) {
        treq.first_load_offset = p.p_offset & ~uint64_t(0xfff);
        treq.first_load_vaddr = p.p_vaddr & ~uint64_t(0xfff);
        first = false;
      }
      treq.load_vaddrs.push_back(p.p_vaddr & ~uint64_t(0xfff));
      // The segment holding the entry: its file bytes identify a copy of PROG in memory.
      if (exe.ehdr.e_entry >= p.p_vaddr && exe.ehdr.e_entry < p.p_vaddr + p.p_filesz) {
        const uint64_t at = exe.ehdr.e_entry - p.p_vaddr + p.p_offset;
        const uint64_t n = std::min<uint64_t>(64, p.p_offset + p.p_filesz - at);
        if (at + n <= file.size())
          treq.entry_bytes.assign(file.begin() + std::ptrdiff_t(at), file.begin() + std::ptrdiff_t(at + n));
        // The whole segment (bounded): one page of PROG's bytes at the entry is not a copy.
        const uint64_t tn = std::min<uint64_t>(p.p_filesz, 16ull << 20);
        if (p.p_offset + tn <= file.size()) {
          treq.text_bytes.assign(file.begin() + std::ptrdiff_t(p.p_offset),
                                 file.begin() + std::ptrdiff_t(p.p_offset + tn));
          treq.text_vaddr = p.p_vaddr;
        }
      }
    }
    treq.timeout_ms = o.timeout_ms;
    treq.address_space_limit = o.as_limit_mb << 20;
    treq.cpu_seconds = o.cpu_seconds;
    treq.file_size_limit = o.fsize_mb << 20;
    treq.sandbox = sandbox_spec(o, req, live::resolve_command(treq.argv[0]), &hp);
    live::LoaderStop stop;
    if (!live::trace_loader(treq, &stop, &why)) {
      std::cerr << "execmap: error: " << why << "\n";
      return kExitFailure;
    }
    using Outcome = live::LoaderStop::Outcome;
    if (stop.outcome == Outcome::ReachedEntry || stop.outcome == Outcome::JumpedElsewhere) {
      analysis::GradeInput in;
      in.maps = stop.maps;
      in.rip = stop.rip;
      in.sp = stop.rsp;
      in.rdx = stop.rdx;
      in.image = stop.stack_image;
      in.has_memory = true;
      in.traced = true;
      for (auto& m : stop.memory) in.memory.push_back({m.start, std::move(m.bytes)});
      // auxv.random_fresh: the same loader run once more, in the same way, for its AT_RANDOM.
      live::LoaderStop again;
      std::string why2;
      if (!live::trace_loader(treq, &again, &why2)) {
        in.second_run_note = "a second run could not start: " + why2;
      } else if (again.outcome != Outcome::ReachedEntry &&
                 again.outcome != Outcome::JumpedElsewhere) {
        in.second_run_note = "a second run did not hand over control: " + again.message;
      } else {
        analysis::GradeInput in2;
        in2.maps = again.maps;
        in2.rip = again.rip;
        in2.sp = again.rsp;
        in2.image = std::move(again.stack_image);
        in2.has_memory = true;
        for (auto& m : again.memory) in2.memory.push_back({m.start, std::move(m.bytes)});
        in.second_random = analysis::at_random_bytes(r, in2);
        if (!in.second_random) in.second_run_note = "a second run's AT_RANDOM bytes were not found";
      }
      report = analysis::grade_state(r, file, in);
      report.base_note += "; the loader ran twice (the second run for auxv.random_fresh)";
      report.base_note += "; " + stop.message;
    } else {
      std::string why = stop.message;
      if (!stop.stderr_tail.empty())
        why += "\nthe loader's stderr (last lines):\n" + stop.stderr_tail;
      report = analysis::grade_no_state(r, why);
    }
    report.sandbox_level = live::sandbox_level_name(stop.sandbox.level);
    report.sandbox_detail = stop.sandbox.detail;
  }
  if (!o.rubric.empty() && !analysis::apply_rubric(rubric, &report, &err)) {
    std::cerr << "execmap: error: " << o.rubric << ": " << err << "\n";
    return kExitUsage;
  }
  if (!o.gradescope.empty() &&
      !write_file_safely(o.gradescope, dump_json(gradescope_json(report)) + "\n", &err)) {
    std::cerr << "execmap: error: " << err << "\n";
    return kExitFailure;
  }
  if (o.exec.format == "json")
    std::cout << dump_json(grade_json(report)) << "\n";
  else
    std::cout << render_grade(report);
  return report.any_failed() ? kExitMismatch : kExitOk;
}

}  // namespace execmap::cli
