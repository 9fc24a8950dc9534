// glibc 2.36 ld.so's dependency resolution, computed without running it: preloads, DT_NEEDED in
// breadth-first order (_dl_map_object_deps), and for each name the search of _dl_map_object():
// DT_RPATH chain, LD_LIBRARY_PATH, DT_RUNPATH, /etc/ld.so.cache, the system directories; with
// the glibc-hwcaps and legacy hwcap subdirectories and $ORIGIN/$LIB/$PLATFORM expansion.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "loader/dyn_info.h"
#include "loader/dyn_symbols.h"
#include "loader/ld_cache.h"
#include "loader/lib_files.h"

namespace execmap::sim {

// The host facts rtld's search depends on. Each comes from a glibc 2.36 build constant or the
// CPU; the defaults are Debian 12's x86_64 build.
struct RtldConfig {
  // SYSTEM_DIRS (elf/dl-load.c, generated from the multiarch slibdir/libdir).
  std::vector<std::string> system_dirs = {"/lib/x86_64-linux-gnu/", "/usr/lib/x86_64-linux-gnu/",
                                          "/lib/", "/usr/lib/"};
  std::string dst_lib = "lib/x86_64-linux-gnu";  // DL_DST_LIB, the $LIB expansion
  std::string platform = "x86_64";               // GLRO(dl_platform): AT_PLATFORM
  // _dl_important_hwcaps(): glibc-hwcaps subdirectories supported by this CPU, best first
  // (sysdeps/x86_64/dl-hwcaps-subdirs.c), then the legacy power set of {hwcap "x86_64",
  // platform, "tls"} from largest to empty (elf/dl-hwcaps.c, still searched in 2.36).
  std::vector<std::string> glibc_hwcaps = {"x86-64-v4", "x86-64-v3", "x86-64-v2"};
  std::vector<std::string> legacy_hwcap_strings = {"x86_64"};  // HWCAP_IMPORTANT bits set
  uint64_t hwcap_masked = 2;  // GLRO(dl_hwcap) & hwcap_mask: HWCAP_X86_64 (sysdeps/x86/dl-hwcap.h)
  // Build constants of the Debian 12 glibc 2.36 ld.so, measured with gdb on libc6-dbg
  // (2.36-9+deb12u14): `p sizeof (struct link_map)` and `p sizeof (struct pthread)`.
  uint64_t sizeof_link_map = 1192;
  uint64_t sizeof_pthread = 2368;  // TLS_TCB_SIZE (sysdeps/x86_64/nptl/tls.h)
  std::string ld_so_cache = "/etc/ld.so.cache";
  std::string ld_so_preload = "/etc/ld.so.preload";

  // The ABI ld.so was built for: its pointer size and the sizes of what it allocates. The
  // defaults are x86_64's; rtld_config_i386() has libc6-i386's. Each is sizeof() of the glibc
  // 2.36 structure named, measured with gdb on Debian's libc6-dbg for both builds.
  elf::ElfClass elf_class = elf::ElfClass::Elf64;  // open_verify() skips the other class
  uint64_t word = 8;                      // sizeof (void *)
  uint64_t phent = 56;                    // sizeof (ElfW(Phdr))
  uint64_t sizeof_libname_list = 24;      // struct libname_list (include/link.h)
  uint64_t sizeof_auditstate = 16;        // struct auditstate (include/link.h)
  uint64_t sizeof_strlenpair = 16;        // struct r_strlenpair (elf/dl-hwcaps.h)
  uint64_t sizeof_search_path_elem = 40;  // struct r_search_path_elem (include/link.h)
  uint64_t sizeof_found_version = 24;     // struct r_found_version (include/link.h)
  uint64_t sizeof_unique_sym = 32;        // struct unique_sym (include/link.h, rtld_global)
  uint64_t sizeof_dlfo = 32;              // struct dl_find_object_internal (elf/dl-find_object.h)
  // _DL_CACHE_DEFAULT_ID: the ld.so.cache entry flags of this ABI's libraries
  // (sysdeps/unix/sysv/linux/x86_64/dl-cache.h for x86_64: FLAG_X8664_LIB64 | FLAG_ELF_LIBC6;
  // sysdeps/generic/dl-cache.h elsewhere: FLAG_ELF_LIBC6). _dl_cache_check_flags() accepts
  // them, and on i386 also 1 (FLAG_ELF, the libc5 era).
  int32_t cache_flags = 0x0303;
  bool cache_accepts_flag_elf = false;

  // How deep ld.so's own work reaches below the initial stack pointer before the entry point
  // (sim/rtld_stack.h). The fixed parts are frame sizes of this ld.so build, measured on
  // Debian 12's x86_64 ld.so (2.36-9+deb12u14) by filling the stack below sp with a pattern at
  // the exec trap and finding the lowest overwritten byte at AT_ENTRY; the variable parts are
  // the allocas and VLAs of the glibc source named on each field.
  struct StackUse {
    // dl_main's deepest point when nothing is mapped (no DT_NEEDED): a program without
    // dependencies reaches it.
    uint64_t bare = 2536;
    // The call to __mmap64 in _dl_map_segments (inlined in _dl_map_object_from_fd) when
    // _dl_map_object_deps maps a DT_NEEDED object, before the variable parts below.
    uint64_t map_base = 4024;
    // _dl_map_object_deps (elf/dl-deps.c): `newp = alloca (sizeof (struct list))` for every
    // object appended to the search list before this one; 24 bytes, 32 with alloca's rounding.
    uint64_t list_entry = 32;
    // _dl_map_object_from_fd (elf/dl-load.c): `struct loadcmd loadcmds[l->l_phnum]`, a VLA of
    // sizeof (struct loadcmd) per program header, rounded up to 16.
    uint64_t loadcmd = 56;
    // _dl_map_object_from_fd: program headers beyond the FILEBUF_SIZE bytes open_verify()
    // read are copied to `alloca (maplength)`; measured as (maplength + 16) & ~15.
    uint64_t filebuf = 832;
    // open_path (elf/dl-load.c) trying a directory: its buffer of max_dirnamelen plus the
    // name, under _dl_map_object's frame. Measured as search_base + 32 per earlier search-list
    // entry + ((max_dirnamelen + strlen (name) + 15) & ~15), for LD_LIBRARY_PATH and
    // DT_RUNPATH directories of 20 to 2903 bytes. nullopt: not measured (i386).
    std::optional<uint64_t> search_base = 4136;
  };
  // nullopt: not measured for this ld.so, so no kill is predicted from its stack use.
  std::optional<StackUse> stack_use = StackUse{};
};

// Debian 12's libc6-i386 (glibc 2.36) ld-linux.so.2: the multiarch lib32 directories, and the
// i386 sizes. Its CPU values (dl_platform, dl_hwcap) come from the target like x86_64's.
RtldConfig rtld_config_i386();

struct RtldRequest {
  std::string exe_path;   // canonical path of the executable: readlink(/proc/self/exe)
  std::string interp;     // PT_INTERP as written; "" for none
  std::optional<std::string> ld_library_path, ld_preload;  // from envp
  bool secure = false;    // AT_SECURE: LD_LIBRARY_PATH ignored, LD_PRELOAD restricted
  bool vdso = true;       // AT_SYSINFO_EHDR present: setup_vdso() makes a link map
  std::string cwd = "/";  // for relative realnames (_dl_new_object's getcwd origin)
  RtldConfig config;
};

enum class FoundVia { Main, Interp, Preload, AlreadyLoaded, Path, RPath, LdLibraryPath,
                      RunPath, LdSoCache, DefaultDir, NotFound, Error };
const char* found_via_name(FoundVia v);

struct RtldObject {
  std::string libname;  // l_libname->name: the name it was first asked for
  std::string l_name;   // the path rtld opened it by ("" for the main program)
  loader::FileIdentity id;  // id.path is the canonical path /proc/PID/maps shows
  uint64_t file_size = 0;   // open_verify() reads min(file_size, FILEBUF_SIZE) bytes first
  // When its lookup went through open_path(): max_dirnamelen at the end of it; 0 otherwise.
  uint64_t open_path_dirnamelen = 0;
  FoundVia via = FoundVia::NotFound;
  std::string search_dir;   // the directory (with hwcaps subdirectory) it was found in
  int loader = -1;          // l_loader: index of the object whose DT_NEEDED loaded it
  std::vector<std::string> needed;
  std::vector<int> deps;    // index of each DT_NEEDED's object (-1: not found)
  std::optional<std::string> soname, rpath, runpath;
  bool has_init = false, has_init_array = false, has_preinit_array = false;
  loader::DynInfo dyn;      // headers and dynamic info, for mapping
  loader::SymbolFacts syms; // STB_GNU_UNIQUE definitions and relocation references
  std::string error;        // FoundVia::Error: why the load failed
};

// What ld.so does, in order, that changes the address space: the requests to its minimal
// malloc (elf/dl-minimal-malloc.c, which maps fresh pages when the current block is full),
// frees (only the last block is really freed), the first ld.so.cache lookup (which maps the
// cache) and the mapping of each new object. sim/rtld_start.h replays them.
struct RtldEvent {
  enum class Kind { Malloc, Free, MapCache, MapObject };
  Kind kind = Kind::Malloc;
  uint64_t size = 0;  // Malloc: bytes; MapCache: the cache file's size
  int block = -1;     // Malloc: its id; Free: the id freed
  int object = -1;    // MapObject: index into RtldResult::objects
  const char* what = "";  // the glibc function that asks
};

struct RtldResult {
  // Load order: [0] the main program, then objects in the order rtld maps them. The
  // interpreter sits where it is first needed (or last when nothing names it).
  std::vector<RtldObject> objects;
  int interp_index = -1;
  bool ok = true;          // false: rtld would stop with "error while loading shared libraries"
  std::string error;
  std::vector<std::string> notes;
  std::vector<RtldEvent> events;
  std::vector<int> searchlist;  // main_map->l_searchlist: main, preloads, BFS dependencies
  bool cache_valid = false;     // the cache mapping stays until _dl_unload_cache()
  loader::FileIdentity cache_id;
};

// The executable and interpreter are given already opened (exec mapped them).
RtldResult resolve_libraries(const RtldRequest& req, const loader::ExecFile& exe,
                             const loader::ExecFile* interp, const loader::LibraryFiles& fs);

// _dl_load_cache_lookup() on a parsed cache; "" when not found.
std::string ld_cache_lookup(const loader::LdCache& c, const std::string& name,
                            const RtldConfig& cfg);

}  // namespace execmap::sim
