// The --ops script: parsing (the contract in README "Memory operations") and the file
// mappings it opens.
#pragma once

#include <string>
#include <vector>

#include "sim/exec.h"
#include "sim/mm_ops.h"

namespace execmap::cli {

// Parses FILE into operations. Files named by mmap lines are resolved relative to the
// script's directory and added to r.files (one vm_file instance per mmap, as each mmap
// opens the file anew). Returns false with *err = "FILE:LINE: reason" on a syntax error.
bool parse_ops_file(const std::string& path, sim::ExecResult& r, std::vector<sim::MemOp>* ops,
                    std::string* err);

}  // namespace execmap::cli
