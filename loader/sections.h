// Bounded, validated section-header reading for the richer views (which sections lie in
// which mapping). Never on the layout path; safe on any file the exec checks accepted.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "loader/exec_file.h"

namespace execmap::loader {

struct Section {
  std::string name;
  uint32_t type = 0;
  uint64_t flags = 0, addr = 0, offset = 0, size = 0;
};

// Reads the SHF_ALLOC sections. Returns an empty list (and *why) on anything malformed; a
// damaged section table only costs the annotation, never the layout.
std::vector<Section> read_alloc_sections(const ExecFile& f, std::string* why);

}  // namespace execmap::loader
