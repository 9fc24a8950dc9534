// Google Benchmark of the simulated execve() alone: no process start-up, no CLI parsing, no
// rendering. Each iteration runs sim::simulate_exec() against the real file system
// (loader::HostFileSystem: open, fstat, path canonicalisation and the bounded ELF reads) with
// the documented default profile, so the numbers do not depend on /proc of this machine.
//
//   build-bench/bench/execmap_bench_simulate [--big_lib=PATH] [benchmark flags...]
//
// The big-library case needs a >=150 MB shared library (bench/make_big_lib.sh OUT); pass it as
// --big_lib=PATH or in the EXECMAP_BIG_LIB environment variable, otherwise it is skipped.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "loader/exec_file.h"
#include "sim/exec.h"
#include "sim/profile.h"

namespace {

using execmap::loader::HostFileSystem;
using execmap::sim::ExecRequest;
using execmap::sim::ExecResult;

std::string g_big_lib;  // --big_lib=PATH or $EXECMAP_BIG_LIB

ExecRequest make_request(const std::string& path) {
  ExecRequest req;
  req.filename = path;
  req.argv = {path};
  req.envp = {"A=1"};
  req.profile = execmap::sim::default_profile();
  return req;
}

// Runs simulate_exec(req) per iteration; fails the benchmark if the exec is predicted to fail.
void run(benchmark::State& state, const ExecRequest& req) {
  HostFileSystem fs;
  {
    ExecResult r = execmap::sim::simulate_exec(req, fs);
    if (!r.ok()) {
      state.SkipWithError((req.filename + ": " + r.error.message).c_str());
      return;
    }
    state.counters["vmas"] = static_cast<double>(r.mm_vmas.vmas().size());
  }
  for (auto _ : state) {
    ExecResult r = execmap::sim::simulate_exec(req, fs);
    benchmark::DoNotOptimize(r);
  }
}

void BM_SimulateExec_Ls(benchmark::State& state) { run(state, make_request("/usr/bin/ls")); }
BENCHMARK(BM_SimulateExec_Ls);

// The same exec with the step trace recorded (a layout copy per pass), as `execmap step` does.
void BM_SimulateExec_Ls_RecordSteps(benchmark::State& state) {
  ExecRequest req = make_request("/usr/bin/ls");
  req.record_steps = true;
  run(state, req);
}
BENCHMARK(BM_SimulateExec_Ls_RecordSteps);

// ASLR on: the randomised bases (the seed is fixed, so every iteration does the same work).
void BM_SimulateExec_Ls_Aslr(benchmark::State& state) {
  ExecRequest req = make_request("/usr/bin/ls");
  req.randomize = true;
  req.seed = 42;
  run(state, req);
}
BENCHMARK(BM_SimulateExec_Ls_Aslr);

// A shared object with PT_INTERP: libc.so.6 is executable and loads ld.so as its interpreter.
void BM_SimulateExec_Libc(benchmark::State& state) {
  run(state, make_request("/usr/lib/x86_64-linux-gnu/libc.so.6"));
}
BENCHMARK(BM_SimulateExec_Libc);

// The >=150 MB generated library: ET_DYN without PT_INTERP, run like a static-pie. The cost must
// not grow with the file size: execve() reads only the ELF header and program headers.
void BM_SimulateExec_BigLib(benchmark::State& state) {
  if (g_big_lib.empty()) {
    state.SkipWithError("no big library: pass --big_lib=PATH or set EXECMAP_BIG_LIB "
                        "(make one with bench/make_big_lib.sh)");
    return;
  }
  run(state, make_request(g_big_lib));
}
BENCHMARK(BM_SimulateExec_BigLib);

}  // namespace

int main(int argc, char** argv) {
  if (const char* env = std::getenv("EXECMAP_BIG_LIB")) g_big_lib = env;
  // Take --big_lib=PATH out of argv before Google Benchmark sees it.
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    constexpr const char kFlag[] = "--big_lib=";
    if (i > 0 && std::strncmp(argv[i], kFlag, sizeof kFlag - 1) == 0) {
      g_big_lib = argv[i] + sizeof kFlag - 1;
    } else {
      args.push_back(argv[i]);
    }
  }
  int n = static_cast<int>(args.size());
  args.push_back(nullptr);
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
