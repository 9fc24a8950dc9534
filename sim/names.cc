// Names that /proc/PID/maps prints (fs/proc/task_mmu.c get_vma_name) and errno names.
#include <cerrno>
#include <cstdio>

#include "sim/exec.h"

namespace execmap::sim {

std::string vma_name(const std::vector<loader::FileIdentity>& files, const MmFields& mm,
                     const Vma& v, bool heap_inclusive) {
  switch (v.kind) {
    case Vma::Kind::File:
      return (v.file >= 0 && size_t(v.file) < files.size()) ? files[v.file].path : "";
    case Vma::Kind::Special:
      return v.name;
    case Vma::Kind::Stack:
    case Vma::Kind::Anon:
      break;
  }
  // vma_is_initial_heap(): strictly overlaps [start_brk, brk); before 6.7 ("mm: fix VMA heap
  // bounds checking") show_map_vma() also named a VMA that only touches it.
  if (heap_inclusive ? v.start <= mm.brk && v.end >= mm.start_brk
                     : v.start < mm.brk && v.end > mm.start_brk)
    return "[heap]";
  // vma_is_initial_stack(): contains start_stack.
  if (v.start <= mm.start_stack && v.end >= mm.start_stack) return "[stack]";
  return "";
}

std::string errno_name(int err) {
  switch (err) {
#define E(x) \
  case x:    \
    return #x;
    E(EPERM) E(ENOENT) E(EIO) E(E2BIG) E(ENOEXEC) E(EBADF) E(EAGAIN) E(ENOMEM) E(EACCES)
    E(EFAULT) E(EBUSY) E(EEXIST) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ETXTBSY) E(EFBIG)
    E(ENOSPC) E(ELOOP) E(ENAMETOOLONG) E(ELIBBAD) E(EOVERFLOW) E(ENXIO) E(EINTR)
#undef E
    default: {
      char b[24];
      std::snprintf(b, sizeof b, "E%d", err);
      return b;
    }
  }
}

}  // namespace execmap::sim
