// ld.so's deepest stack point before the entry point: see sim/rtld_stack.h.
#include "sim/rtld_stack.h"

#include <algorithm>

namespace execmap::sim {

std::optional<LdsoStack> rtld_stack_depth(const RtldResult& libs, const RtldConfig& cfg,
                                          const std::optional<std::string>& ld_library_path,
                                          bool secure) {
  if (!cfg.stack_use) return std::nullopt;
  const RtldConfig::StackUse& s = *cfg.stack_use;
  LdsoStack out;
  out.depth = s.bare;
  out.where = "dl_main";
  auto note = [&](const std::string& why) {
    if (std::find(out.lower_bound_because.begin(), out.lower_bound_because.end(), why) ==
        out.lower_bound_because.end())
      out.lower_bound_because.push_back(why);
  };
  bool llp = ld_library_path && !ld_library_path->empty() && !secure;
  if (llp)
    note("LD_LIBRARY_PATH: open_path's stack use is measured only for the first lookup");

  // _dl_map_object_deps(): the search list starts with the main map and the preloads (in the
  // `known' array); every later entry costs one alloca'd struct list before the objects after
  // it are mapped.
  size_t fixed = 1;
  for (size_t i = 1; i < libs.searchlist.size(); ++i) {
    int idx = libs.searchlist[i];
    if (idx < 0 || size_t(idx) >= libs.objects.size()) continue;
    if (libs.objects[size_t(idx)].via == FoundVia::Preload) fixed = i + 1;
  }
  if (fixed > 1) note("preloaded objects are mapped by do_preload, whose frames are not measured");
  uint64_t later_search = 0;
  for (size_t pos = 1; pos < libs.searchlist.size(); ++pos) {
    int idx = libs.searchlist[pos];
    if (idx <= 0 || size_t(idx) >= libs.objects.size() || idx == libs.interp_index) continue;
    const RtldObject& o = libs.objects[size_t(idx)];
    if (o.via == FoundVia::NotFound || o.via == FoundVia::Error || o.via == FoundVia::Main)
      continue;
    if (o.libname.find('$') != std::string::npos)
      note("'" + o.libname + "' holds a dynamic string token (expand_dst's alloca is not modelled)");
    if (o.via == FoundVia::Preload) continue;
    uint64_t k = pos >= fixed ? uint64_t(pos - fixed) : 0;
    // The mapping: _dl_map_object_from_fd's loadcmds VLA and, for headers past the bytes
    // open_verify() read (min(file size, FILEBUF_SIZE)), their alloca'd copy.
    uint64_t n = o.dyn.ehdr.e_phnum;
    uint64_t maplength = n * cfg.phent;
    uint64_t d = s.map_base + k * s.list_entry + ((n * s.loadcmd + 15) & ~uint64_t(15));
    uint64_t have = std::min<uint64_t>(o.file_size, s.filebuf);
    if (o.dyn.ehdr.e_phoff > have || maplength > have - o.dyn.ehdr.e_phoff)
      d += (maplength + 16) & ~uint64_t(15);
    if (d > out.depth) {
      out.depth = d;
      out.where = "mapping " + o.libname + " (_dl_map_object_from_fd)";
    }
    // The search: open_path()'s buffer, when the lookup went through search directories. Only
    // the first lookup is measured (later ones skip directories known not to exist, or try
    // them again one list entry deeper); a later one that could go deeper makes a bound.
    if (o.open_path_dirnamelen) {
      if (!s.search_base) {
        note("the path search for '" + o.libname + "' (open_path) is not measured for this ld.so");
        continue;
      }
      uint64_t sd = *s.search_base + k * s.list_entry +
                    ((o.open_path_dirnamelen + o.libname.size() + 15) & ~uint64_t(15));
      if (k > 0) {
        later_search = std::max(later_search, sd);
      } else if (sd > out.depth) {
        out.depth = sd;
        out.where = "searching for " + o.libname + " (open_path)";
      }
    }
  }
  if (later_search > out.depth)
    note("open_path's stack use is measured for the first lookup only, and a later one may "
         "reach " + std::to_string(later_search) + " bytes");
  for (const RtldObject& o : libs.objects) {
    bool libc = o.soname && o.soname->compare(0, 7, "libc.so") == 0;
    if (o.via != FoundVia::Main && o.via != FoundVia::Interp && !libc &&
        (o.has_init || o.has_init_array || o.has_preinit_array))
      out.initializers_not_modelled = true;
  }
  return out;
}

std::optional<uint64_t> stack_room(uint64_t sp, uint64_t stack_end, uint64_t rlim,
                                   uint64_t page_size) {
  if (rlim == kRlimInfinity) return std::nullopt;
  uint64_t reach = rlim & ~(page_size - 1);
  if (reach >= stack_end) return std::nullopt;
  uint64_t lowest = stack_end - reach;
  return sp > lowest ? sp - lowest : 0;
}

}  // namespace execmap::sim
