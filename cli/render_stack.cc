// Stack views: an annotated dump from high addresses to low, and JSON with the exact bytes.
#include <algorithm>
#include <cstdio>

#include "sim/target.h"
#include "cli/options.h"
#include "cli/render.h"
#include "loader/elf_defs.h"

namespace execmap::cli {
namespace {

std::string quote(const std::string& s, size_t max = 60) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    unsigned char c = s[i];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += char(c);
    } else {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    }
  }
  if (s.size() > max) out += "...";
  return out + "\"";
}

// The bytes [off, off + n) of img that it holds.
std::string hex_bytes(const std::vector<uint8_t>& img, uint64_t off, uint64_t n) {
  if (off >= img.size()) return "";
  return util::hex_bytes(img.data() + off, size_t(std::min<uint64_t>(n, img.size() - off)));
}

uint64_t le64(const std::vector<uint8_t>& img, uint64_t off) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | img[off + i];
  return v;
}

}  // namespace

std::string render_stack_text(const sim::ExecResult& r) {
  const auto& st = r.stack;
  std::string out = "target: " + target_text(r) + "\n";
  char buf[320];
  std::snprintf(buf, sizeof buf, "initial stack of %s: sp %s, [stack] ends %s (%llu bytes in use)\n",
                r.objects.empty() ? "?" : r.objects[0].id.path.c_str(), hex(st.sp).c_str(),
                hex(st.end).c_str(), (unsigned long long)(st.end - st.sp));
  out += buf;
  std::snprintf(buf, sizeof buf, "%-16s %7s  %-22s %s\n", "ADDRESS", "BYTES", "WHAT", "VALUE");
  out += buf;
  std::snprintf(buf, sizeof buf, "%-16s %7s  %-22s\n", hex(st.end).c_str(), "", "---- end of [stack] ----");
  out += buf;
  for (size_t i = st.items.size(); i-- > 0;) {
    const auto& it = st.items[i];
    uint64_t off = it.addr - st.sp;
    std::string value;
    switch (it.kind) {
      case sim::StackItem::Kind::ArgString:
      case sim::StackItem::Kind::EnvString:
      case sim::StackItem::Kind::ExecFn:
      case sim::StackItem::Kind::Platform:
        value = quote(std::string(reinterpret_cast<const char*>(st.image.data() + off),
                                  it.size ? it.size - 1 : 0));
        break;
      case sim::StackItem::Kind::Random:
        value = hex_bytes(st.image, off, 16) + " (random; not predictable)";
        break;
      case sim::StackItem::Kind::Padding:
      case sim::StackItem::Kind::EndMarker:
        value = "zero";
        break;
      case sim::StackItem::Kind::Argc:
        value = std::to_string(le64(st.image, off));
        break;
      case sim::StackItem::Kind::Null:
        value = "NULL";
        break;
      case sim::StackItem::Kind::ArgvPtr:
      case sim::StackItem::Kind::EnvpPtr:
        value = "-> " + hex(le64(st.image, off));
        break;
      case sim::StackItem::Kind::Auxv: {
        uint64_t type = le64(st.image, off), v = le64(st.image, off + 8);
        value = "id " + std::to_string(type) + " = " + hex(v);
        if (type == elf::AT_PAGESZ || type == elf::AT_PHENT || type == elf::AT_PHNUM ||
            type == elf::AT_CLKTCK || type == elf::AT_MINSIGSTKSZ || type == elf::AT_UID ||
            type == elf::AT_EUID || type == elf::AT_GID || type == elf::AT_EGID ||
            type == elf::AT_RSEQ_FEATURE_SIZE || type == elf::AT_RSEQ_ALIGN)
          value = "id " + std::to_string(type) + " = " + std::to_string(v);
        break;
      }
    }
    std::snprintf(buf, sizeof buf, "%-16s %7llu  %-22s ", hex(it.addr).c_str(),
                  (unsigned long long)it.size, it.label.c_str());
    out += buf;
    out += value;
    out += '\n';
  }
  std::snprintf(buf, sizeof buf, "%-16s %7s  %-22s\n", hex(st.sp).c_str(), "", "<- sp at entry (16-byte aligned)");
  out += buf;
  return out;
}

nlohmann::json stack_json(const sim::ExecResult& r) {
  const auto& st = r.stack;
  nlohmann::json j;
  j["sp"] = hex(st.sp);
  j["end"] = hex(st.end);
  j["image"] = hex_bytes(st.image, 0, st.image.size());
  j["argc"] = st.argc;
  nlohmann::json argv = nlohmann::json::array(), envp = nlohmann::json::array(),
                 auxv = nlohmann::json::array();
  for (size_t i = 0; i < st.argv_ptrs.size(); ++i)
    argv.push_back({{"addr", hex(st.argv_ptrs[i])}, {"value", st.argv[i]}});
  for (size_t i = 0; i < st.envp_ptrs.size(); ++i)
    envp.push_back({{"addr", hex(st.envp_ptrs[i])}, {"value", st.envp[i]}});
  for (const auto& e : st.auxv)
    auxv.push_back({{"type", elf::at_name(e.type)}, {"id", e.type}, {"value", hex(e.value)}});
  j["argv"] = argv;
  j["envp"] = envp;
  j["auxv"] = auxv;
  j["at_random"] = hex(st.at_random);
  j["at_random_bytes"] = hex_bytes(st.image, st.at_random - st.sp, 16);
  j["platform"] = st.platform ? nlohmann::json(hex(st.platform)) : nlohmann::json(nullptr);
  j["execfn"] = hex(st.execfn);
  j["mm"] = mm_json(r.mm);
  j["profile"] = profile_json(r.profile, r.host);
  j["target"] = target_json(r);
  return j;
}

}  // namespace execmap::cli
