// Random sources for the simulated exec and the entropy model: which addresses the kernel's
// random draws can produce (arch/x86/mm/mmap.c, mm/util.c, fs/binfmt_elf.c, mm/vma_exec.c).
#include "sim/aslr.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <set>

#include "loader/checked.h"
#include "loader/elf_defs.h"

namespace execmap::sim {

const std::array<DrawInfo, kDrawCount>& draw_table() {
  static const std::array<DrawInfo, kDrawCount> t = {{
      {Draw::MmapBase, "mmap_base", "arch_pick_mmap_layout: arch_rnd(mmap64_rnd_bits)"},
      {Draw::PieBias, "pie_bias", "load_elf_binary: arch_mmap_rnd()"},
      {Draw::StackTop, "stack_top", "randomize_stack_top: STACK_RND_MASK"},
      {Draw::StackAlign, "stack_align", "setup_arg_pages: arch_align_stack"},
      {Draw::TablesAlign, "tables_align", "create_elf_tables: arch_align_stack"},
      {Draw::Brk, "brk", "arch_randomize_brk: randomize_page(brk, SZ_1G)"},
      {Draw::VdsoAddr, "vdso_addr", "vdso_addr: get_random_int() % pages (before 6.9)"},
  }};
  return t;
}

uint64_t SeededRandom::next() {
  uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void SeededRandom::fill_bytes(uint8_t* out, size_t len) {
  for (size_t i = 0; i < len; ++i) out[i] = static_cast<uint8_t>(next());
}

uint64_t ExplicitRandom::draw(Draw d, uint64_t n) {
  range_[size_t(d)] = n;
  if (n == 0) return 0;
  return std::min(value_[size_t(d)], n - 1);
}

void ExplicitRandom::fill_bytes(uint8_t* out, size_t len) { std::memset(out, 0, len); }

std::vector<RegionValue> region_values(const ExecResult& r) {
  std::vector<RegionValue> out;
  // The VMA map is ordered by start, so the first match is the lowest mapping.
  auto lowest = [&](int file, uint64_t* at) {
    for (const auto& [start, v] : r.mm_vmas.vmas())
      if (v.kind == Vma::Kind::File && v.file == file) {
        *at = start;
        return true;
      }
    return false;
  };
  uint64_t at = 0;
  for (const char* role : {"exe", "interp"})
    for (const auto& o : r.objects)
      if (o.role == role && lowest(o.file, &at)) out.push_back({role, at});
  for (const auto& [start, v] : r.mm_vmas.vmas())
    if (v.kind == Vma::Kind::Special && v.name == "[vdso]") {
      out.push_back({"vdso", start});
      break;
    }
  if (r.start)
    for (size_t i = 1; i < r.start->objects.size(); ++i) {
      const StartInfo::Object& o = r.start->objects[i];
      if (r.interp_base && o.base == *r.interp_base) continue;  // ld.so: "interp" above
      out.push_back({"lib " + o.name, o.start});
    }
  out.push_back({"stack", r.stack.end});
  out.push_back({"sp", r.stack.sp});
  out.push_back({"brk", r.mm.start_brk});
  out.push_back({"mmap_base", r.mm.mmap_base});
  return out;
}

namespace {

using Draws = std::array<uint64_t, kDrawCount>;

// The order in which load_elf_binary() fixes each region: a tie points to an earlier one.
int placement_order(const std::string& name) {
  static const char* order[] = {"mmap_base", "stack", "exe", "interp", "vdso", "sp", "brk"};
  for (int i = 0; i < 7; ++i)
    if (name == order[i]) return i;
  return 99;
}

// maximum_alignment() of fs/binfmt_elf.c: the largest power-of-two p_align, page-rounded.
uint64_t maximum_alignment(const std::vector<elf::Phdr>& ph, uint64_t page) {
  uint64_t alignment = 0;
  for (const auto& p : ph)
    if (p.p_type == elf::PT_LOAD && is_power_of_2(p.p_align)) alignment = std::max(alignment, p.p_align);
  return page_align(alignment, page);
}

uint64_t span_of(const std::vector<elf::Phdr>& ph, uint64_t page) {
  uint64_t lo = ~uint64_t(0), hi = 0;
  for (const auto& p : ph)
    if (p.p_type == elf::PT_LOAD) {
      lo = std::min(lo, page_start(p.p_vaddr, page));
      hi = std::max(hi, p.p_vaddr + p.p_memsz);
    }
  return hi > lo ? hi - lo : 0;
}

int64_t signed_diff(uint64_t a, uint64_t b) { return static_cast<int64_t>(a - b); }
uint64_t abs_diff(uint64_t a, uint64_t b) { return a > b ? a - b : b - a; }

struct Eval {
  bool ok = false;
  std::map<std::string, uint64_t> v;
};

// One region's dependence on one draw.
struct Term {
  Draw draw;
  uint64_t min = 0, max = 0, step = 0, count = 1;
  uint64_t argmin = 0, argmax = 0;
  bool exact = true;
};

class Model {
 public:
  Model(const ExecRequest& req, const Pipeline& pipeline, EntropyResult& out)
      : req_(req), pipeline_(pipeline), out_(out) {}

  void run() {
    Draws zero{};
    ExplicitRandom rnd;
    ExecRequest q = req_;
    q.random = &rnd;
    q.record_steps = false;
    out_.base = pipeline_.predict(q);
    ++out_.evaluations;
    if (!out_.base.ok()) {
      out_.error = out_.base.error;
      return;
    }
    const uint64_t page = req_.profile.page_size;
    Eval base;
    base.ok = true;
    for (const auto& rv : region_values(out_.base)) base.v[rv.name] = rv.value;
    cache_[zero] = base;
    ranges_ = rnd.ranges();

    // The period of each draw: one step of a draw moves the layout by a page, except where
    // an alignment rounds it (the PIE bias is aligned down to maximum_alignment; anything
    // placed top-down below mmap_base may be aligned to its own alignment, or to PMD_SIZE by
    // thp_get_unmapped_area() for a file mapping of 2 MiB or more).
    uint64_t top_down_period = page, pie_period = page;
    for (const auto& o : out_.base.objects) {
      bool top_down = o.role == "interp" || out_.base.objects.size() == 1;
      bool dyn = o.ehdr.e_type == elf::ET_DYN;
      uint64_t a = std::max(maximum_alignment(o.phdrs, page), page);
      if (o.role == "exe" && dyn && out_.base.objects.size() > 1) pie_period = a;
      if (top_down && dyn) {
        top_down_period = std::max(top_down_period, a);
        if (req_.profile.file_thp_align && span_of(o.phdrs, page) >= req_.profile.pmd_size)
          top_down_period = std::max(top_down_period, req_.profile.pmd_size);
      }
    }
    // Libraries ld.so maps top-down (--stage start): their alignment, or THP's for a big one.
    if (out_.base.start)
      for (const StartInfo::Object& o : out_.base.start->objects) {
        if (o.align > page) top_down_period = std::max(top_down_period, o.align);
        if (req_.profile.file_thp_align && o.end - o.start >= req_.profile.pmd_size)
          top_down_period = std::max(top_down_period, req_.profile.pmd_size);
      }

    for (size_t i = 0; i < kDrawCount; ++i) {
      if (!ranges_[i] || *ranges_[i] <= 1) continue;
      Draw d = draw_table()[i].draw;
      uint64_t n = *ranges_[i];
      uint64_t period = d == Draw::MmapBase ? top_down_period : d == Draw::PieBias ? pie_period : page;
      uint64_t block = period / page;
      constexpr uint64_t kMaxBlock = 4096;
      if (block > kMaxBlock) {
        out_.notes.push_back(std::string(draw_table()[i].name) + ": alignment period of " +
                             std::to_string(block) + " draws; only " + std::to_string(kMaxBlock) +
                             " evaluated at each end");
        block = kMaxBlock;
        inexact_draw_[i] = true;
      }
      if (block > n || n % block) block = 1;
      block_[i] = block;
      std::set<uint64_t> xs = {0, n - 1};
      for (uint64_t p = 1; p < n; p <<= 1) xs.insert(p);
      if (block > 1)
        for (uint64_t s = 0; s <= block; ++s) {
          xs.insert(s);
          if (s < block) xs.insert(n - block + s);
        }
      probes_[i].assign(xs.begin(), xs.end());
      for (uint64_t x : probes_[i]) {
        Draws z{};
        z[i] = x;
        eval(z);
      }
    }

    for (const auto& rv : region_values(out_.base)) out_.regions.push_back(region(rv.name));
    assign_ties();
  }

 private:
  const Eval& eval(const Draws& x) {
    auto it = cache_.find(x);
    if (it != cache_.end()) return it->second;
    ExplicitRandom rnd;
    for (size_t i = 0; i < kDrawCount; ++i) rnd.set(draw_table()[i].draw, x[i]);
    ExecRequest q = req_;
    q.random = &rnd;
    q.record_steps = false;
    ExecResult r = pipeline_.predict(q);
    ++out_.evaluations;
    Eval e;
    e.ok = r.ok();
    if (e.ok)
      for (const auto& rv : region_values(r)) e.v[rv.name] = rv.value;
    else
      note_once("some extreme draws make the exec fail (" + r.error.name + ": " + r.error.message +
                "); those outcomes are left out of the ranges");
    return cache_.emplace(x, std::move(e)).first->second;
  }

  void note_once(const std::string& s) {
    if (std::find(out_.notes.begin(), out_.notes.end(), s) == out_.notes.end())
      out_.notes.push_back(s);
  }

  bool value(const Draws& x, const std::string& name, uint64_t* v) {
    const Eval& e = eval(x);
    if (!e.ok) return false;
    auto it = e.v.find(name);
    if (it == e.v.end()) return false;
    *v = it->second;
    return true;
  }

  // The values region `name` takes as draw i runs over its probes (others at 0); nullopt
  // when the region does not depend on it.
  std::optional<Term> term(size_t i, const std::string& name, uint64_t v0) {
    Draw d = draw_table()[i].draw;
    uint64_t n = *ranges_[i], block = block_[i];
    std::vector<std::pair<uint64_t, uint64_t>> xv;  // (x, value), ascending x
    for (uint64_t x : probes_[i]) {
      Draws z{};
      z[i] = x;
      uint64_t v;
      if (value(z, name, &v)) xv.push_back({x, v});
    }
    bool varies = false;
    for (const auto& p : xv) varies |= p.second != v0;
    if (!varies) return std::nullopt;
    Term t{d};
    t.exact = !inexact_draw_[i];
    t.min = t.max = v0;
    for (const auto& [x, v] : xv) {
      if (v < t.min) t.min = v, t.argmin = x;
      if (v > t.max) t.max = v, t.argmax = x;
      t.step = std::gcd(t.step, abs_diff(v, v0));
    }
    const std::string dn = draw_table()[i].name;
    if (block == 1) {
      // A term without an alignment period is monotone in its draw (a page per step, or the
      // sub-page offset rounded to 16 bytes or to a page); check that along the probes.
      int dir = 0;
      for (size_t k = 1; k < xv.size(); ++k) {
        int s = xv[k].second > xv[k - 1].second ? 1 : xv[k].second < xv[k - 1].second ? -1 : 0;
        if (s && dir && s != dir) {
          note_once(name + ": not monotone in the " + dn + " draw; its range may be wider");
          t.exact = false;
        }
        if (s) dir = s;
      }
      t.count = (t.max - t.min) / t.step + 1;
      return t;
    }
    // Quasi-periodic in the draw: v(x + block) = v(x) + delta for every x, so one block at
    // each end of [0, n) holds the extremes, and the whole value set follows from one block.
    std::map<uint64_t, uint64_t> at(xv.begin(), xv.end());
    if (!at.count(0) || !at.count(block)) {
      t.exact = false;
      t.count = (t.max - t.min) / t.step + 1;
      return t;
    }
    int64_t delta = signed_diff(at[block], at[0]);
    uint64_t blocks = n / block;
    std::vector<uint64_t> first;
    for (uint64_t s = 0; s < block; ++s) {
      auto lo = at.find(s), hi = at.find(n - block + s);
      if (lo == at.end() || hi == at.end()) {
        t.exact = false;
        continue;
      }
      first.push_back(lo->second);
      if (hi->second != lo->second + uint64_t(delta) * (blocks - 1)) {
        note_once(name + ": the " + dn + " draw does not shift it by a fixed amount per " +
                  std::to_string(block) + "-draw period; count and ranges are approximate");
        t.exact = false;
      }
    }
    if (delta == 0) {
      t.count = std::set<uint64_t>(first.begin(), first.end()).size();
      return t;
    }
    // Group the first block by residue modulo |delta|; each value v_s contributes the run
    // v_s, v_s + delta, ..., v_s + (blocks - 1) * delta. Count the union of the runs.
    int64_t D = delta < 0 ? -delta : delta;
    std::map<int64_t, std::vector<std::pair<int64_t, int64_t>>> runs;  // residue -> [k0, k1]
    for (uint64_t v : first) {
      int64_t e = signed_diff(v, first[0]);
      int64_t r = ((e % D) + D) % D;
      int64_t k = (e - r) / D;
      int64_t k1 = delta > 0 ? k + int64_t(blocks) - 1 : k;
      int64_t k0 = delta > 0 ? k : k - int64_t(blocks) + 1;
      runs[r].push_back({k0, k1});
    }
    uint64_t count = 0;
    for (auto& [r, iv] : runs) {
      std::sort(iv.begin(), iv.end());
      int64_t cur0 = iv[0].first, cur1 = iv[0].second;
      for (size_t k = 1; k < iv.size(); ++k) {
        if (iv[k].first > cur1 + 1) {
          count += uint64_t(cur1 - cur0 + 1);
          cur0 = iv[k].first;
        }
        cur1 = std::max(cur1, iv[k].second);
      }
      count += uint64_t(cur1 - cur0 + 1);
    }
    t.count = count;
    return t;
  }

  RegionEntropy region(const std::string& name) {
    RegionEntropy re;
    re.name = name;
    uint64_t v0 = cache_[Draws{}].v[name];
    std::vector<Term> terms;
    for (size_t i = 0; i < kDrawCount; ++i) {
      if (!ranges_[i] || *ranges_[i] <= 1) continue;
      if (auto t = term(i, name, v0)) terms.push_back(*t);
    }
    const uint64_t natural = name == "sp" ? 16 : req_.profile.page_size;
    if (terms.empty()) {
      re.min = re.max = v0;
      re.align = natural;
      return re;
    }
    // A sum of one term per draw: the extremes add up (checked by a joint evaluation).
    int64_t lo = 0, hi = 0;
    uint64_t align = 0;
    Draws zmin{}, zmax{};
    for (const auto& t : terms) {
      lo += signed_diff(t.min, v0);
      hi += signed_diff(t.max, v0);
      align = std::gcd(align, t.step);
      zmin[size_t(t.draw)] = t.argmin;
      zmax[size_t(t.draw)] = t.argmax;
      re.draws.push_back(t.draw);
      re.count_exact &= t.exact;
    }
    re.min = v0 + uint64_t(lo);
    re.max = v0 + uint64_t(hi);
    re.align = align;
    if (terms.size() > 1) {
      uint64_t a, b;
      bool ok_min = value(zmin, name, &a), ok_max = value(zmax, name, &b);
      if (!ok_min || !ok_max || a != re.min || b != re.max) {
        note_once(name + ": its draws do not add up independently; range from evaluated layouts");
        re.count_exact = false;
        for (const auto& [x, e] : cache_) {
          auto it = e.v.find(name);
          if (!e.ok || it == e.v.end()) continue;
          re.min = std::min(re.min, it->second);
          re.max = std::max(re.max, it->second);
        }
      }
    }
    uint64_t grid = (re.max - re.min) / re.align + 1;
    if (terms.size() == 1) {
      re.count = terms[0].count;
    } else {
      // The sum of several grids is the full grid at the finest step when each coarser step
      // is covered by the span the finer terms already reach.
      std::vector<Term> s = terms;
      std::sort(s.begin(), s.end(), [](const Term& a, const Term& b) { return a.step < b.step; });
      bool full = true;
      uint64_t acc_step = s[0].step, acc_span = s[0].max - s[0].min;
      for (size_t k = 0; k < s.size(); ++k) {
        full &= s[k].count == (s[k].max - s[k].min) / s[k].step + 1;
        if (k == 0) continue;
        full &= s[k].step % acc_step == 0 && s[k].step <= acc_span + acc_step;
        acc_span += s[k].max - s[k].min;
      }
      if (full) {
        re.count = grid;
      } else {
        long double prod = 1;
        for (const auto& t : terms) prod *= t.count;
        re.count = prod < (long double)grid ? uint64_t(prod) : grid;
        re.count_exact = false;
      }
    }
    re.bits = std::log2(double(re.count));
    return re;
  }

  // A region tied to an earlier-placed one keeps the same distance in every evaluated layout.
  void assign_ties() {
    for (auto& r : out_.regions) {
      if (r.count <= 1) continue;
      uint64_t best = ~uint64_t(0);
      for (const auto& c : out_.regions) {
        if (c.count <= 1 || placement_order(c.name) >= placement_order(r.name)) continue;
        bool constant = true, first = true;
        int64_t off = 0;
        for (const auto& [x, e] : cache_) {
          if (!e.ok) continue;
          auto a = e.v.find(r.name), b = e.v.find(c.name);
          if (a == e.v.end() || b == e.v.end()) continue;
          int64_t d = signed_diff(a->second, b->second);
          if (first) off = d, first = false;
          else if (d != off) constant = false;
          if (!constant) break;
        }
        uint64_t dist = off < 0 ? uint64_t(-off) : uint64_t(off);
        if (constant && !first && dist < best) {
          best = dist;
          r.tied_to = c.name;
          r.tie_offset = off;
        }
      }
    }
  }

  const ExecRequest& req_;
  const Pipeline& pipeline_;
  EntropyResult& out_;
  std::map<Draws, Eval> cache_;
  std::array<std::optional<uint64_t>, kDrawCount> ranges_{};
  std::array<uint64_t, kDrawCount> block_{};
  std::array<bool, kDrawCount> inexact_draw_{};
  std::array<std::vector<uint64_t>, kDrawCount> probes_;
};

}  // namespace

EntropyResult entropy_model(const ExecRequest& req, const Pipeline& pipeline) {
  EntropyResult out;
  Model m(req, pipeline, out);
  m.run();
  return out;
}

}  // namespace execmap::sim
