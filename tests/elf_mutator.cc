// Deterministic generator of damaged x86_64 ELF executables for the differential test
// (tests/differential_mutants.sh): each mutant changes the header, the program headers,
// PT_INTERP or the file length of a corpus program, and carries a NAME.why sidecar.
//
// Usage: elf_mutator SEED COUNT OUTDIR INPUT...
// Mutant i is drawn from std::mt19937_64 seeded with {SEED, i}, so one mutant can be
// regenerated alone. Helper interpreters (a #! script, a short file, damaged copies of
// ld.so) are written next to the mutants; PT_INTERP names them relative to OUTDIR, so the
// mutants are meant to be executed with OUTDIR as the working directory.
#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits.h>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "util/format.h"

namespace {

using execmap::util::hex;

constexpr uint32_t PT_NULL = 0, PT_LOAD = 1, PT_DYNAMIC = 2, PT_INTERP = 3, PT_NOTE = 4,
                   PT_PHDR = 6, PT_TLS = 7, PT_GNU_STACK = 0x6474e551,
                   PT_GNU_RELRO = 0x6474e552, PT_GNU_PROPERTY = 0x6474e553;
// Offsets of the ELF64 header fields and of the program header fields (ELF64 gABI).
constexpr size_t kEType = 16, kEMachine = 18, kEEntry = 24, kEPhoff = 32, kEPhentsize = 54,
                 kEPhnum = 56;
constexpr size_t kPType = 0, kPFlags = 4, kPOffset = 8, kPVaddr = 16, kPFilesz = 32,
                 kPMemsz = 40, kPAlign = 48;
constexpr uint64_t kPhdrSize = 56;
const char* const kLdSo = "/lib64/ld-linux-x86-64.so.2";
const char* const kLdSo32 = "/lib/ld-linux.so.2";

bool read_bytes(const std::string& path, std::vector<uint8_t>* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  out->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return true;
}

bool write_exec(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return false;
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  f.close();
  return f.good() && chmod(path.c_str(), 0755) == 0;
}

bool write_text(const std::string& path, const std::string& s) {
  std::ofstream f(path, std::ios::trunc);
  f << s;
  return f.good();
}

// A file image with bounds-checked little-endian field access; out-of-range writes grow it.
struct Image {
  std::vector<uint8_t> b;
  uint64_t phoff = 0, phnum = 0;  // the table as the input had it

  uint64_t get(size_t off, int n) const {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | (off + i < b.size() ? b[off + i] : 0);
    return v;
  }
  void set(size_t off, uint64_t v, int n) {
    if (b.size() < off + n) b.resize(off + n, 0);
    for (int i = 0; i < n; ++i) b[off + i] = uint8_t(v >> (8 * i));
  }
  size_t ph(uint64_t i) const { return size_t(phoff + i * kPhdrSize); }
  uint32_t p_type(uint64_t i) const { return uint32_t(get(ph(i) + kPType, 4)); }
  std::vector<uint64_t> loads() const {
    std::vector<uint64_t> v;
    for (uint64_t i = 0; i < phnum; ++i)
      if (p_type(i) == PT_LOAD) v.push_back(i);
    return v;
  }
  int64_t find(uint32_t type) const {
    for (uint64_t i = 0; i < phnum; ++i)
      if (p_type(i) == type) return int64_t(i);
    return -1;
  }
  // Appends bytes at an 8-aligned offset past the end and returns that offset.
  uint64_t append(const std::string& s) {
    b.resize((b.size() + 7) & ~size_t(7), 0);
    uint64_t off = b.size();
    b.insert(b.end(), s.begin(), s.end());
    return off;
  }
};

bool parse(const std::vector<uint8_t>& bytes, Image* img) {
  if (bytes.size() < 64 || std::memcmp(bytes.data(), "\x7f" "ELF\x02\x01", 6) != 0) return false;
  img->b = bytes;
  img->phoff = img->get(kEPhoff, 8);
  img->phnum = img->get(kEPhnum, 2);
  return img->get(kEPhentsize, 2) == kPhdrSize && img->phnum > 0 &&
         img->phoff + img->phnum * kPhdrSize <= bytes.size();
}

class Mutator {
 public:
  Mutator(std::mt19937_64& rng, std::string outdir) : rng_(rng), outdir_(std::move(outdir)) {}

  uint64_t below(uint64_t n) { return n ? rng_() % n : 0; }
  bool chance(int percent) { return below(100) < uint64_t(percent); }
  template <class T>
  T pick(const std::vector<T>& v) { return v[below(v.size())]; }

  // A program header index: a PT_LOAD most of the time.
  uint64_t pick_phdr(const Image& im) {
    auto l = im.loads();
    if (!l.empty() && chance(80)) return pick(l);
    return below(im.phnum);
  }

  // ---- ELF header -----------------------------------------------------------------------
  std::string ident(Image& im) {
    uint64_t i = chance(60) ? below(7) : below(16);
    uint8_t old = im.b[i];
    uint8_t v = chance(50) ? uint8_t(pick<int>({0, 1, 2, 3, 0x7f, 0xff, old ^ 1})) : uint8_t(rng_());
    im.b[i] = v;
    return "e_ident[" + std::to_string(i) + "] " + hex(old) + " -> " + hex(v);
  }
  std::string e_type(Image& im) {
    uint64_t old = im.get(kEType, 2);
    uint64_t v = pick<uint64_t>({0, 1, 2, 3, 4, 5, 0xfe00, 0xff00, 0xffff, old ^ 1, below(65536)});
    im.set(kEType, v, 2);
    return "e_type " + std::to_string(old) + " -> " + std::to_string(v);
  }
  std::string e_machine(Image& im) {
    uint64_t old = im.get(kEMachine, 2);
    uint64_t v = pick<uint64_t>({0, 3, 40, 62 + 256, 183, 243, 0xffff, below(65536)});
    im.set(kEMachine, v, 2);
    return "e_machine " + std::to_string(old) + " -> " + std::to_string(v);
  }
  std::string e_phentsize(Image& im) {
    uint64_t v = pick<uint64_t>({0, 1, 32, 55, 57, 64, 112, 0xffff, below(65536)});
    im.set(kEPhentsize, v, 2);
    return "e_phentsize 56 -> " + std::to_string(v);
  }
  std::string e_phnum(Image& im) {
    uint64_t v = pick<uint64_t>({0, 1, 2, 73, 74, 1170, 1171, 65535, im.phnum + 1,
                                 im.phnum ? im.phnum - 1 : 0, im.phnum * 2, below(100)});
    im.set(kEPhnum, v, 2);
    return "e_phnum " + std::to_string(im.phnum) + " -> " + std::to_string(v) + " (table " +
           std::to_string(v * kPhdrSize) + " bytes)";
  }
  std::string e_phoff(Image& im) {
    uint64_t size = im.b.size();
    uint64_t v = pick<uint64_t>({0, 1, im.phoff + 1, im.phoff + 8, size, size - 1, size - 56,
                                 size - 8, size + 4096, 1ull << 32, (1ull << 63) - 1, 1ull << 63,
                                 ~0ull, ~0ull - 55, ~0ull - 4095, below(size)});
    im.set(kEPhoff, v, 8);
    return "e_phoff " + hex(im.phoff) + " -> " + hex(v) + " (file is " + hex(size) + " bytes)";
  }
  std::string e_entry(Image& im) {
    uint64_t old = im.get(kEEntry, 8);
    uint64_t v = pick<uint64_t>({0, old + 1, old + 0x100000, 0x7ffffffff000, 0x7fffffffefff,
                                 0x800000000000, ~0ull, 1ull << 63, rng_() & 0x7fffffffffff,
                                 rng_()});
    im.set(kEEntry, v, 8);
    return "e_entry " + hex(old) + " -> " + hex(v);
  }

  // ---- program headers ------------------------------------------------------------------
  std::string p_type(Image& im) {
    int64_t note = im.find(PT_NOTE);
    uint64_t i;
    uint32_t v;
    if (note >= 0 && chance(40)) {
      i = uint64_t(note);
      v = chance(50) ? PT_INTERP : PT_LOAD;
    } else {
      i = below(im.phnum);
      v = pick<uint32_t>({PT_NULL, PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_NOTE, PT_PHDR, PT_TLS,
                          PT_GNU_STACK, PT_GNU_RELRO, PT_GNU_PROPERTY, 0x60000000, 0x70000000,
                          0xffffffffu, uint32_t(rng_())});
    }
    uint32_t old = im.p_type(i);
    im.set(im.ph(i) + kPType, v, 4);
    return "phdr[" + std::to_string(i) + "].p_type " + hex(old) + " -> " + hex(v);
  }
  std::string p_flags(Image& im) {
    uint64_t i = pick_phdr(im);
    uint64_t old = im.get(im.ph(i) + kPFlags, 4);
    uint64_t v = chance(70) ? below(8) : uint32_t(rng_());
    im.set(im.ph(i) + kPFlags, v, 4);
    return "phdr[" + std::to_string(i) + "] (" + hex(im.p_type(i)) + ").p_flags " + hex(old) +
           " -> " + hex(v);
  }
  std::string p_offset(Image& im) {
    uint64_t i = pick_phdr(im), size = im.b.size();
    uint64_t old = im.get(im.ph(i) + kPOffset, 8);
    uint64_t v = pick<uint64_t>({0, old + 1, old + 0x1000, old - 0x1000, size, size + 0x10000,
                                 (size + 0xfff) & ~0xfffull, 1ull << 40, (1ull << 63) - 0x1000,
                                 1ull << 63, ~0ull - 0xfff, below(size)});
    im.set(im.ph(i) + kPOffset, v, 8);
    return "phdr[" + std::to_string(i) + "] (" + hex(im.p_type(i)) + ").p_offset " + hex(old) +
           " -> " + hex(v);
  }
  std::string p_vaddr(Image& im) {
    uint64_t i = pick_phdr(im);
    uint64_t old = im.get(im.ph(i) + kPVaddr, 8);
    uint64_t v = pick<uint64_t>({0, 0x1000, old + 1, old + 0x1000, old - 0x1000,
                                 old ^ (1ull << below(47)), 0x7fffffffe000, 0x7ffffffff000,
                                 0x800000000000, 0xffffffffff600000, ~0ull - 0xfff,
                                 rng_() & 0x7ffffffff000, rng_()});
    im.set(im.ph(i) + kPVaddr, v, 8);
    return "phdr[" + std::to_string(i) + "] (" + hex(im.p_type(i)) + ").p_vaddr " + hex(old) +
           " -> " + hex(v);
  }
  std::string p_filesz(Image& im) {
    uint64_t i = pick_phdr(im), size = im.b.size();
    uint64_t old = im.get(im.ph(i) + kPFilesz, 8), memsz = im.get(im.ph(i) + kPMemsz, 8);
    uint64_t v = pick<uint64_t>({0, 1, old ? old - 1 : 0, old + 1, memsz + 1, memsz + 0x1000,
                                 size, size + 0x100000, 1ull << 40, 1ull << 63, ~0ull});
    im.set(im.ph(i) + kPFilesz, v, 8);
    return "phdr[" + std::to_string(i) + "] (" + hex(im.p_type(i)) + ").p_filesz " + hex(old) +
           " -> " + hex(v) + " (p_memsz " + hex(memsz) + ")";
  }
  std::string p_memsz(Image& im) {
    uint64_t i = pick_phdr(im);
    uint64_t old = im.get(im.ph(i) + kPMemsz, 8), filesz = im.get(im.ph(i) + kPFilesz, 8);
    uint64_t v = pick<uint64_t>({0, filesz ? filesz - 1 : 0, filesz, filesz + 1, old * 2,
                                 old + 0x1000000, 1ull << 30, 1ull << 34, 1ull << 35, 1ull << 40,
                                 1ull << 46, 0x7ffffffff000, 1ull << 63, ~0ull, ~0ull - 0x1000});
    im.set(im.ph(i) + kPMemsz, v, 8);
    return "phdr[" + std::to_string(i) + "] (" + hex(im.p_type(i)) + ").p_memsz " + hex(old) +
           " -> " + hex(v) + " (p_filesz " + hex(filesz) + ")";
  }
  std::string p_align(Image& im) {
    uint64_t i = pick_phdr(im);
    uint64_t old = im.get(im.ph(i) + kPAlign, 8);
    uint64_t v = pick<uint64_t>({0, 1, 3, 8, 0x1001, 0x3000, 0x1000, 0x10000, 0x200000,
                                 0x200001, 1ull << 30, 1ull << 40, 1ull << 46, 1ull << 47,
                                 1ull << 63, ~0ull, rng_()});
    im.set(im.ph(i) + kPAlign, v, 8);
    return "phdr[" + std::to_string(i) + "] (" + hex(im.p_type(i)) + ").p_align " + hex(old) +
           " -> " + hex(v);
  }

  // Swap, reorder or overlap the PT_LOAD entries.
  std::string loads(Image& im) {
    auto l = im.loads();
    if (l.size() < 2) return p_vaddr(im);
    uint64_t a = l[below(l.size())], b = l[below(l.size())];
    while (b == a) b = l[below(l.size())];
    switch (below(4)) {
      case 0: {
        std::vector<uint8_t> t(im.b.begin() + im.ph(a), im.b.begin() + im.ph(a) + kPhdrSize);
        std::memmove(&im.b[im.ph(a)], &im.b[im.ph(b)], kPhdrSize);
        std::memcpy(&im.b[im.ph(b)], t.data(), kPhdrSize);
        return "swapped PT_LOAD phdr[" + std::to_string(a) + "] and phdr[" + std::to_string(b) + "]";
      }
      case 1: {
        // Reverse the order of all PT_LOAD entries.
        std::vector<std::vector<uint8_t>> e;
        for (uint64_t i : l) e.emplace_back(im.b.begin() + im.ph(i), im.b.begin() + im.ph(i) + kPhdrSize);
        for (size_t k = 0; k < l.size(); ++k)
          std::memcpy(&im.b[im.ph(l[k])], e[l.size() - 1 - k].data(), kPhdrSize);
        return "reversed the order of the " + std::to_string(l.size()) + " PT_LOAD entries";
      }
      case 2: {
        // Make b start inside (or exactly at) a.
        uint64_t va = im.get(im.ph(a) + kPVaddr, 8), ob = im.get(im.ph(b) + kPVaddr, 8);
        uint64_t oa = im.get(im.ph(a) + kPOffset, 8), offb = im.get(im.ph(b) + kPOffset, 8);
        uint64_t delta = pick<uint64_t>({0, 0x1000, 0x10});
        uint64_t v = va + delta;
        // Keep the page offset congruent to p_offset most of the time, so the mmap succeeds.
        if (chance(70)) v = (v & ~0xfffull) | (offb & 0xfff);
        im.set(im.ph(b) + kPVaddr, v, 8);
        return "PT_LOAD phdr[" + std::to_string(b) + "].p_vaddr " + hex(ob) + " -> " + hex(v) +
               " overlapping phdr[" + std::to_string(a) + "] (p_vaddr " + hex(va) + ", p_offset " +
               hex(oa) + ")";
      }
      default: {
        // Duplicate a PT_LOAD over another entry.
        std::memcpy(&im.b[im.ph(b)], &im.b[im.ph(a)], kPhdrSize);
        return "copied PT_LOAD phdr[" + std::to_string(a) + "] over phdr[" + std::to_string(b) + "]";
      }
    }
  }

  std::string truncate(Image& im) {
    uint64_t size = im.b.size(), n;
    std::string where;
    switch (below(4)) {
      case 0: n = below(64); where = "inside the ELF header"; break;
      case 1: n = im.phoff + below(im.phnum * kPhdrSize); where = "inside the program header table"; break;
      case 2: n = below(std::min<uint64_t>(size, 4096)); where = "inside the first page"; break;
      default: n = below(size); where = "at a random point"; break;
    }
    im.b.resize(n);
    return "truncated from " + std::to_string(size) + " to " + std::to_string(n) + " bytes (" +
           where + ")";
  }

  // ---- PT_INTERP ------------------------------------------------------------------------
  // The PT_INTERP entry to rewrite: the existing one, else a PT_NOTE, PT_GNU_STACK, ...
  int64_t interp_slot(Image& im, std::string* how) {
    int64_t i = im.find(PT_INTERP);
    if (i >= 0) return i;
    for (uint32_t t : {PT_NOTE, PT_GNU_PROPERTY, PT_NULL, PT_GNU_STACK, PT_TLS, PT_GNU_RELRO}) {
      i = im.find(t);
      if (i >= 0) {
        *how = " (phdr[" + std::to_string(i) + "] was " + hex(t) + ", now PT_INTERP)";
        im.set(im.ph(uint64_t(i)) + kPType, PT_INTERP, 4);
        return i;
      }
    }
    return -1;
  }
  // Points PT_INTERP at `bytes` appended to the file, with p_filesz = filesz.
  bool set_interp(Image& im, const std::string& bytes, uint64_t filesz, std::string* how) {
    int64_t i = interp_slot(im, how);
    if (i < 0) return false;
    uint64_t off = im.append(bytes);
    im.set(im.ph(uint64_t(i)) + kPOffset, off, 8);
    im.set(im.ph(uint64_t(i)) + kPFilesz, filesz, 8);
    return true;
  }
  static std::string cstr(const std::string& s) { return s + std::string(1, '\0'); }

  std::string interp(Image& im, const std::string& name, const std::vector<std::string>& corpus) {
    std::string how, what, bytes;
    uint64_t filesz = 0;
    switch (below(17)) {
      case 0: what = "empty p_filesz 0"; bytes = ""; filesz = 0; break;
      case 1: what = "p_filesz 1 (just NUL)"; bytes = cstr(""); filesz = 1; break;
      case 2: what = "empty name (two NULs)"; bytes = std::string(2, '\0'); filesz = 2; break;
      case 3: {
        bytes = cstr("/" + std::string(4200, 'a'));
        filesz = pick<uint64_t>({4096, 4097, bytes.size()});
        what = "a " + std::to_string(filesz) + "-byte PT_INTERP";
        if (filesz == 4096) bytes[4095] = 0;
        break;
      }
      case 4: what = "no NUL terminator"; bytes = std::string(kLdSo); filesz = bytes.size(); break;
      case 5: what = "nonexistent /nonexistent/ld.so"; bytes = cstr("/nonexistent/ld.so"); filesz = bytes.size(); break;
      case 6: what = "directory /tmp"; bytes = cstr("/tmp"); filesz = bytes.size(); break;
      case 7: what = "non-executable non-ELF /etc/passwd"; bytes = cstr("/etc/passwd"); filesz = bytes.size(); break;
      case 8: what = "executable #! script ./interp-script.sh"; bytes = cstr("./interp-script.sh"); filesz = bytes.size(); break;
      case 9: what = "i386 ELF " + std::string(kLdSo32); bytes = cstr(kLdSo32); filesz = bytes.size(); break;
      case 10: what = "the program itself"; bytes = cstr("./" + name); filesz = bytes.size(); break;
      case 11: what = "an executable 40-byte file ./interp-short"; bytes = cstr("./interp-short"); filesz = bytes.size(); break;
      case 12: {
        std::string p = pick(corpus);
        what = "corpus program " + p;
        bytes = cstr(p);
        filesz = bytes.size();
        break;
      }
      case 13: what = "ld.so with trailing garbage after the NUL"; bytes = cstr(kLdSo) + "junk"; filesz = bytes.size(); break;
      case 14: {
        // The string is past the end of the file (short read) or at a huge offset.
        int64_t i = interp_slot(im, &how);
        if (i < 0) return p_type(im);
        uint64_t off = pick<uint64_t>({im.b.size(), im.b.size() - 4, 1ull << 40,
                                       (1ull << 63) - 8, 1ull << 63, ~0ull - 4});
        im.set(im.ph(uint64_t(i)) + kPOffset, off, 8);
        im.set(im.ph(uint64_t(i)) + kPFilesz, 28, 8);
        return "PT_INTERP" + how + " at p_offset " + hex(off) + " with p_filesz 28";
      }
      case 15: what = "standard ld.so"; bytes = cstr(kLdSo); filesz = bytes.size(); break;
      default: what = "relative nonexistent ld.so"; bytes = cstr("ld.so"); filesz = bytes.size(); break;
    }
    if (!set_interp(im, bytes, filesz, &how)) return p_type(im);
    return "PT_INTERP" + how + " -> " + what + " (p_filesz " + std::to_string(filesz) + ")";
  }

  // A damaged copy of ld.so as the interpreter: load_elf_interp() and its checks.
  std::string damaged_interp(Image& im, const Image& ld, const std::string& mutant) {
    Image copy = ld;
    std::string inner;
    switch (below(11)) {
      case 0: inner = e_type(copy); break;
      case 1: inner = e_machine(copy); break;
      case 2: inner = e_phnum(copy); break;
      case 3: inner = e_phoff(copy); break;
      case 4: inner = p_vaddr(copy); break;
      case 5: inner = p_memsz(copy); break;
      case 6: inner = p_filesz(copy); break;
      case 7: inner = p_offset(copy); break;
      case 8: inner = loads(copy); break;
      case 9: inner = e_entry(copy); break;
      default: inner = truncate(copy); break;
    }
    std::string file = "i" + mutant.substr(1, 4) + "-ld.so";
    if (!write_exec(outdir_ + "/" + file, copy.b)) {
      std::perror(file.c_str());
      std::exit(1);
    }
    std::string how;
    if (!set_interp(im, cstr("./" + file), file.size() + 3, &how)) return p_type(im);
    return "PT_INTERP" + how + " -> ./" + file + ", a copy of " + kLdSo + " with " + inner;
  }

  std::string simple(Image& im) {
    switch (below(14)) {
      case 0: return ident(im);
      case 1: return e_type(im);
      case 2: return e_machine(im);
      case 3: return e_phentsize(im);
      case 4: return e_phnum(im);
      case 5: return e_phoff(im);
      case 6: return e_entry(im);
      case 7: return p_type(im);
      case 8: return p_flags(im);
      case 9: return p_offset(im);
      case 10: return p_vaddr(im);
      case 11: return p_filesz(im);
      case 12: return p_memsz(im);
      default: return p_align(im);
    }
  }

  // One mutant: a weighted choice of mutation kind.
  std::string mutate(Image& im, const std::string& name, const Image* ld,
                     const std::vector<std::string>& corpus) {
    struct Kind { int weight; std::function<std::string()> f; };
    std::vector<Kind> kinds = {
        {4, [&] { return ident(im); }},      {3, [&] { return e_type(im); }},
        {3, [&] { return e_machine(im); }},  {3, [&] { return e_phentsize(im); }},
        {7, [&] { return e_phnum(im); }},    {5, [&] { return e_phoff(im); }},
        {4, [&] { return e_entry(im); }},    {6, [&] { return p_type(im); }},
        {4, [&] { return p_flags(im); }},    {5, [&] { return p_offset(im); }},
        {7, [&] { return p_vaddr(im); }},    {5, [&] { return p_filesz(im); }},
        {7, [&] { return p_memsz(im); }},    {6, [&] { return p_align(im); }},
        {12, [&] { return interp(im, name, corpus); }},
        {6, [&] { return ld ? damaged_interp(im, *ld, name) : interp(im, name, corpus); }},
        {7, [&] { return loads(im); }},      {6, [&] { return truncate(im); }},
        {5, [&] {
           std::string s = simple(im);
           for (uint64_t n = 1 + below(2); n-- > 0;) s += "; " + simple(im);
           return s;
         }},
    };
    int total = 0;
    for (const auto& k : kinds) total += k.weight;
    int r = int(below(uint64_t(total)));
    for (const auto& k : kinds) {
      if (r < k.weight) return k.f();
      r -= k.weight;
    }
    return kinds.back().f();
  }

 private:
  std::mt19937_64& rng_;
  std::string outdir_;
};

std::string base_name(const std::string& p) {
  size_t s = p.find_last_of('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: elf_mutator SEED COUNT OUTDIR INPUT...\n");
    return 2;
  }
  uint64_t seed = std::strtoull(argv[1], nullptr, 0);
  uint64_t count = std::strtoull(argv[2], nullptr, 0);
  std::string outdir = argv[3];
  mkdir(outdir.c_str(), 0755);

  struct Input { std::string name, path; Image img; };
  std::vector<Input> inputs;
  std::vector<std::string> corpus_paths;
  for (int i = 4; i < argc; ++i) {
    std::vector<uint8_t> bytes;
    Input in;
    in.name = base_name(argv[i]);
    char real[PATH_MAX];
    in.path = realpath(argv[i], real) ? real : argv[i];
    if (!read_bytes(argv[i], &bytes) || !parse(bytes, &in.img)) {
      std::fprintf(stderr, "elf_mutator: %s: not a readable ELF64 executable, skipped\n", argv[i]);
      continue;
    }
    corpus_paths.push_back(in.path);
    inputs.push_back(std::move(in));
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "elf_mutator: no usable inputs\n");
    return 1;
  }

  // Helper interpreters shared by all mutants.
  std::vector<uint8_t> ldbytes;
  Image ld;
  bool have_ld = read_bytes(kLdSo, &ldbytes) && parse(ldbytes, &ld);
  std::string script = "#!/bin/sh\nexit 0\n";
  if (!write_exec(outdir + "/interp-script.sh", {script.begin(), script.end()})) {
    std::perror("interp-script.sh");
    return 1;
  }
  std::vector<uint8_t> shortfile(ldbytes.begin(), ldbytes.begin() + std::min<size_t>(40, ldbytes.size()));
  if (!write_exec(outdir + "/interp-short", shortfile)) return 1;

  for (uint64_t i = 1; i <= count; ++i) {
    std::seed_seq ss{uint32_t(seed), uint32_t(seed >> 32), uint32_t(i), uint32_t(i >> 32)};
    std::mt19937_64 rng(ss);
    Mutator m(rng, outdir);
    const Input& in = inputs[m.below(inputs.size())];
    char num[16];
    std::snprintf(num, sizeof num, "m%04llu", static_cast<unsigned long long>(i));
    std::string name = std::string(num) + "-" + in.name;
    Image im = in.img;
    std::string why = m.mutate(im, name, have_ld ? &ld : nullptr, corpus_paths);
    if (!write_exec(outdir + "/" + name, im.b) ||
        !write_text(outdir + "/" + name + ".why",
                    "input=" + in.name + " seed=" + std::to_string(seed) + " index=" +
                        std::to_string(i) + "\n" + why + "\n")) {
      std::fprintf(stderr, "elf_mutator: cannot write %s/%s: %s\n", outdir.c_str(), name.c_str(),
                   std::strerror(errno));
      return 1;
    }
  }
  return 0;
}
