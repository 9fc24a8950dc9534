// What ld.so's relocation of an object touches in its dynamic symbol table, reduced to what
// changes the address space before the entry point: STB_GNU_UNIQUE symbols. Resolving one
// enters it in rtld's unique-symbol table (elf/dl-lookup.c do_lookup_unique), which the
// minimal malloc allocates and regrows. Bounded, checked reads of untrusted files.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "loader/dyn_info.h"

namespace execmap::loader {

struct SymbolFacts {
  bool ok = false;                         // the tables could be read
  std::vector<std::string> unique_defined;  // defined here with STB_GNU_UNIQUE
  std::unordered_set<uint64_t> defined;     // name hashes of defined global/weak/unique symbols
  std::unordered_set<uint64_t> referenced;  // name hashes of symbols named by relocations
};

// 64-bit FNV-1a of a symbol name (set membership only).
uint64_t symbol_name_hash(const std::string& s);

SymbolFacts read_symbol_facts(const ExecFile& f, const DynInfo& d);

}  // namespace execmap::loader
