// Address space layout randomisation: the random draws execve() makes, as an injectable source,
// and the entropy model derived from the kernel's arithmetic (which addresses each draw can
// produce), without running anything.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "loader/exec_file.h"
#include "sim/pipeline.h"
#include "sim/exec.h"

namespace execmap::sim {

// Every random number load_elf_binary() and its helpers draw with randomize_va_space = 2.
// The kernel draws them independently; the order does not matter to the layout.
enum class Draw : uint8_t {
  MmapBase,     // arch_pick_mmap_layout(): arch_rnd(mmap64_rnd_bits) for mmap_base
  PieBias,      // load_elf_binary(): arch_mmap_rnd() added to ELF_ET_DYN_BASE (a second draw)
  StackTop,     // randomize_stack_top(): get_random_long() & STACK_RND_MASK, in pages
  StackAlign,   // setup_arg_pages(): arch_align_stack(stack_top), get_random_u32_below(8192)
  TablesAlign,  // create_elf_tables(): arch_align_stack(bprm->p), get_random_u32_below(8192)
  Brk,          // arch_randomize_brk(): randomize_page(brk, SZ_1G), in pages
  VdsoAddr,     // vdso_addr() before 6.9: a random page above the stack, inside its 2 MiB
};
constexpr size_t kDrawCount = 7;

struct DrawInfo {
  Draw draw;
  const char* name;      // "mmap_base", "pie_bias", ...
  const char* function;  // the kernel function that draws it
};
const std::array<DrawInfo, kDrawCount>& draw_table();

// Where the simulated exec gets its random numbers. draw() returns a value in [0, n), where n
// is the number of outcomes the kernel's expression has (2^28 for the 28-bit mask, 8192 for
// get_random_u32_below(8192), the page count for randomize_page()).
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual uint64_t draw(Draw d, uint64_t n) = 0;
  // get_random_bytes() for the 16 AT_RANDOM bytes.
  virtual void fill_bytes(uint8_t* out, size_t len) = 0;
};

// A deterministic stand-in for get_random_long(): splitmix64 over a seed. Same seed, same
// layout; each draw takes the next 64-bit output modulo n.
class SeededRandom final : public RandomSource {
 public:
  explicit SeededRandom(uint64_t seed) : s_(seed) {}
  uint64_t next();
  uint64_t draw(Draw, uint64_t n) override { return n ? next() % n : 0; }
  void fill_bytes(uint8_t* out, size_t len) override;

 private:
  uint64_t s_;
};

// Explicit draws for the entropy model: each draw returns the value set for it (clamped to
// n - 1; kMax means n - 1), 0 by default, and remembers the n the exec asked for. AT_RANDOM
// bytes are zero.
class ExplicitRandom final : public RandomSource {
 public:
  static constexpr uint64_t kMax = ~uint64_t(0);
  void set(Draw d, uint64_t v) { value_[size_t(d)] = v; }
  uint64_t draw(Draw d, uint64_t n) override;
  void fill_bytes(uint8_t* out, size_t len) override;
  // The n of each draw the last exec made (nullopt: not drawn).
  const std::array<std::optional<uint64_t>, kDrawCount>& ranges() const { return range_; }

 private:
  std::array<uint64_t, kDrawCount> value_{};
  std::array<std::optional<uint64_t>, kDrawCount> range_{};
};

// The addresses the entropy model tracks, in report order.
//   exe       start of the executable's lowest mapping
//   interp    start of the interpreter's lowest mapping
//   vdso      start of [vdso] (AT_SYSINFO_EHDR)
//   stack     end of the [stack] VMA
//   sp        the initial stack pointer
//   brk       start_brk
//   mmap_base mm->mmap_base
struct RegionValue {
  std::string name;
  uint64_t value = 0;
};
std::vector<RegionValue> region_values(const ExecResult& r);

struct RegionEntropy {
  std::string name;
  uint64_t min = 0, max = 0;  // inclusive bounds, exact
  uint64_t align = 0;         // every reachable value v has (v - min) % align == 0
  uint64_t count = 1;         // distinct reachable values
  double bits = 0;            // log2(count)
  std::string tied_to;        // a region placed earlier at a fixed distance ("" = none)
  int64_t tie_offset = 0;     // value - tied_to's value
  bool count_exact = true;    // false: count is an upper bound (see entropy_model)
  std::vector<Draw> draws;    // the random draws this region depends on
};

struct EntropyResult {
  ExecError error;            // the exec fails: no model
  bool ok() const { return error.kind == ExecError::Kind::None; }
  ExecResult base;            // the layout with every draw at 0
  std::vector<RegionEntropy> regions;
  size_t evaluations = 0;     // simulated execs the model needed
  std::vector<std::string> notes;  // where an assumption of the model did not hold
};

// The reachable range of every region for req (req.randomize selects ASLR on or off; the
// seed and req.random are ignored). Derived from the kernel's arithmetic by running the
// simulated exec with explicit draws, never random ones:
//  * min/max: each region is a sum of one term per draw it depends on (checked by a joint
//    evaluation at the per-draw extremes). A term is monotone in its draw, except where a
//    placement depends on an alignment (2 MiB-aligned images, THP-aligned files, the vdso
//    fitting above or below a 2 MiB-aligned static-pie); those draws are evaluated over one
//    whole alignment period at each end of their range, using that the layout shifts by the
//    period when the draw moves by one period (also checked).
//  * align: the gcd of the steps any draw can move the region by.
//  * count: exact for a region that depends on one draw; for several draws the value set is
//    the grid min, min+align, ..., max when every draw's step is covered by the finer draws'
//    span (stack: pages + sub-page; sp: 16-byte sub-page offset over a page-granular top;
//    brk: 1 GiB of pages over the PIE bias), else the product of the per-draw counts bounded
//    by the grid size (count_exact false).
//  * tied_to: a region whose distance to an earlier-placed region is the same in every
//    evaluation (the vdso below the interpreter, the interpreter below mmap_base).
EntropyResult entropy_model(const ExecRequest& req, const Pipeline& pipeline);

}  // namespace execmap::sim
