// The free gaps of an address space, indexed for the top-down search: a treap keyed by gap
// end, each node carrying the largest gap size in its subtree (the role the maple tree's gap
// tracking plays in mm/mmap.c), plus an ordered map for range walks.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

namespace execmap::sim {

class GapTree {
 public:
  GapTree() = default;
  GapTree(const GapTree& o) { *this = o; }
  GapTree& operator=(const GapTree& o) {
    if (this == &o) return *this;
    clear();
    for (const auto& [end, start] : o.by_end_) insert(start, end);
    return *this;
  }
  ~GapTree() { clear(); }

  void insert(uint64_t start, uint64_t end);  // a free range [start, end), start < end
  void erase_end(uint64_t end);               // the gap ending at end
  void clear();
  // Gaps in end order: end -> start.
  const std::map<uint64_t, uint64_t>& gaps() const { return by_end_; }
  // The gap with the highest end <= limit whose size is at least length, or false.
  bool rightmost_fit(uint64_t limit, uint64_t length, uint64_t* start, uint64_t* end) const;

 private:
  struct Node {
    uint64_t end, start, size, maxsz, prio;
    Node* l = nullptr;
    Node* r = nullptr;
  };
  static uint64_t maxsz(const Node* n) { return n ? n->maxsz : 0; }
  static void pull(Node* n);
  static void split(Node* t, uint64_t key, Node** l, Node** r);  // l: keys < key
  static Node* merge(Node* a, Node* b);
  static void destroy(Node* n);
  static const Node* find(const Node* n, uint64_t limit, uint64_t length);
  Node* root_ = nullptr;
  std::map<uint64_t, uint64_t> by_end_;
  uint64_t seed_ = 0x9e3779b97f4a7c15ull;
};

}  // namespace execmap::sim
