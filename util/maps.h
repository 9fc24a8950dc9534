// /proc/PID/maps lines: the one parser (for the kernel's output, captures, students' snapshots
// and fuzz input alike) and the one printer, both following show_map_vma() (fs/proc/task_mmu.c).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace execmap::util {

// One line of /proc/PID/maps, field by field.
struct MapsLine {
  uint64_t start = 0, end = 0;  // [start, end), start < end
  std::string perms;            // "r-xp": [r-][w-][x-][ps]
  uint64_t offset = 0;          // vm_pgoff << PAGE_SHIFT, in bytes
  uint32_t dev_major = 0, dev_minor = 0;
  uint64_t inode = 0;  // 0 for anonymous and special mappings
  std::string path;    // "/usr/bin/ls", "[stack]", "[vdso]", or "" (anonymous)

  uint32_t prot() const;  // util::kProtRead | kProtWrite | kProtExec, from perms
  bool shared() const;    // perms[3] == 's'
};
bool operator==(const MapsLine& a, const MapsLine& b);
inline bool operator!=(const MapsLine& a, const MapsLine& b) { return !(a == b); }

// The column show_vma_header_prefix() pads a line to before its name:
// seq_setwidth(m, 25 + sizeof(void *) * 6 - 1) with the kernel's 8-byte pointers.
constexpr size_t kMapsNameColumn = 25 + 8 * 6 - 1;

// Parses one line (without its '\n'). Fields are separated by runs of blanks, as the kernel's
// padding leaves them; the path is the rest of the line after the blanks that follow the
// inode, kept byte for byte (it may hold spaces). Every number has a bounded width (16 hex
// digits for addresses and the offset, 8 for each device number, 20 decimal for the inode),
// the permissions must be four valid letters and start < end; anything else is rejected
// with false, never undefined behaviour, whatever the bytes.
bool parse_maps_line(std::string_view line, MapsLine* out);
// Every line of a maps text that parse_maps_line() accepts, in order; others are skipped.
std::vector<MapsLine> parse_maps(std::string_view text);

// The line as the kernel prints it, without the newline: zero-padded hex fields, then for a
// named mapping spaces to kMapsNameColumn, one more space and the name; an anonymous line ends
// in one space. parse_maps_line(format_maps_line(m)) == m for every line the parser returns.
std::string format_maps_line(const MapsLine& m);
// The whole text: each line printed by format_maps_line() and ended by '\n'.
std::string format_maps(const std::vector<MapsLine>& lines);

}  // namespace execmap::util
