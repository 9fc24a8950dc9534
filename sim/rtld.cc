// glibc 2.36 dependency resolution (elf/rtld.c dl_main preloads, elf/dl-deps.c
// _dl_map_object_deps, elf/dl-load.c _dl_map_object / open_path / fillin_rpath /
// _dl_dst_substitute, elf/dl-cache.c search_cache), without running the loader.
#include "sim/rtld.h"

#include <cerrno>
#include <deque>
#include <memory>
#include <set>

namespace execmap::sim {
namespace {

constexpr uint64_t kMaxObjects = 4096;     // bound on a hostile dependency graph
constexpr uint64_t kMaxPreloadFile = 1u << 16;

std::string dirname_of(const std::string& path) {
  // _dl_new_object(): "remove the filename and the slash. Leave the slash if the name is
  // something like /foo".
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// is_dst(): $NAME or ${NAME}, the plain form followed by '/' or the end.
size_t is_dst(const std::string& s, size_t pos, const std::string& ref) {
  bool curly = pos < s.size() && s[pos] == '{';
  size_t start = pos + (curly ? 1 : 0);
  if (s.compare(start, ref.size(), ref) != 0) return 0;
  size_t end = start + ref.size();
  if (curly) return end < s.size() && s[end] == '}' ? ref.size() + 2 : 0;
  return (end == s.size() || s[end] == '/') ? ref.size() : 0;
}

struct Loaded {
  std::vector<std::string> names;  // l_libname list, plus l_name
};

class Resolver {
 public:
  Resolver(const RtldRequest& req, const loader::LibraryFiles& fs, RtldResult& out)
      : req_(req), fs_(fs), out_(out) {
    const RtldConfig& c = req.config;
    for (const std::string& h : c.glibc_hwcaps) capstr_.push_back("glibc-hwcaps/" + h + "/");
    std::vector<std::string> temp = c.legacy_hwcap_strings;
    if (!c.platform.empty()) temp.push_back(c.platform);
    temp.push_back("tls");
    size_t cnt = temp.size() < 8 ? temp.size() : 8;
    for (size_t m = (size_t(1) << cnt); m-- > 0;) {
      std::string s;
      for (size_t n = 0; n < cnt; ++n)
        if (m & (size_t(1) << n)) s += temp[n] + "/";
      capstr_.push_back(s);
    }
  }

  // _dl_dst_substitute() for one search-path element or name: nullopt drops the element.
  std::optional<std::string> expand_dst(const std::string& in, int l) const {
    std::string r;
    for (size_t i = 0; i < in.size(); ++i) {
      if (in[i] != '$') {
        r += in[i];
        continue;
      }
      size_t len;
      std::string repl;
      if ((len = is_dst(in, i + 1, "ORIGIN")) != 0) {
        repl = origin(l);
        // In secure mode $ORIGIN is only honoured as the whole first component.
        if (req_.secure && i != 0) return std::nullopt;
      } else if ((len = is_dst(in, i + 1, "PLATFORM")) != 0) {
        repl = req_.config.platform;
      } else if ((len = is_dst(in, i + 1, "LIB")) != 0) {
        repl = req_.config.dst_lib;
      } else {
        r += in[i];
        continue;
      }
      if (repl.empty()) return std::nullopt;
      r += repl;
      i += len;
    }
    return r;
  }

  std::string origin(int l) const {
    if (l == 0) return dirname_of(req_.exe_path);  // _dl_get_origin: /proc/self/exe
    const std::string& n = out_.objects[size_t(l)].l_name;
    return n.empty() || n[0] != '/' ? std::string() : dirname_of(n);
  }

  // fillin_rpath(): split, expand, drop empties after expansion, normalise the trailing
  // slash, drop duplicates within the list.
  std::vector<std::string> path_list(const std::string& spec, const char* seps, int l) const {
    std::vector<std::string> dirs;
    size_t pos = 0;
    while (true) {
      size_t e = spec.find_first_of(seps, pos);
      std::string cp = spec.substr(pos, e == std::string::npos ? std::string::npos : e - pos);
      bool keep = true;
      if (!cp.empty()) {
        std::optional<std::string> x = expand_dst(cp, l);
        if (!x || x->empty()) keep = false;
        else {
          cp = *x;
          while (cp.size() > 1 && cp.back() == '/') cp.pop_back();
          if (cp.back() != '/') cp += '/';
        }
      }
      if (keep) {
        bool dup = false;
        for (const std::string& d : dirs) dup |= d == cp;
        if (!dup) dirs.push_back(cp);
      }
      if (e == std::string::npos) break;
      pos = e + 1;
    }
    return dirs;
  }

  // ---- The allocations ld.so makes while it searches (replayed by sim/rtld_start.cc) ----
  int malloc_ev(uint64_t n, const char* what) {
    RtldEvent e;
    e.kind = RtldEvent::Kind::Malloc;
    e.size = n;
    e.block = next_block_++;
    e.what = what;
    out_.events.push_back(e);
    return e.block;
  }
  void free_ev(int block) {
    if (block < 0) return;
    RtldEvent e;
    e.kind = RtldEvent::Kind::Free;
    e.block = block;
    e.what = "free";
    out_.events.push_back(e);
  }

  // _dl_dst_count(): the DSTs glibc recognises in a string.
  static size_t dst_count(const std::string& in) {
    size_t n = 0;
    for (size_t i = 0; i < in.size(); ++i)
      if (in[i] == '$' && (is_dst(in, i + 1, "ORIGIN") || is_dst(in, i + 1, "PLATFORM") ||
                           is_dst(in, i + 1, "LIB")))
        ++n;
    return n;
  }

  // expand_dynamic_string_token(): strdup without DSTs, else malloc (DL_DST_REQUIRED + 1);
  // for the main map the first DST computes l_origin with _dl_get_origin() (one malloc).
  int dst_string_ev(const std::string& in, int l) {
    size_t cnt = dst_count(in);
    if (cnt == 0) return malloc_ev(in.size() + 1, "expand_dynamic_string_token (strdup)");
    size_t dst_len = 0;
    if (l == 0) {
      std::string o = origin(0);
      if (!main_origin_) {
        main_origin_ = true;
        // _dl_get_origin(): the link of /proc/self/exe up to and with its last slash.
        size_t slash = req_.exe_path.rfind('/');
        if (slash != std::string::npos) malloc_ev(slash + 2, "_dl_get_origin");
      }
      dst_len = o.size();
    } else {
      dst_len = origin(l).size();
    }
    if (req_.config.platform.size() > dst_len) dst_len = req_.config.platform.size();
    if (req_.config.dst_lib.size() > dst_len) dst_len = req_.config.dst_lib.size();
    size_t total = in.size();
    if (dst_len > 4) total += cnt * (dst_len - 4);
    return malloc_ev(total + 1, "expand_dynamic_string_token");
  }

  // fillin_rpath()'s allocations: per element a copy (freed again when it names a known
  // directory), and an r_search_path_elem for each directory new to GL(dl_all_dirs).
  void fillin_ev(const std::string& spec, const char* seps, int l, const std::string* where) {
    size_t pos = 0;
    while (true) {
      size_t e = spec.find_first_of(seps, pos);
      std::string cp = spec.substr(pos, e == std::string::npos ? std::string::npos : e - pos);
      int to_free = -1;
      bool skip = false;
      if (!cp.empty()) {
        to_free = dst_string_ev(cp, l);
        std::optional<std::string> x = expand_dst(cp, l);
        if (!x || x->empty()) {
          free_ev(to_free);
          skip = true;
        } else {
          cp = *x;
          while (cp.size() > 1 && cp.back() == '/') cp.pop_back();
          if (cp.back() != '/') cp += '/';
        }
      }
      if (!skip) {
        if (all_dirs_.count(cp)) {
          free_ev(to_free);
        } else {
          uint64_t where_len = where ? where->size() + 1 : 0;
          malloc_ev(req_.config.sizeof_search_path_elem + ncapstr() * 4 + where_len + cp.size() + 1,
                    "fillin_rpath");
          all_dirs_.insert(cp);
          max_dirnamelen_ = std::max<uint64_t>(max_dirnamelen_, cp.size());
          free_ev(to_free);
        }
      }
      if (e == std::string::npos) break;
      pos = e + 1;
    }
  }

  // decompose_rpath(): copy, result array, the elements, then the (ineffective) frees.
  void decompose_ev(const std::string& rpath, int l) {
    if (rpath.empty()) return;
    int copy = malloc_ev(rpath.size() + 1, "decompose_rpath (strdup)");
    size_t nelems = 0;
    for (char ch : rpath) nelems += ch == ':';
    int result = malloc_ev((nelems + 2) * req_.config.word, "decompose_rpath");
    std::string where = out_.objects[size_t(l)].l_name;
    fillin_ev(rpath, ":", l, &where);
    free_ev(copy);
    if (path_list(rpath, ":", l).empty()) free_ev(result);
  }

  // cache_rpath(): the first use of an object's RPATH or RUNPATH decomposes it.
  void cache_rpath_ev(int l, bool runpath) {
    if (size_t(l) >= rpath_done_.size()) rpath_done_.resize(size_t(l) + 1, 0);
    int bit = runpath ? 2 : 1;
    if (rpath_done_[size_t(l)] & bit) return;
    rpath_done_[size_t(l)] |= bit;
    const RtldObject& o = out_.objects[size_t(l)];
    const std::optional<std::string>& p = runpath ? o.runpath : o.rpath;
    if (p) decompose_ev(*p, l);
  }

  uint64_t ncapstr() const { return capstr_.size(); }

  // _dl_new_object(): the link map (with its libname), then l_origin for a real name.
  void new_object_ev(const std::string& libname, const std::string& realname) {
    const RtldConfig& c = req_.config;
    malloc_ev(c.sizeof_link_map + c.word + c.sizeof_libname_list + libname.size() + 1,
              "_dl_new_object");
    if (realname.empty()) return;
    if (realname[0] == '/') {
      malloc_ev(realname.size() + 1, "_dl_new_object (l_origin)");
    } else {
      // realloc (origin, len += 128) until getcwd fits; only the final size stays.
      uint64_t len = realname.size() + 1;
      do len += 128;
      while (len - (realname.size() + 1) < req_.cwd.size() + 1);
      malloc_ev(len, "_dl_new_object (l_origin, getcwd)");
      out_.notes.push_back("'" + realname + "' is a relative name: its l_origin comes from the "
                           "current directory " + req_.cwd);
    }
  }

  // add_name_to_object(): a libname_list entry unless the name is known.
  void add_name_ev(int i, const std::string& name) {
    for (const std::string& n : loaded_[size_t(i)].names)
      if (n == name) return;
    malloc_ev(req_.config.sizeof_libname_list + name.size() + 1, "add_name_to_object");
    loaded_[size_t(i)].names.push_back(name);
  }

  // _dl_init_paths() and what precedes it in dl_main(): the main and vDSO link maps, the
  // hwcaps tables, the system search directories, the main map's RUNPATH or RPATH and
  // LD_LIBRARY_PATH.
  void init_paths_ev() {
    const RtldConfig& c = req_.config;
    // Both are created before the audit modules are known: DL_NNS (16) auditstate slots.
    uint64_t early =
        c.sizeof_link_map + 16 * c.sizeof_auditstate + c.word + c.sizeof_libname_list + 1;
    malloc_ev(early, "_dl_new_object (main map)");
    if (req_.vdso) malloc_ev(early, "_dl_new_object (setup_vdso)");
    // _dl_important_hwcaps() (Debian's 2.36): priorities, then one block for both the
    // glibc-hwcaps names and the legacy power set.
    // struct dl_hwcaps_priority: two uint32_t and a pointer.
    malloc_ev(c.glibc_hwcaps.size() * (8 + c.word), "compute_priorities");
    uint64_t hw_total = 0;
    for (const std::string& h : c.glibc_hwcaps) hw_total += h.size() + 14;  // "glibc-hwcaps/" + "/"
    std::vector<std::string> temp = c.legacy_hwcap_strings;
    if (!c.platform.empty()) temp.push_back(c.platform);
    temp.push_back("tls");
    size_t cnt = temp.size();
    uint64_t total;
    if (cnt == 1) {
      total = temp[0].size() + 1;
    } else {
      total = temp[0].size() + temp[cnt - 1].size() + 2;
      if (cnt > 2) {
        total <<= 1;
        for (size_t n = 1; n + 1 < cnt; ++n) total += temp[n].size() + 1;
        total <<= (cnt - 3);
      }
    }
    uint64_t sz = c.glibc_hwcaps.size() + (uint64_t(1) << cnt);
    malloc_ev(sz * c.sizeof_strlenpair + total + hw_total, "_dl_important_hwcaps");
    uint64_t nsys = c.system_dirs.size();
    malloc_ev((nsys + 1) * c.word, "_dl_init_paths (search dirs)");
    const uint64_t elem = c.sizeof_search_path_elem;
    uint64_t round_size = (2 * elem - 1 + sz * 4) / elem;
    malloc_ev(nsys * round_size * elem, "_dl_init_paths (search dir elements)");
    for (const std::string& d : c.system_dirs) {
      all_dirs_.insert(d);
      max_dirnamelen_ = std::max<uint64_t>(max_dirnamelen_, d.size());  // SYSTEM_DIRS_MAX_LEN
    }
    const RtldObject& m = out_.objects[0];
    if (m.runpath) cache_rpath_ev(0, true);
    else if (m.rpath) cache_rpath_ev(0, false);
    if (req_.ld_library_path && !req_.ld_library_path->empty() && !req_.secure) {
      const std::string& llp = *req_.ld_library_path;
      size_t nllp = 1;
      for (char ch : llp) nllp += ch == ':' || ch == ';';
      int arr = malloc_ev((nllp + 1) * c.word, "_dl_init_paths (LD_LIBRARY_PATH)");
      fillin_ev(llp, ":;", 0, nullptr);
      if (path_list(llp, ":;", 0).empty()) free_ev(arr);
    }
  }

  // open_verify() on one candidate. 1 = found, 0 = keep searching, -1 = fatal error.
  int try_open(const std::string& path, std::unique_ptr<loader::ExecFile>* f,
               loader::DynInfo* d, std::string* err) const {
    int e = 0;
    std::unique_ptr<loader::ExecFile> file = fs_.open_library(path, &e);
    if (!file) return 0;
    loader::DynInfo info = loader::read_dyn_info(*file, req_.config.elf_class);
    if (info.verify == loader::DynInfo::Verify::OtherClass ||
        info.verify == loader::DynInfo::Verify::OtherMachine)
      return 0;
    if (info.verify == loader::DynInfo::Verify::Fatal) {
      *err = path + ": " + info.error;
      return -1;
    }
    *f = std::move(file);
    *d = std::move(info);
    return 1;
  }

  // open_path(): every directory, each with its hwcaps subdirectories first.
  int open_path(const std::string& name, const std::vector<std::string>& dirs,
                std::string* realname, std::string* dir, std::unique_ptr<loader::ExecFile>* f,
                loader::DynInfo* d, std::string* err) const {
    searched_ = true;
    for (const std::string& dd : dirs)
      for (const std::string& cap : capstr_) {
        std::string p = dd + cap + name;
        int r = try_open(p, f, d, err);
        if (r != 0) {
          *realname = p;
          *dir = dd + cap;
          return r;
        }
      }
    return 0;
  }

  // _dl_map_object's scan of the loaded objects (a SONAME match adds the name, and
  // allocates for it, as add_name_to_object does).
  int find_by_name(const std::string& name) {
    for (size_t i = 0; i < out_.objects.size(); ++i) {
      const RtldObject& o = out_.objects[i];
      if (o.via == FoundVia::NotFound || o.via == FoundVia::Error) continue;
      if (!o.l_name.empty() && o.l_name == name) return int(i);
      for (const std::string& n : loaded_[i].names)
        if (n == name) return int(i);
      // _dl_map_object: a DT_SONAME equal to the name matches (and is added to the names).
      if (o.soname && *o.soname == name) {
        add_name_ev(int(i), name);
        return int(i);
      }
    }
    return -1;
  }

  int add(RtldObject o, std::vector<std::string> names) {
    out_.objects.push_back(std::move(o));
    loaded_.push_back(Loaded{std::move(names)});
    return int(out_.objects.size() - 1);
  }

  // _dl_map_object(loader, name): returns the object's index; a new entry is appended for
  // a fresh load, a failed search or an error.
  int map_object(int loader, const std::string& name, bool preload) {
    int hit = find_by_name(name);
    if (hit >= 0) return hit;
    if (out_.objects.size() >= kMaxObjects) {
      out_.ok = false;
      out_.error = "more than " + std::to_string(kMaxObjects) + " objects";
      return -1;
    }
    std::unique_ptr<loader::ExecFile> f;
    loader::DynInfo d;
    std::string realname, dir, err;
    FoundVia via = FoundVia::NotFound;
    searched_ = false;
    int r = 0;
    const RtldConfig& c = req_.config;
    int realname_block = -1;
    if (name.find('/') != std::string::npos) {
      // expand_dynamic_string_token (loader, name), or a plain strdup without a loader.
      realname_block = dst_string_ev(name, loader >= 0 ? loader : 0);
      std::optional<std::string> x = expand_dst(name, loader);
      if (x) {
        r = try_open(*x, &f, &d, &err);
        realname = *x;
        via = preload ? FoundVia::Preload : FoundVia::Path;
      }
      if (r == 0) free_ev(realname_block);
    } else {
      const RtldObject* ld = loader >= 0 ? &out_.objects[size_t(loader)] : nullptr;
      // "When the object has the RUNPATH information we don't use any RPATHs."
      if (!ld || !ld->runpath) {
        bool did_main = false;
        for (int l = loader; l >= 0 && r == 0; l = out_.objects[size_t(l)].loader) {
          const RtldObject& o = out_.objects[size_t(l)];
          if (!o.rpath || o.runpath) continue;
          cache_rpath_ev(l, false);
          if (path_list(*o.rpath, ":", l).empty()) continue;
          r = open_path(name, path_list(*o.rpath, ":", l), &realname, &dir, &f, &d, &err);
          did_main |= l == 0;
        }
        const RtldObject& m = out_.objects[0];
        if (r == 0 && !did_main && m.rpath && !m.runpath)
          r = open_path(name, path_list(*m.rpath, ":", 0), &realname, &dir, &f, &d, &err);
        if (r != 0) via = FoundVia::RPath;
      }
      if (r == 0 && req_.ld_library_path && !req_.secure) {
        // _dl_init_paths: LD_LIBRARY_PATH is split at ':' and ';', DSTs relative to main.
        r = open_path(name, path_list(*req_.ld_library_path, ":;", 0), &realname, &dir, &f,
                      &d, &err);
        if (r != 0) via = FoundVia::LdLibraryPath;
      }
      if (r == 0 && ld && ld->runpath) {
        cache_rpath_ev(loader, true);
        r = open_path(name, path_list(*ld->runpath, ":", loader), &realname, &dir, &f, &d,
                      &err);
        if (r != 0) via = FoundVia::RunPath;
      }
      if (r != 0) realname_block = malloc_ev(realname.size() + 1, "open_path (realname)");
      int lflags = loader >= 0 ? loader : 0;
      bool nodeflib = out_.objects[size_t(lflags)].dyn.flags_1 & loader::DF_1_NODEFLIB;
      if (r == 0 && cache_file_) {
        if (!cache_mapped_) {
          cache_mapped_ = true;
          RtldEvent e;
          e.kind = RtldEvent::Kind::MapCache;
          e.size = cache_file_->size();
          e.what = "_dl_load_cache_lookup (_dl_sysdep_read_whole_file)";
          out_.events.push_back(e);
        }
      }
      if (r == 0 && cache_) {
        std::string cached = ld_cache_lookup(*cache_, name, c);
        int cblock = cached.empty() ? -1 : malloc_ev(cached.size() + 1, "_dl_load_cache_lookup (strdup)");
        if (!cached.empty() && nodeflib)
          for (const std::string& sd : c.system_dirs)
            if (cached.compare(0, sd.size(), sd) == 0) {
              cached.clear();
              free_ev(cblock);
              break;
            }
        if (!cached.empty()) {
          r = try_open(cached, &f, &d, &err);
          if (r != 0) {
            realname = cached;
            realname_block = cblock;
            dir = dirname_of(cached) + "/";
            via = FoundVia::LdSoCache;
          } else {
            free_ev(cblock);
          }
        }
      }
      if (r == 0 && !nodeflib) {
        r = open_path(name, c.system_dirs, &realname, &dir, &f, &d, &err);
        if (r != 0) {
          via = FoundVia::DefaultDir;
          realname_block = malloc_ev(realname.size() + 1, "open_path (realname)");
        }
      }
    }
    RtldObject o;
    o.libname = name;
    o.loader = loader;
    if (r == 0) {
      o.via = FoundVia::NotFound;
      o.error = "cannot open shared object file: No such file or directory";
      return add(std::move(o), {name});
    }
    if (r < 0) {
      o.via = FoundVia::Error;
      o.error = err;
      return add(std::move(o), {name});
    }
    // _dl_map_object_from_fd: "Look again to see if the real name matched another already
    // loaded" (same device and inode).
    const loader::FileIdentity& id = f->identity();
    for (size_t i = 0; i < out_.objects.size(); ++i) {
      const RtldObject& e = out_.objects[i];
      if (e.via == FoundVia::NotFound || e.via == FoundVia::Error) continue;
      if (e.id.inode == id.inode && e.id.dev_major == id.dev_major &&
          e.id.dev_minor == id.dev_minor && e.id.inode != 0) {
        free_ev(realname_block);
        add_name_ev(int(i), name);
        return int(i);
      }
    }
    o.l_name = realname;
    o.id = id;
    o.file_size = f->size();
    o.open_path_dirnamelen = searched_ ? max_dirnamelen_ : 0;
    o.via = via;
    o.search_dir = dir;
    o.syms = loader::read_symbol_facts(*f, d);
    fill(o, std::move(d));
    new_object_ev(name, realname);
    int idx = add(std::move(o), {name});
    RtldEvent e;
    e.kind = RtldEvent::Kind::MapObject;
    e.object = idx;
    e.what = "_dl_map_object_from_fd (_dl_map_segments)";
    out_.events.push_back(e);
    return idx;
  }

  static void fill(RtldObject& o, loader::DynInfo d) {
    o.needed = d.needed;
    o.soname = d.soname;
    // elf_get_dynamic_info: "If both RUNPATH and RPATH are given, the latter is ignored."
    o.runpath = d.runpath;
    if (!d.runpath) o.rpath = d.rpath;
    o.has_init = d.has_init;
    o.has_init_array = d.has_init_array;
    o.has_preinit_array = d.has_preinit_array;
    o.dyn = std::move(d);
  }

  void run(const loader::ExecFile& exe, const loader::ExecFile* interp) {
    std::vector<uint8_t> bytes;
    if (fs_.read_whole(req_.config.ld_so_cache, loader::kMaxLdCacheSize, &bytes)) {
      loader::LdCache c = loader::parse_ld_cache(bytes);
      if (c.valid) cache_ = std::move(c);
      else out_.notes.push_back("ld.so.cache not used: " + c.error);
    }
    {
      int e = 0;
      cache_file_ = fs_.open_library(req_.config.ld_so_cache, &e);
      if (cache_file_ && cache_file_->size() == 0) cache_file_.reset();
      if (cache_file_) {
        out_.cache_valid = cache_.has_value();
        out_.cache_id = cache_file_->identity();
      }
    }
    // The main map (l_name "") and, already in the namespace, ld.so itself.
    RtldObject m;
    m.via = FoundVia::Main;
    m.id = exe.identity();
    loader::DynInfo md = loader::read_dyn_info(exe, req_.config.elf_class);
    m.syms = loader::read_symbol_facts(exe, md);
    fill(m, std::move(md));
    add(std::move(m), {""});
    int interp_slot = -1;
    RtldObject rt;
    if (interp) {
      rt.libname = req_.interp;
      rt.l_name = req_.interp;
      rt.via = FoundVia::Interp;
      rt.id = interp->identity();
      fill(rt, loader::read_dyn_info(*interp, req_.config.elf_class));
      rt.needed.clear();  // rtld's own dependencies are not walked
      // Kept aside so that it takes its place in load order where first needed.
      interp_slot = 0;
    }
    pending_interp_ = interp ? &rt : nullptr;
    init_paths_ev();

    // dl_main: LD_PRELOAD (separators " :"), then /etc/ld.so.preload (" \t\n:", '#' comments).
    std::vector<int> queue = {0};
    std::vector<bool> queued(1, true);
    auto enqueue = [&](int i) {
      if (i < 0) return;
      if (size_t(i) >= queued.size()) queued.resize(size_t(i) + 1, false);
      if (!queued[size_t(i)]) {
        queued[size_t(i)] = true;
        queue.push_back(i);
      }
    };
    auto preload_list = [&](const std::string& s, const char* seps) {
      size_t pos = 0;
      while (pos <= s.size()) {
        size_t e = s.find_first_of(seps, pos);
        std::string n = s.substr(pos, e == std::string::npos ? std::string::npos : e - pos);
        if (!n.empty() && !(req_.secure && n.find('/') != std::string::npos)) {
          int i = map_lib(0, n, /*preload=*/true);
          if (i >= 0 && out_.objects[size_t(i)].via != FoundVia::NotFound &&
              out_.objects[size_t(i)].via != FoundVia::Error)
            enqueue(i);
          else if (i >= 0) out_.notes.push_back("object '" + n + "' cannot be preloaded: ignored");
        }
        if (e == std::string::npos) break;
        pos = e + 1;
      }
    };
    if (req_.ld_preload) preload_list(*req_.ld_preload, " :");
    if (fs_.read_whole(req_.config.ld_so_preload, kMaxPreloadFile, &bytes)) {
      std::string s(bytes.begin(), bytes.end()), t;
      bool comment = false;
      for (char ch : s) {
        if (ch == '#') comment = true;
        if (ch == '\n') comment = false;
        t += comment ? ' ' : ch;
      }
      preload_list(t, " \t\n:");
    }
    // _dl_map_object_deps: breadth first over the search list.
    uint64_t scratch_len = 1024;  // struct scratch_buffer's on-stack space
    int scratch_block = -1;
    for (size_t qi = 0; qi < queue.size() && out_.ok; ++qi) {
      int cur = queue[qi];
      std::vector<std::string> needed = out_.objects[size_t(cur)].needed;
      std::vector<int> deps;
      // A `needed' array for every object but the main map and ld.so (whose l_ldnum is 0).
      bool has_needed_array = cur != 0 && cur != out_.interp_index &&
                              out_.objects[size_t(cur)].dyn.ldnum > 0;
      if (has_needed_array) {
        uint64_t want = out_.objects[size_t(cur)].dyn.ldnum * req_.config.word;
        if (want > scratch_len) {  // scratch_buffer_set_array_size()
          free_ev(scratch_block);
          scratch_block = malloc_ev(want, "_dl_map_object_deps (scratch_buffer)");
          scratch_len = want;
        }
      }
      for (const std::string& n : needed) {
        int i = map_lib(cur, n, /*preload=*/false);
        deps.push_back(i);
        if (i < 0) break;
        RtldObject& o = out_.objects[size_t(i)];
        if (o.via == FoundVia::NotFound || o.via == FoundVia::Error) {
          if (out_.ok) {
            out_.ok = false;
            out_.error = n + ": " + o.error;
          }
          continue;
        }
        enqueue(i);
      }
      out_.objects[size_t(cur)].deps = deps;
      if (has_needed_array && out_.ok)
        malloc_ev((2 * (needed.size() + 1) + 1) * req_.config.word,
                  "_dl_map_object_deps (l_initfini)");
    }
    free_ev(scratch_block);
    out_.searchlist = queue;
    if (out_.ok)
      malloc_ev((2 * queue.size() + 1) * req_.config.word, "_dl_map_object_deps (searchlist)");
    if (pending_interp_) {
      out_.interp_index = int(out_.objects.size());
      add(std::move(*pending_interp_), interp_names());
      pending_interp_ = nullptr;
    }
    (void)interp_slot;
  }

  std::vector<std::string> interp_names() const {
    std::vector<std::string> n = {req_.interp};
    if (pending_interp_ && pending_interp_->soname) n.push_back(*pending_interp_->soname);
    return n;
  }

  // map_object, with ld.so placed in load order the first time a name or file matches it.
  int map_lib(int loader, const std::string& name, bool preload) {
    if (pending_interp_) {
      const RtldObject& rt = *pending_interp_;
      bool match = name == rt.l_name || (rt.soname && *rt.soname == name);
      if (!match && name.find('/') == std::string::npos) match = false;
      if (match) {
        out_.interp_index = int(out_.objects.size());
        int i = add(std::move(*pending_interp_), interp_names());
        pending_interp_ = nullptr;
        out_.objects[size_t(i)].via = FoundVia::Interp;
        return i;
      }
    }
    int i = map_object(loader, name, preload);
    // A search that opened ld.so's own file by another name.
    if (pending_interp_ && i >= 0) {
      RtldObject& o = out_.objects[size_t(i)];
      const loader::FileIdentity& a = o.id;
      const loader::FileIdentity& b = pending_interp_->id;
      if (o.via != FoundVia::NotFound && o.via != FoundVia::Error && a.inode == b.inode &&
          a.dev_major == b.dev_major && a.dev_minor == b.dev_minor && size_t(i) + 1 == out_.objects.size()) {
        out_.objects.pop_back();
        loaded_.pop_back();
        out_.interp_index = int(out_.objects.size());
        std::vector<std::string> names = interp_names();
        names.push_back(name);
        i = add(std::move(*pending_interp_), names);
        pending_interp_ = nullptr;
      }
    }
    return i;
  }

 private:
  const RtldRequest& req_;
  const loader::LibraryFiles& fs_;
  RtldResult& out_;
  std::vector<std::string> capstr_;
  std::vector<Loaded> loaded_;
  std::optional<loader::LdCache> cache_;
  std::unique_ptr<loader::ExecFile> cache_file_;
  bool cache_mapped_ = false;
  RtldObject* pending_interp_ = nullptr;
  int next_block_ = 0;
  bool main_origin_ = false;
  std::vector<int> rpath_done_;
  std::set<std::string> all_dirs_;
  // elf/dl-load.c max_dirnamelen: the longest search directory (with its '/') decomposed so
  // far; open_path() alloca's a buffer of about that size plus the name.
  uint64_t max_dirnamelen_ = 0;
  mutable bool searched_ = false;  // open_path() ran for the lookup in progress
};

}  // namespace

const char* found_via_name(FoundVia v) {
  switch (v) {
    case FoundVia::Main: return "main program";
    case FoundVia::Interp: return "interpreter";
    case FoundVia::Preload: return "preload";
    case FoundVia::AlreadyLoaded: return "already loaded";
    case FoundVia::Path: return "path";
    case FoundVia::RPath: return "RPATH";
    case FoundVia::LdLibraryPath: return "LD_LIBRARY_PATH";
    case FoundVia::RunPath: return "RUNPATH";
    case FoundVia::LdSoCache: return "ld.so.cache";
    case FoundVia::DefaultDir: return "default dir";
    case FoundVia::NotFound: return "not found";
    case FoundVia::Error: return "error";
  }
  return "?";
}

std::string ld_cache_lookup(const loader::LdCache& c, const std::string& name,
                            const RtldConfig& cfg) {
  // search_cache() (glibc 2.36): binary search by _dl_cache_libcmp, back up to the first
  // entry with this name, then walk the run; glibc-hwcaps entries (listed first) compete by
  // priority, the first plain entry with the ABI's own flags (_DL_CACHE_DEFAULT_ID) ends the
  // walk.
  const std::vector<loader::LdCacheEntry>& libs = c.entries;
  uint64_t hwcap_exclude = ~(cfg.hwcap_masked | (1ull << 63) /*_DL_HWCAP_TLS_MASK*/);
  int64_t left = 0, right = int64_t(libs.size()) - 1;
  std::string best;
  bool have_best = false;
  uint32_t best_priority = 0;
  while (left <= right) {
    int64_t middle = (left + right) / 2;
    if (!libs[size_t(middle)].key_ok) return "";
    int cmpres = loader::ld_cache_libcmp(name, libs[size_t(middle)].key);
    if (cmpres == 0) {
      left = middle;
      while (middle > 0) {
        const loader::LdCacheEntry& prev = libs[size_t(middle - 1)];
        if (!prev.key_ok || loader::ld_cache_libcmp(name, prev.key) != 0) break;
        --middle;
      }
      do {
        const loader::LdCacheEntry& lib = libs[size_t(middle)];
        if (middle > left && (!lib.key_ok || loader::ld_cache_libcmp(name, lib.key) != 0))
          break;
        if (!lib.value_ok) continue;
        if (lib.flags != cfg.cache_flags && !(cfg.cache_accepts_flag_elf && lib.flags == 1))
          continue;
        bool named_hwcap = false;
        if (c.is_new) {
          named_hwcap = (lib.hwcap >> 32) == (loader::kLdCacheHwcapExtension >> 32);
          if (!named_hwcap && have_best) break;
          if ((lib.hwcap & hwcap_exclude) && !named_hwcap) continue;
          if (named_hwcap) {
            // glibc_hwcaps_priority(): the position among the supported subdirectories.
            uint32_t idx = uint32_t(lib.hwcap);
            uint32_t prio = 0;
            if (idx < c.hwcaps_names.size())
              for (size_t k = 0; k < cfg.glibc_hwcaps.size(); ++k)
                if (cfg.glibc_hwcaps[k] == c.hwcaps_names[idx]) prio = uint32_t(k + 1);
            if (prio == 0) continue;
            if (!have_best || prio < best_priority) {
              best = lib.value;
              have_best = true;
              best_priority = prio;
            }
            continue;
          }
        }
        best = lib.value;
        have_best = true;
        if (lib.flags == cfg.cache_flags) break;
      } while (++middle <= right);
      break;
    }
    if (cmpres < 0) left = middle + 1;
    else right = middle - 1;
  }
  return have_best ? best : "";
}

RtldConfig rtld_config_i386() {
  RtldConfig c;
  // SYSTEM_DIRS of Debian's i386 multilib build (slibdir=/lib32, libdir=/usr/lib32), as the
  // string table in its ld-linux.so.2 holds it: "/lib32/\0/usr/lib32/\0/lib/\0/usr/lib/".
  c.system_dirs = {"/lib32/", "/usr/lib32/", "/lib/", "/usr/lib/"};
  c.dst_lib = "lib32";
  c.platform = "i686";
  // sysdeps/i386 has no glibc-hwcaps subdirectories (the generic dl-hwcaps-subdirs.c);
  // init_cpu_features() sets dl_hwcap to HWCAP_X86_SSE2 on any x86_64 CPU.
  c.glibc_hwcaps = {};
  c.legacy_hwcap_strings = {"sse2"};
  c.hwcap_masked = 1;
  c.sizeof_link_map = 640;
  c.sizeof_pthread = 1216;
  c.elf_class = elf::ElfClass::Elf32;
  c.word = 4;
  c.phent = 32;
  c.sizeof_libname_list = 12;
  c.sizeof_auditstate = 8;
  c.sizeof_strlenpair = 8;
  c.sizeof_search_path_elem = 20;
  c.sizeof_found_version = 16;
  c.sizeof_unique_sym = 16;
  c.sizeof_dlfo = 20;  // i386 keeps eh_dbase too (DLFO_STRUCT_HAS_EH_DBASE)
  c.cache_flags = 0x0003;  // FLAG_ELF_LIBC6
  c.cache_accepts_flag_elf = true;
  // Debian 12's i386 ld-linux.so.2, measured like x86_64's in qemu (6.12 kernel): a program
  // without DT_NEEDED 2376; libc.so.6 (12 headers, in the buffer) 3840; libm then libc 3872;
  // libraries with 6 to 36 headers past the buffer 3888-5680. FILEBUF_SIZE is 512 for
  // 32-bit ELF, struct loadcmd 28 bytes. Its path search (open_path) is not measured.
  c.stack_use = RtldConfig::StackUse{};
  c.stack_use->bare = 2376;
  c.stack_use->map_base = 3504;
  c.stack_use->list_entry = 32;
  c.stack_use->loadcmd = 28;
  c.stack_use->filebuf = 512;
  c.stack_use->search_base.reset();
  return c;
}

RtldResult resolve_libraries(const RtldRequest& req, const loader::ExecFile& exe,
                             const loader::ExecFile* interp, const loader::LibraryFiles& fs) {
  RtldResult out;
  Resolver r(req, fs, out);
  r.run(exe, interp);
  return out;
}

}  // namespace execmap::sim
