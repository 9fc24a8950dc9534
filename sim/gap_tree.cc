// Treap of free gaps with subtree maximum sizes.
#include "sim/gap_tree.h"

#include <algorithm>

namespace execmap::sim {

void GapTree::pull(Node* n) {
  n->maxsz = std::max({n->size, maxsz(n->l), maxsz(n->r)});
}

void GapTree::split(Node* t, uint64_t key, Node** l, Node** r) {
  if (!t) {
    *l = *r = nullptr;
    return;
  }
  if (t->end < key) {
    split(t->r, key, &t->r, r);
    *l = t;
  } else {
    split(t->l, key, l, &t->l);
    *r = t;
  }
  pull(t);
}

GapTree::Node* GapTree::merge(Node* a, Node* b) {
  if (!a) return b;
  if (!b) return a;
  if (a->prio > b->prio) {
    a->r = merge(a->r, b);
    pull(a);
    return a;
  }
  b->l = merge(a, b->l);
  pull(b);
  return b;
}

void GapTree::destroy(Node* n) {
  // Iterative, so a degenerate tree cannot overflow the stack.
  std::vector<Node*> stack;
  if (n) stack.push_back(n);
  while (!stack.empty()) {
    Node* x = stack.back();
    stack.pop_back();
    if (x->l) stack.push_back(x->l);
    if (x->r) stack.push_back(x->r);
    delete x;
  }
}

void GapTree::clear() {
  destroy(root_);
  root_ = nullptr;
  by_end_.clear();
}

void GapTree::insert(uint64_t start, uint64_t end) {
  seed_ ^= seed_ << 13;
  seed_ ^= seed_ >> 7;
  seed_ ^= seed_ << 17;
  Node* n = new Node{end, start, end - start, end - start, seed_};
  Node *l, *r;
  split(root_, end, &l, &r);
  root_ = merge(merge(l, n), r);
  by_end_[end] = start;
}

void GapTree::erase_end(uint64_t end) {
  if (!by_end_.erase(end)) return;
  Node *l, *mid, *r;
  split(root_, end, &l, &mid);
  split(mid, end + 1, &mid, &r);
  destroy(mid);
  root_ = merge(l, r);
}

const GapTree::Node* GapTree::find(const Node* n, uint64_t limit, uint64_t length) {
  while (n) {
    if (n->end > limit) {
      n = n->l;
      continue;
    }
    // Keys in the right subtree are larger; some may still be <= limit.
    if (n->r && maxsz(n->r) >= length)
      if (const Node* f = find(n->r, limit, length)) return f;
    if (n->size >= length) return n;
    if (maxsz(n->l) < length) return nullptr;
    n = n->l;  // every key here is < n->end <= limit
  }
  return nullptr;
}

bool GapTree::rightmost_fit(uint64_t limit, uint64_t length, uint64_t* start,
                            uint64_t* end) const {
  const Node* f = find(root_, limit, length);
  if (!f) return false;
  *start = f->start;
  *end = f->end;
  return true;
}

}  // namespace execmap::sim
