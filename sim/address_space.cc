// VMA set operations with the kernel's split/merge rules and free-area searches.
#include "sim/address_space.h"

#include <cstdio>

namespace execmap::sim {

const Vma* AddressSpace::find_vma(uint64_t addr) const {
  auto it = vmas_.upper_bound(addr);
  if (it != vmas_.begin()) {
    auto prev = std::prev(it);
    if (prev->second.end > addr) return &prev->second;
  }
  return it == vmas_.end() ? nullptr : &it->second;
}

const Vma* AddressSpace::vma_at(uint64_t addr) const {
  const Vma* v = find_vma(addr);
  return (v && v->start <= addr) ? v : nullptr;
}

bool AddressSpace::intersects(uint64_t start, uint64_t end) const {
  const Vma* v = find_vma(start);
  return v && v->start < end;
}

void AddressSpace::split_at(uint64_t addr) {
  auto it = vmas_.upper_bound(addr);
  if (it == vmas_.begin()) return;
  --it;
  Vma& v = it->second;
  if (v.start >= addr || v.end <= addr) return;
  Vma right = v;
  right.start = addr;
  right.pgoff = v.pgoff + (addr - v.start);
  v.end = addr;
  vmas_.emplace(addr, right);
}

void AddressSpace::refresh_gaps(uint64_t lo, uint64_t hi) {
  uint64_t x = lo, y = hi;
  std::vector<uint64_t> ends;
  const auto& g = gaps_.gaps();
  for (auto it = g.lower_bound(lo); it != g.end() && it->second <= hi; ++it) {
    ends.push_back(it->first);
    x = std::min(x, it->second);
    y = std::max(y, it->first);
  }
  for (uint64_t e : ends) gaps_.erase_end(e);
  uint64_t cur = x;
  for (auto it = vmas_.upper_bound(x); ; ) {
    // The VMA covering x, if any, starts before it.
    if (it != vmas_.begin() && cur == x) {
      auto prev = std::prev(it);
      if (prev->second.end > cur) cur = prev->second.end;
    }
    if (it == vmas_.end() || it->second.start >= y) break;
    if (it->second.start > cur) gaps_.insert(cur, it->second.start);
    cur = std::max(cur, it->second.end);
    ++it;
  }
  if (cur < y) gaps_.insert(cur, y);
}

void AddressSpace::unmap(uint64_t start, uint64_t end) {
  if (start >= end) return;
  split_at(start);
  split_at(end);
  auto it = vmas_.lower_bound(start);
  bool removed = false;
  while (it != vmas_.end() && it->second.start < end) {
    it = vmas_.erase(it);
    removed = true;
  }
  if (removed) refresh_gaps(start, end);
}

bool AddressSpace::mergeable(const Vma& a, const Vma& b) {
  // is_mergeable_vma(): same flags and file, no special mapping, and (can_vma_merge_after)
  // a file offset that continues linearly across the boundary.
  if (a.end != b.start) return false;
  if (a.kind != b.kind || a.kind == Vma::Kind::Special || a.kind == Vma::Kind::Stack)
    return false;
  if (a.prot != b.prot || a.shared != b.shared || a.accounted != b.accounted || a.file != b.file)
    return false;
  return a.pgoff + (a.end - a.start) == b.pgoff;
}

void AddressSpace::merge_around(uint64_t start) {
  auto it = vmas_.find(start);
  if (it == vmas_.end()) return;
  if (it != vmas_.begin()) {
    auto prev = std::prev(it);
    if (mergeable(prev->second, it->second)) {
      prev->second.end = it->second.end;
      vmas_.erase(it);
      it = prev;
    }
  }
  auto next = std::next(it);
  if (next != vmas_.end() && mergeable(it->second, next->second)) {
    it->second.end = next->second.end;
    vmas_.erase(next);
  }
}

void AddressSpace::map(const Vma& v, bool merge) {
  unmap(v.start, v.end);
  vmas_.emplace(v.start, v);
  refresh_gaps(v.start, v.end);
  if (merge) merge_around(v.start);
}

// The flags mprotect_fixup() computes for v under prot: private memory made writable is
// charged (VM_ACCOUNT); anonymous memory with no anon_vma yet gives the charge back when it
// loses write. The simulation assumes no page of an anonymous mapping has been written since
// the exec, so it has no anon_vma.
static Vma with_prot(Vma v, uint32_t prot) {
  v.prot = prot;
  if ((prot & PROT_W) && !v.shared && v.kind != Vma::Kind::Special)
    v.accounted = true;
  else if (!(prot & PROT_W) && v.kind == Vma::Kind::Anon)
    v.accounted = false;
  return v;
}

bool AddressSpace::protect(uint64_t start, uint64_t end, uint32_t prot) {
  for (uint64_t a = start; a < end;) {
    const Vma* v = vma_at(a);
    if (!v) return false;
    a = v->end;
  }
  // "if (newflags == oldflags)" a VMA is left alone: not split, not changed.
  auto changes = [&](const Vma* v) {
    Vma n = with_prot(*v, prot);
    return n.prot != v->prot || n.accounted != v->accounted;
  };
  if (const Vma* v = vma_at(start); v && changes(v)) split_at(start);
  if (const Vma* v = vma_at(end - 1); v && changes(v)) split_at(end);
  std::vector<uint64_t> starts;
  for (auto it = vmas_.lower_bound(start); it != vmas_.end() && it->first < end; ++it) {
    if (!changes(&it->second)) continue;
    it->second = with_prot(it->second, prot);
    starts.push_back(it->first);
  }
  // vma_modify_flags() tries to merge each changed piece with its neighbours.
  for (uint64_t s : starts) {
    const Vma* v = vma_at(s);
    if (v) merge_around(v->start);
  }
  return true;
}

bool AddressSpace::expand_down(uint64_t vma_start, uint64_t new_start) {
  auto it = vmas_.find(vma_start);
  // expand_downwards(): only a growsdown VMA grows, and not into the guard gap of the VMA
  // below it (an accessible neighbour must stay stack_guard_gap away).
  if (it == vmas_.end() || new_start >= vma_start || !it->second.growsdown()) return false;
  if (intersects(new_start, vma_start)) return false;
  if (it != vmas_.begin()) {
    const Vma& prev = std::prev(it)->second;
    if (prev.prot && (new_start < guard_gap_ || prev.end > new_start - guard_gap_)) return false;
  }
  Vma v = it->second;
  vmas_.erase(it);
  v.pgoff -= (vma_start - new_start);
  v.start = new_start;
  vmas_.emplace(new_start, v);
  refresh_gaps(new_start, vma_start);
  return true;
}

uint64_t AddressSpace::vm_start_gap(const Vma& v) const {
  if (!v.growsdown()) return v.start;
  return v.start > guard_gap_ ? v.start - guard_gap_ : 0;
}

std::optional<uint64_t> AddressSpace::unmapped_area_topdown(uint64_t len, uint64_t low,
                                                            uint64_t high,
                                                            uint64_t align_mask,
                                                            uint64_t align_offset) const {
  uint64_t length = len + align_mask;
  if (length < len || low > high) return std::nullopt;
  uint64_t high_limit = high;
  for (;;) {
    if (high_limit <= low) return std::nullopt;
    // mas_empty_area_rev(low, high_limit - 1, length): the highest gap that fits, clipped
    // to [low, high_limit). First the gap that contains high_limit - 1, if any...
    bool found = false;
    uint64_t gap_end = 0;
    const auto& g = gaps_.gaps();
    auto top = g.lower_bound(high_limit);  // first gap ending at or above high_limit
    if (top != g.end() && top->second < high_limit) {
      uint64_t s = std::max(top->second, low);
      if (high_limit > s && high_limit - s >= length) {
        found = true;
        gap_end = high_limit;
      }
    }
    // ...then the highest whole gap below it that is large enough (subtree maxima).
    if (!found) {
      uint64_t s, e;
      if (gaps_.rightmost_fit(high_limit, length, &s, &e) && e > low &&
          e - std::max(s, low) >= length) {
        found = true;
        gap_end = e;
      }
    }
    if (!found) return std::nullopt;
    uint64_t gap = gap_end - len;
    gap -= (gap - align_offset) & align_mask;
    const Vma* next = find_vma(gap_end);
    if (next && next->start >= gap_end && next->growsdown()) {
      uint64_t sg = vm_start_gap(*next);
      if (sg < gap_end) {
        high_limit = sg;
        continue;
      }
    }
    return gap;
  }
}

std::optional<uint64_t> AddressSpace::unmapped_area_bottomup(uint64_t len, uint64_t low,
                                                             uint64_t high,
                                                             uint64_t align_mask,
                                                             uint64_t align_offset) const {
  uint64_t length = len + align_mask;
  if (length < len) return std::nullopt;
  uint64_t low_limit = low;
  for (;;) {
    if (low_limit >= high) return std::nullopt;
    // mas_empty_area(low_limit, high - 1, length): the lowest hole that fits.
    uint64_t cur = low_limit;
    const Vma* v = find_vma(cur);
    bool found = false;
    uint64_t hole_start = 0;
    while (true) {
      if (v && v->start <= cur) {
        cur = v->end;
        v = find_vma(cur);
        continue;
      }
      uint64_t hole_end = v ? std::min(v->start, high) : high;
      if (cur >= high) break;
      if (hole_end > cur && hole_end - cur >= length) {
        found = true;
        hole_start = cur;
        break;
      }
      if (!v) break;
      cur = v->end;
      v = find_vma(cur);
    }
    if (!found) return std::nullopt;
    uint64_t gap = hole_start;
    gap += (align_offset - gap) & align_mask;
    const Vma* next = find_vma(gap);
    if (next && next->growsdown() && vm_start_gap(*next) < gap + length - 1) {
      low_limit = next->end;
      continue;
    }
    return gap;
  }
}

std::string AddressSpace::check_invariants() const {
  const Vma* prev = nullptr;
  char buf[160];
  // The gap index is exactly the complement of the VMAs.
  {
    uint64_t cur = 0;
    auto gi = gaps_.gaps().begin();
    auto expect_gap = [&](uint64_t s, uint64_t e) {
      if (gi == gaps_.gaps().end() || gi->second != s || gi->first != e) return false;
      ++gi;
      return true;
    };
    for (const auto& [k, v] : vmas_) {
      if (v.start > cur && !expect_gap(cur, v.start)) {
        std::snprintf(buf, sizeof buf, "gap index wrong below %llx", (unsigned long long)v.start);
        return buf;
      }
      cur = std::max(cur, v.end);
    }
    if (cur < ~uint64_t(0) && !expect_gap(cur, ~uint64_t(0))) return "gap index wrong at the top";
    if (gi != gaps_.gaps().end()) return "gap index has extra gaps";
  }
  for (const auto& [key, v] : vmas_) {
    if (key != v.start || v.start >= v.end || (v.start % page_) || (v.end % page_)) {
      std::snprintf(buf, sizeof buf, "bad vma %llx-%llx", (unsigned long long)v.start,
                    (unsigned long long)v.end);
      return buf;
    }
    if (prev && prev->end > v.start) {
      std::snprintf(buf, sizeof buf, "overlap at %llx", (unsigned long long)v.start);
      return buf;
    }
    if (prev && mergeable(*prev, v)) {
      std::snprintf(buf, sizeof buf, "unmerged neighbours at %llx", (unsigned long long)v.start);
      return buf;
    }
    prev = &v;
  }
  return {};
}

}  // namespace execmap::sim
