// glibc 2.36 ld.so's start-up, as memory system calls on the simulated mm. Sources (Debian's
// 2.36-9+deb12u14 tree): elf/rtld.c dl_main and init_tls, elf/dl-minimal-malloc.c,
// elf/dl-load.c _dl_map_object_from_fd, elf/dl-map-segments.h, elf/dl-version.c
// _dl_check_map_versions, elf/dl-tls.c _dl_determine_tlsoffset and _dl_allocate_tls_storage,
// elf/dl-find_object.c _dl_find_object_init, elf/dl-reloc.c _dl_relocate_object and
// _dl_protect_relro, elf/dl-cache.c. The numbers were checked against gdb on the real ld.so
// (breakpoints on __minimal_malloc and the mmap/mprotect/munmap system calls).
#include "sim/rtld_start.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "loader/dyn_symbols.h"
#include "loader/elf_defs.h"
#include "sim/vm.h"
#include "util/format.h"

namespace execmap::sim {
namespace {

using util::hex;

constexpr uint64_t kMallocAlignment = 16;   // MALLOC_ALIGNMENT (16 on i386 too: malloc-alignment.h)
constexpr uint64_t kTcbAlignment = 64;      // TCB_ALIGNMENT (x86_64 and i386 nptl/pthreaddef.h)
constexpr uint64_t kSlotinfoSurplus = 62;   // TLS_SLOTINFO_SURPLUS
constexpr uint64_t kDtvSurplus = 14;        // DTV_SURPLUS
// _dl_tls_static_surplus_init (0) with the default tunables rtld.nns = 4 and
// rtld.optional_static_tls = 512: 3 * 144 + 4 * 144 + 512, plus LEGACY_TLS = 144.
constexpr uint64_t kTlsStaticSurplus = 1664;
// The vDSO's highest version index: LINUX_2.6 is index 2 in the 64-bit vDSO
// (arch/x86/entry/vdso/vdso.lds.S); the 32-bit one adds LINUX_2.5, index 3
// (arch/x86/entry/vdso/vdso32/vdso32.lds.S).
constexpr uint32_t kVdsoVersionNdxHigh = 2;
constexpr uint32_t kVdso32VersionNdxHigh = 3;

uint64_t align_up(uint64_t v, uint64_t a) { return a ? (v + a - 1) / a * a : v; }
uint64_t align_down(uint64_t v, uint64_t a) { return a ? v / a * a : v; }

struct ObjectFacts {
  std::vector<elf::Phdr> phdrs;
  elf::Ehdr ehdr;
  uint64_t l_addr = 0;
  bool placed = false;
};

class Replay {
 public:
  Replay(ExecResult& r, const RtldResult& libs, const RtldConfig& cfg, bool record)
      : r_(r), libs_(libs), cfg_(cfg), record_(record), vm_(r.profile, r.host, r.mm_vmas, r.mm),
        page_(r.profile.page_size) {}

  StartResult run() {
    facts_.resize(libs_.objects.size());
    // The main program and ld.so were mapped by the kernel.
    const LoadedObject& exe = r_.objects[0];
    facts_[0].phdrs = exe.phdrs;
    facts_[0].ehdr = exe.ehdr;
    facts_[0].l_addr = exe.ehdr.e_type == elf::ET_DYN ? r_.load_bias : 0;
    facts_[0].placed = true;
    out_.placed.push_back(placement(0));
    // GL(dl_stack_flags): the program's PT_GNU_STACK, or DEFAULT_STACK_PERMS without one.
    dl_stack_flags_ = elf::PF_R | elf::PF_W | elf::PF_X;
    for (const elf::Phdr& p : exe.phdrs)
      if (p.p_type == elf::PT_GNU_STACK) dl_stack_flags_ = p.p_flags;
    const LoadedObject& interp = r_.objects[1];
    int ii = libs_.interp_index;
    if (ii >= 0) {
      facts_[size_t(ii)].phdrs = interp.phdrs;
      facts_[size_t(ii)].ehdr = interp.ehdr;
      facts_[size_t(ii)].l_addr = *r_.interp_base;
      facts_[size_t(ii)].placed = true;
    }
    // __minimal_malloc starts in the rest of ld.so's last data page (&_end).
    uint64_t end = 0;
    for (const elf::Phdr& p : interp.phdrs)
      if (p.p_type == elf::PT_LOAD) end = std::max(end, p.p_vaddr + p.p_memsz);
    alloc_ptr_ = *r_.interp_base + end;
    alloc_end_ = align_up(alloc_ptr_, page_);

    for (const RtldEvent& e : libs_.events) {
      if (!out_.ok) break;
      switch (e.kind) {
        case RtldEvent::Kind::Malloc: {
          uint64_t a = minimal_malloc(e.size, e.what);
          if (e.block >= 0) {
            if (blocks_.size() <= size_t(e.block)) blocks_.resize(size_t(e.block) + 1, 0);
            blocks_[size_t(e.block)] = a;
          }
          break;
        }
        case RtldEvent::Kind::Free:
          if (debug_) std::fprintf(stderr, "F\n");
          if (size_t(e.block) < blocks_.size()) minimal_free(blocks_[size_t(e.block)]);
          break;
        case RtldEvent::Kind::MapCache: map_cache(e.size); break;
        case RtldEvent::Kind::MapObject: map_object(e.object); break;
      }
    }
    if (!libs_.ok) {
      out_.ok = false;
      out_.error = libs_.error;
      return out_;
    }
    if (!out_.ok) return out_;
    version_check();
    init_tls();
    relocate();
    if (cache_addr_) {
      vm_.munmap(cache_addr_, cache_size_);
      step("ld.so: unmap the cache", "_dl_unload_cache", {"munmap " + hex(cache_addr_)});
    }
    initializers();
    return out_;
  }

 private:
  StartObject placement(int i) const {
    StartObject s;
    s.object = i;
    s.l_addr = facts_[size_t(i)].l_addr;
    uint64_t lo = ~uint64_t(0), hi = 0;
    for (const elf::Phdr& p : facts_[size_t(i)].phdrs)
      if (p.p_type == elf::PT_LOAD) {
        lo = std::min(lo, align_down(p.p_vaddr, page_));
        hi = std::max(hi, p.p_vaddr + p.p_memsz);
      }
    if (hi) {
      s.map_start = s.l_addr + lo;
      s.map_end = s.l_addr + hi;
    }
    return s;
  }

  void step(const std::string& name, const std::string& fn, std::vector<std::string> changes) {
    if (record_) record_step(r_, name, fn, std::move(changes));
  }

  void fail(const std::string& msg) {
    if (!out_.ok) return;
    out_.ok = false;
    out_.error = msg;
  }

  // __minimal_malloc(): align, and when the block is full (or exactly full) map n rounded
  // up plus one page; a mapping right at the old end continues the block.
  uint64_t minimal_malloc(uint64_t n, const char* what) {
    if (debug_) std::fprintf(stderr, "M %llu %s ptr=%llx end=%llx\n", (unsigned long long)n, what,
                             (unsigned long long)alloc_ptr_, (unsigned long long)alloc_end_);
    alloc_ptr_ = align_up(alloc_ptr_, kMallocAlignment);
    if (alloc_ptr_ + n >= alloc_end_ || n >= -alloc_ptr_) {
      uint64_t nup = align_up(n, page_) + page_;
      MapResult m = vm_.vm_mmap(-1, 0, nup, PROT_R | PROT_W, 0, 0);
      if (!m.ok) {
        fail(std::string("cannot allocate memory in ld.so (") + what + ")");
        return 0;
      }
      if (m.addr != alloc_end_) alloc_ptr_ = m.addr;
      alloc_end_ = m.addr + nup;
      step("ld.so: malloc maps pages", "__minimal_malloc",
           {std::string(what) + " wants " + std::to_string(n) + " bytes: mmap " +
            std::to_string(nup) + " at " + hex(m.addr)});
    }
    last_block_ = alloc_ptr_;
    alloc_ptr_ += n;
    return last_block_;
  }
  void minimal_free(uint64_t p) {
    if (p == last_block_) alloc_ptr_ = last_block_;
  }

  void map_cache(uint64_t size) {
    int f = int(r_.files.size());
    r_.files.push_back(libs_.cache_id);
    MapResult m = vm_.vm_mmap(f, 0, size, PROT_R, 0, 0);
    if (!m.ok) return;  // rtld then works without the cache
    if (!libs_.cache_valid) {
      vm_.munmap(m.addr, size);
      return;
    }
    cache_addr_ = m.addr;
    cache_size_ = size;
    step("ld.so: map ld.so.cache", "_dl_sysdep_read_whole_file", {"mmap " + hex(m.addr)});
  }

  // _dl_map_object_from_fd() and _dl_map_segments() for an ET_DYN object.
  void map_object(int i) {
    const RtldObject& o = libs_.objects[size_t(i)];
    ObjectFacts& F = facts_[size_t(i)];
    F.phdrs = o.dyn.phdrs;
    F.ehdr = o.dyn.ehdr;
    struct Cmd {
      uint64_t mapstart, mapend, dataend, allocend, mapoff;
      uint32_t prot;
    };
    std::vector<Cmd> cmds;
    bool has_holes = false, has_phdr = false, has_dynamic = false, empty_dynamic = false;
    uint64_t p_align_max = 0;
    for (const elf::Phdr& p : F.phdrs) {
      if (p.p_type == elf::PT_PHDR) has_phdr = true;
      if (p.p_type == elf::PT_DYNAMIC) (p.p_filesz ? has_dynamic : empty_dynamic) = true;
      if (p.p_type != elf::PT_LOAD) continue;
      if (((p.p_vaddr - p.p_offset) & (page_ - 1)) != 0)
        return fail(o.l_name + ": ELF load command address/offset not page-aligned");
      Cmd c;
      c.mapstart = align_down(p.p_vaddr, page_);
      c.mapend = align_up(p.p_vaddr + p.p_filesz, page_);
      c.dataend = p.p_vaddr + p.p_filesz;
      c.allocend = p.p_vaddr + p.p_memsz;
      c.mapoff = align_down(p.p_offset, page_);
      c.prot = elf::prot_from_p_flags(p.p_flags);
      if (p.p_align && (p.p_align & (p.p_align - 1)) == 0 && p.p_align > p_align_max)
        p_align_max = p.p_align;
      if (!cmds.empty() && cmds.back().mapend != c.mapstart) has_holes = true;
      cmds.push_back(c);
    }
    if (cmds.empty()) return fail(o.l_name + ": object file has no loadable segments");
    if (F.ehdr.e_type != elf::ET_DYN) return fail(o.l_name + ": cannot dynamically load executable");
    if (!has_dynamic || empty_dynamic) return fail(o.l_name + ": object file has no dynamic section");
    uint64_t maplength = cmds.back().allocend - cmds.front().mapstart;
    int f = int(r_.files.size());
    r_.files.push_back(o.id);
    std::vector<std::string> changes;
    // _dl_map_segment(): the whole span from the file with the first segment's protection,
    // at the preferred address (the first segment's vaddr), over-sized and trimmed when the
    // largest p_align exceeds the page size.
    const Cmd& c0 = cmds.front();
    uint64_t start;
    if (p_align_max <= page_) {
      MapResult m = vm_.vm_mmap(f, c0.mapstart, maplength, c0.prot, 0, c0.mapoff);
      if (!m.ok) return fail(o.l_name + ": failed to map segment from shared object");
      start = m.addr;
    } else {
      uint64_t maplen = maplength >= p_align_max ? maplength + p_align_max : 2 * p_align_max;
      MapResult m = vm_.vm_mmap(-1, c0.mapstart, maplen, 0, 0, 0);
      if (!m.ok) return fail(o.l_name + ": failed to map segment from shared object");
      uint64_t aligned = align_up(m.addr, p_align_max);
      MapResult m2 = vm_.vm_mmap(f, aligned, maplength, c0.prot, kMapFixed, c0.mapoff);
      if (!m2.ok) {
        vm_.munmap(m.addr, maplen);
        return fail(o.l_name + ": failed to map segment from shared object");
      }
      if (aligned != m.addr) vm_.munmap(m.addr, aligned - m.addr);
      uint64_t map_end = align_up(aligned + maplength, page_);
      if (m.addr + maplen > map_end) vm_.munmap(map_end, m.addr + maplen - map_end);
      start = aligned;
    }
    F.l_addr = start - c0.mapstart;
    F.placed = true;
    changes.push_back("reserve " + hex(start) + "-" + hex(align_up(start + maplength, page_)));
    if (has_holes) {
      if (cmds.back().mapstart < c0.mapend)
        return fail(o.l_name + ": ELF load command address/offset not page-aligned");
      vm_.mprotect(F.l_addr + c0.mapend, cmds.back().mapstart - c0.mapend, 0);
    }
    bool phdr_in_segment = false;
    for (size_t k = 0; k < cmds.size(); ++k) {
      const Cmd& c = cmds[k];
      if (k > 0 && c.mapend > c.mapstart) {
        MapResult m = vm_.vm_mmap(f, F.l_addr + c.mapstart, c.mapend - c.mapstart, c.prot,
                                  kMapFixed, c.mapoff);
        if (!m.ok) return fail(o.l_name + ": failed to map segment from shared object");
      }
      // _dl_postprocess_loadcmd(): the program headers inside this segment's file range.
      if (c.mapoff <= F.ehdr.e_phoff &&
          c.mapend - c.mapstart + c.mapoff >= F.ehdr.e_phoff + F.ehdr.e_phnum * cfg_.phent)
        phdr_in_segment = true;
      if (c.allocend > c.dataend) {
        uint64_t zero = F.l_addr + c.dataend, zeroend = F.l_addr + c.allocend;
        uint64_t zeropage = align_up(zero, page_);
        if (zeroend < zeropage) zeropage = zeroend;
        if (zeropage > zero && !(c.prot & PROT_W)) {
          // "Dag nab it": the last file page is made writable to clear its tail.
          vm_.mprotect(align_down(zero, page_), page_, c.prot | PROT_W);
          vm_.mprotect(align_down(zero, page_), page_, c.prot);
        }
        if (zeroend > zeropage) {
          MapResult m = vm_.vm_mmap(-1, zeropage, zeroend - zeropage, c.prot, kMapFixed, 0);
          if (!m.ok) return fail(o.l_name + ": cannot map zero-fill pages");
          changes.push_back("bss " + hex(zeropage) + "-" + hex(align_up(zeroend, page_)));
        }
      }
    }
    out_.placed.push_back(placement(i));
    step("ld.so: map " + o.libname, "_dl_map_object_from_fd", changes);
    // "The program header is not contained in any of the segments": a malloc'ed copy.
    if (!has_phdr && !phdr_in_segment)
      minimal_malloc(F.ehdr.e_phnum * cfg_.phent, "_dl_map_object_from_fd (l_phdr copy)");
    // An object that wants an executable stack (PT_GNU_STACK with PF_X, or none at all:
    // DEFAULT_STACK_PERMS) when the stack is not yet: _dl_make_stack_executable() mprotects
    // the page of __libc_stack_end with PROT_GROWSDOWN, which reaches down to the start of
    // the [stack] VMA.
    uint32_t stack_flags = elf::PF_R | elf::PF_W | elf::PF_X;
    for (const elf::Phdr& p : F.phdrs)
      if (p.p_type == elf::PT_GNU_STACK) stack_flags = p.p_flags;
    if ((stack_flags & ~dl_stack_flags_) & elf::PF_X) {
      uint64_t page = align_down(r_.stack.sp, page_);
      const Vma* sv = r_.mm_vmas.vma_at(page);
      if (sv && sv->growsdown()) {
        uint64_t start = sv->start;
        if (vm_.mprotect(start, page + page_ - start, PROT_R | PROT_W | PROT_X) == 0) {
          dl_stack_flags_ |= elf::PF_X;
          step("ld.so: executable stack for " + o.libname, "_dl_make_stack_executable",
               {"mprotect " + hex(start) + "-" + hex(page + page_) + " rwx (PROT_GROWSDOWN)"});
        } else {
          return fail(o.l_name + ": cannot enable executable stack as shared object requires");
        }
      }
    }
  }

  // The l_next chain: main, the vDSO, the loaded objects in load order, with ld.so put
  // back after its predecessor in the search list (rtld.c, "Remove _dl_rtld_map from the
  // chain" and the NEED_DL_SYSINFO_DSO rule that keeps it after the vDSO).
  std::vector<int> chain() const {
    std::vector<int> c;
    const int kVdso = -2;
    c.push_back(0);
    if (vdso_) c.push_back(kVdso);
    int ii = libs_.interp_index;
    for (size_t i = 1; i < libs_.objects.size(); ++i)
      if (int(i) != ii && facts_[i].placed) c.push_back(int(i));
    if (ii >= 0) {
      int pred = -1;
      for (size_t k = 1; k < libs_.searchlist.size(); ++k)
        if (libs_.searchlist[k] == ii) pred = libs_.searchlist[k - 1];
      if (pred < 0) {
        c.push_back(ii);  // not in the search list: stays where dl_main put it, after main
      } else {
        auto it = std::find(c.begin(), c.end(), pred);
        if (it == c.end()) c.push_back(ii);
        else {
          ++it;
          if (it != c.end() && *it == kVdso) ++it;
          c.insert(it, ii);
        }
      }
    }
    return c;
  }

  // _dl_check_all_versions(): l_versions for every object with version records.
  void version_check() {
    for (int i : chain()) {
      uint32_t high = 0;
      if (i == -2) {
        high = r_.profile.compat ? kVdso32VersionNdxHigh : kVdsoVersionNdxHigh;
      } else {
        const loader::DynInfo& d = i == 0 ? main_dyn() : libs_.objects[size_t(i)].dyn;
        if (!d.has_strtab) continue;
        if (!d.version_ndx_high) {
          out_.notes.push_back("version records of " + name_of(i) + " could not be read");
          continue;
        }
        high = *d.version_ndx_high;
      }
      if (high > 0) minimal_malloc((high + 1) * cfg_.sizeof_found_version, "_dl_check_map_versions");
    }
  }

  const loader::DynInfo& main_dyn() const { return libs_.objects[0].dyn; }
  std::string name_of(int i) const {
    if (i == 0) return "the program";
    return libs_.objects[size_t(i)].l_name;
  }

  // init_tls(): the slotinfo list, then _dl_determine_tlsoffset() and the static TLS block
  // with the TCB (_dl_allocate_tls_storage), then the DTV.
  void init_tls() {
    struct Tls {
      uint64_t blocksize, align, firstbyte;
    };
    std::vector<Tls> mods;
    for (int i : chain()) {
      if (i < 0) continue;
      for (const elf::Phdr& p : facts_[size_t(i)].phdrs)
        if (p.p_type == elf::PT_TLS && p.p_memsz != 0) {
          Tls t;
          t.blocksize = p.p_memsz;
          t.align = p.p_align ? p.p_align : 1;
          t.firstbyte = p.p_align ? (p.p_vaddr & (p.p_align - 1)) : 0;
          mods.push_back(t);
        }
    }
    uint64_t nelem = mods.size() + 1 + kSlotinfoSurplus;
    // struct dtv_slotinfo_list (len, next) and struct dtv_slotinfo (gen, map): two words each.
    const uint64_t w = cfg_.word;
    minimal_malloc(2 * w + nelem * 2 * w, "init_tls (dtv_slotinfo_list)");
    uint64_t max_align = kTcbAlignment, freetop = 0, freebottom = 0, offset = 0;
    for (const Tls& t : mods) {
      uint64_t firstbyte = (-t.firstbyte) & (t.align - 1);
      max_align = std::max(max_align, t.align);
      if (freebottom - freetop >= t.blocksize) {
        uint64_t off = align_up(freetop + t.blocksize - firstbyte, t.align) + firstbyte;
        if (off <= freebottom) {
          freetop = off;
          continue;
        }
      }
      uint64_t off = align_up(offset + t.blocksize - firstbyte, t.align) + firstbyte;
      if (off > offset + t.blocksize + (freebottom - freetop)) {
        freetop = offset;
        freebottom = off - t.blocksize;
      }
      offset = off;
    }
    uint64_t static_size = align_up(offset + kTlsStaticSurplus, max_align) + cfg_.sizeof_pthread;
    uint64_t allocated = minimal_malloc(static_size + max_align + w, "_dl_allocate_tls_storage");
    out_.tcb = align_up(allocated, max_align) + static_size - cfg_.sizeof_pthread;
    minimal_malloc((mods.size() + kDtvSurplus + 2) * 2 * w, "allocate_dtv");  // dtv_t
    step("ld.so: TLS and thread control block", "init_tls",
         {"thread pointer " + hex(out_.tcb)});
  }

  void protect_relro(int i, std::vector<std::string>* changes) {
    const ObjectFacts& F = facts_[size_t(i)];
    for (const elf::Phdr& p : F.phdrs)
      if (p.p_type == elf::PT_GNU_RELRO) {
        uint64_t start = align_down(F.l_addr + p.p_vaddr, page_);
        uint64_t end = align_down(F.l_addr + p.p_vaddr + p.p_memsz, page_);
        if (start != end) {
          if (vm_.mprotect(start, end - start, PROT_R) != 0)
            fail(name_of(i) + ": cannot apply additional memory protection after relocation");
          changes->push_back("RELRO " + hex(start) + "-" + hex(end) + " r--");
        }
      }
  }

  // _dl_relocate_object() for every object but ld.so, last dependency first; then
  // _dl_find_object_init() and ld.so's own re-relocation.
  // do_lookup_unique(): every STB_GNU_UNIQUE symbol a relocation resolves to is entered in
  // one table (31 struct unique_sym entries, regrown to the next prime when 3/4 full).
  void unique_symbol_table() {
    std::vector<std::string> names;
    for (int i : libs_.searchlist)
      for (const std::string& u : libs_.objects[size_t(i)].syms.unique_defined) names.push_back(u);
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    uint64_t n = 0;
    for (const std::string& u : names) {
      uint64_t h = loader::symbol_name_hash(u);
      bool referenced = false;
      for (int i : libs_.searchlist) referenced |= libs_.objects[size_t(i)].syms.referenced.count(h) > 0;
      if (!referenced) continue;
      // The definition the scope finds first decides.
      for (int i : libs_.searchlist) {
        const loader::SymbolFacts& s = libs_.objects[size_t(i)].syms;
        if (!s.defined.count(h)) continue;
        if (std::find(s.unique_defined.begin(), s.unique_defined.end(), u) != s.unique_defined.end()) ++n;
        break;
      }
    }
    for (int i : libs_.searchlist)
      if (!libs_.objects[size_t(i)].syms.ok && i != libs_.interp_index)
        out_.notes.push_back("dynamic symbols of " + name_of(i) + " could not be read: unique "
                             "symbols may be missed");
    static const uint64_t kPrimes[] = {31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381,
                                       32749, 65521, 131071, 262139, 524287, 1048573};
    size_t p = 0;
    for (uint64_t k = 0; k < n; ++k) {
      if (k == 0) minimal_malloc(kPrimes[0] * cfg_.sizeof_unique_sym, "do_lookup_unique");
      else if (kPrimes[p] * 3 <= k * 4 && p + 1 < sizeof kPrimes / sizeof kPrimes[0])
        minimal_malloc(kPrimes[++p] * cfg_.sizeof_unique_sym, "do_lookup_unique (grow)");
    }
  }

  void relocate() {
    std::vector<std::string> changes;
    unique_symbol_table();
    int ii = libs_.interp_index;
    bool rtld_in_list = false;
    for (size_t k = libs_.searchlist.size(); k-- > 0;) {
      int i = libs_.searchlist[k];
      if (i == ii) {
        rtld_in_list = true;
        continue;
      }
      const loader::DynInfo& d = libs_.objects[size_t(i)].dyn;
      std::vector<std::pair<uint64_t, std::pair<uint64_t, uint32_t>>> textrels;
      if (d.textrel) {
        const ObjectFacts& F = facts_[size_t(i)];
        for (const elf::Phdr& p : F.phdrs)
          if (p.p_type == elf::PT_LOAD && !(p.p_flags & elf::PF_W)) {
            uint64_t s = align_down(p.p_vaddr, page_) + F.l_addr;
            uint64_t len = align_up(p.p_vaddr + p.p_memsz, page_) - align_down(p.p_vaddr, page_);
            uint32_t prot = elf::prot_from_p_flags(p.p_flags);
            vm_.mprotect(s, len, prot | PROT_W);
            textrels.push_back({s, {len, prot}});
          }
        changes.push_back(name_of(i) + " has text relocations: its text was made writable");
      }
      for (size_t t = textrels.size(); t-- > 0;)
        vm_.mprotect(textrels[t].first, textrels[t].second.first, textrels[t].second.second);
      protect_relro(i, &changes);
    }
    if (rtld_in_list) {
      // _dl_find_object_init(): one entry per object on the chain but the main program
      // (whose PT_LOADs count instead when they are not contiguous).
      uint64_t nodelete = 0;
      for (int i : chain())
        if (i != 0) ++nodelete;
      if (!main_contiguous()) {
        for (const elf::Phdr& p : facts_[0].phdrs) nodelete += p.p_type == elf::PT_LOAD;
      }
      minimal_malloc(nodelete * cfg_.sizeof_dlfo, "_dl_find_object_init");
      if (ii >= 0) protect_relro(ii, &changes);
    } else {
      out_.notes.push_back("ld.so is not among the program's dependencies: its own RELRO and "
                           "the find-object tables are not modelled");
    }
    step("ld.so: relocate", "_dl_relocate_object", changes);
  }

  bool main_contiguous() const {
    uint64_t expected = 0;
    for (const elf::Phdr& p : facts_[0].phdrs) {
      if (p.p_type != elf::PT_LOAD) continue;
      uint64_t mapstart = align_down(p.p_vaddr, page_);
      if (expected != 0 && expected != mapstart) return false;
      expected = align_up(p.p_vaddr + p.p_memsz, page_);
    }
    return true;
  }

  void initializers() {
    for (int i : libs_.searchlist) {
      if (i == libs_.interp_index) continue;
      const RtldObject& o = libs_.objects[size_t(i)];
      bool is_libc = o.soname && *o.soname == "libc.so.6";
      if (i != 0 && !is_libc && (o.has_init || o.has_init_array)) {
        out_.heap_may_appear = true;
        out_.notes.push_back("initializers of " + o.l_name +
                             " run before the entry point and may allocate ([heap], mmap)");
      }
    }
    const RtldObject& m = libs_.objects[0];
    if (m.has_preinit_array)
      out_.notes.push_back("the program's DT_PREINIT_ARRAY runs before the entry point");
  }

  ExecResult& r_;
  const RtldResult& libs_;
  const RtldConfig& cfg_;
  bool record_;
  VmOps vm_;
  uint64_t page_;
  bool vdso_ = true;
  std::vector<ObjectFacts> facts_;
  std::vector<uint64_t> blocks_;
  uint64_t alloc_ptr_ = 0, alloc_end_ = 0, last_block_ = ~uint64_t(0);
  uint64_t cache_addr_ = 0, cache_size_ = 0;
  uint32_t dl_stack_flags_ = 0;
  StartResult out_;
  bool debug_ = std::getenv("EXECMAP_DEBUG_RTLD") != nullptr;

 public:
  void set_vdso(bool v) { vdso_ = v; }
};

}  // namespace

StartResult simulate_rtld_start(ExecResult& r, const RtldResult& libs, const RtldConfig& cfg,
                                bool record_steps) {
  if (!r.ok() || r.objects.size() < 2 || !r.interp_base) {
    StartResult s;
    s.ok = false;
    s.error = "no dynamic loader: the start stage is the exec stage";
    return s;
  }
  Replay rp(r, libs, cfg, record_steps);
  bool vdso = false;
  for (const auto& kv : r.mm_vmas.vmas())
    if (kv.second.name == "[vdso]") vdso = true;
  rp.set_vdso(vdso);
  return rp.run();
}

}  // namespace execmap::sim
