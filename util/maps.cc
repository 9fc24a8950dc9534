// The /proc/PID/maps line parser and printer (see maps.h).
#include "util/maps.h"

#include <cstdio>

#include "util/format.h"

namespace execmap::util {

namespace {

// The separators sscanf("%s") would skip, except the newline that ends a line.
bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

// Reads the run of non-blank bytes at *at and the blanks after it.
std::string_view next_field(std::string_view line, size_t* at) {
  size_t begin = *at, end = begin;
  while (end < line.size() && !is_blank(line[end])) ++end;
  size_t next = end;
  while (next < line.size() && is_blank(line[next])) ++next;
  *at = next;
  return line.substr(begin, end - begin);
}

bool parse_perms(std::string_view s) {
  uint32_t prot;
  return s.size() == 4 && parse_rwx(s.substr(0, 3), &prot) && (s[3] == 'p' || s[3] == 's');
}

bool parse_dev(std::string_view s, uint32_t* major, uint32_t* minor) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view maj = s.substr(0, colon), min = s.substr(colon + 1);
  uint64_t a, b;
  if (maj.size() > 8 || min.size() > 8 || !parse_hex_u64(maj, &a) || !parse_hex_u64(min, &b))
    return false;
  *major = static_cast<uint32_t>(a);
  *minor = static_cast<uint32_t>(b);
  return true;
}

}  // namespace

uint32_t MapsLine::prot() const {
  uint32_t p = 0;
  if (perms.size() < 3 || !parse_rwx(std::string_view(perms).substr(0, 3), &p)) return 0;
  return p;
}

bool MapsLine::shared() const { return perms.size() == 4 && perms[3] == 's'; }

bool operator==(const MapsLine& a, const MapsLine& b) {
  return a.start == b.start && a.end == b.end && a.perms == b.perms && a.offset == b.offset &&
         a.dev_major == b.dev_major && a.dev_minor == b.dev_minor && a.inode == b.inode &&
         a.path == b.path;
}

bool parse_maps_line(std::string_view line, MapsLine* out) {
  size_t at = 0;
  while (at < line.size() && is_blank(line[at])) ++at;
  std::string_view range = next_field(line, &at);
  std::string_view perms = next_field(line, &at);
  std::string_view offset = next_field(line, &at);
  std::string_view dev = next_field(line, &at);
  std::string_view inode = next_field(line, &at);  // the name, if any, starts at `at`

  MapsLine m;
  size_t dash = range.find('-');
  if (dash == std::string_view::npos || !parse_hex_u64(range.substr(0, dash), &m.start) ||
      !parse_hex_u64(range.substr(dash + 1), &m.end) || m.start >= m.end)
    return false;
  if (!parse_perms(perms) || !parse_hex_u64(offset, &m.offset) ||
      !parse_dev(dev, &m.dev_major, &m.dev_minor) || !parse_dec_u64(inode, &m.inode))
    return false;
  m.perms = std::string(perms);
  m.path = std::string(line.substr(at));
  *out = std::move(m);
  return true;
}

std::vector<MapsLine> parse_maps(std::string_view text) {
  std::vector<MapsLine> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    MapsLine m;
    if (parse_maps_line(text.substr(pos, eol - pos), &m)) out.push_back(std::move(m));
    pos = eol + 1;
  }
  return out;
}

std::string format_maps_line(const MapsLine& m) {
  // show_vma_header_prefix(): seq_put_hex_ll(..., 8) pads each hex field to at least 8
  // digits, the device numbers to 2.
  char head[48], tail[64];
  std::snprintf(head, sizeof head, "%08llx-%08llx ", (unsigned long long)m.start,
                (unsigned long long)m.end);
  std::snprintf(tail, sizeof tail, " %08llx %02x:%02x %llu ", (unsigned long long)m.offset,
                m.dev_major, m.dev_minor, (unsigned long long)m.inode);
  std::string line = head;
  line += m.perms;
  line += tail;
  // show_map_vma(): seq_pad(m, ' ') before a name only.
  if (!m.path.empty()) {
    if (line.size() < kMapsNameColumn) line.append(kMapsNameColumn - line.size(), ' ');
    line += ' ';
    line += m.path;
  }
  return line;
}

std::string format_maps(const std::vector<MapsLine>& lines) {
  std::string out;
  for (const MapsLine& m : lines) {
    out += format_maps_line(m);
    out += '\n';
  }
  return out;
}

}  // namespace execmap::util
