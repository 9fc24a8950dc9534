// 10^5 random memory operations (mmap with and without hints, fixed maps, munmap, mprotect,
// brk) on the simulated address space, through the same VmOps the --ops scripts use. The
// VMA set is an ordered map, so each operation is O(log n) plus the gap walk.
#include <benchmark/benchmark.h>

#include <random>

#include "sim/exec.h"
#include "sim/vm.h"

using namespace execmap::sim;

static void BM_RandomOps100k(benchmark::State& state) {
  KernelProfile p = default_profile();
  for (auto _ : state) {
    AddressSpace as(p.page_size, p.stack_guard_gap);
    MmFields mm;
    mm.mmap_base = 0x7ffff7fff000;
    mm.start_brk = mm.brk = 0x555555559000;
    Vma stack;
    stack.start = 0x7ffffffde000;
    stack.end = 0x7ffffffff000;
    stack.prot = PROT_R | PROT_W;
    stack.kind = Vma::Kind::Stack;
    as.map(stack);
    HostState h;
    VmOps vm(p, h, as, mm);
    std::mt19937_64 rng(42);
    const uint64_t base = 0x7fff00000000, window = 1ull << 32;  // 4 GiB of churn below mmap_base
    size_t max_vmas = 0;
    for (int i = 0; i < 100000; ++i) {
      uint64_t pages = 1 + rng() % 64;
      uint64_t addr = base + (rng() % (window / p.page_size)) * p.page_size;
      uint32_t prot = uint32_t(rng() % 8);
      switch (rng() % 6) {
        case 0: vm.vm_mmap(-1, 0, pages * p.page_size, prot, 0, 0); break;
        case 1: vm.vm_mmap(-1, addr, pages * p.page_size, prot, 0, 0); break;
        case 2: vm.vm_mmap(-1, addr, pages * p.page_size, prot, kMapFixed, 0); break;
        case 3: vm.munmap(addr, pages * p.page_size); break;
        case 4: vm.mprotect(addr, pages * p.page_size, prot); break;
        case 5: vm.brk(mm.brk + ((rng() % 2) ? 1 : -1) * int64_t(pages * p.page_size)); break;
      }
      max_vmas = std::max(max_vmas, as.count());
    }
    benchmark::DoNotOptimize(as.count());
    state.counters["vmas_at_end"] = double(as.count());
    state.counters["max_vmas"] = double(max_vmas);
  }
}
BENCHMARK(BM_RandomOps100k)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
