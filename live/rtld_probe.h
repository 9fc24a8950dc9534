// Asks the host's dynamic loader for the values its library search and its start-up
// allocations depend on: `ld.so --list-diagnostics` (glibc 2.33+) prints dl_platform (which
// glibc may change from AT_PLATFORM, e.g. "haswell" on some Intel CPUs), dl_hwcap and its
// important mask, and the glibc-hwcaps subdirectories this CPU supports.
#pragma once

#include <optional>
#include <string>

#include "loader/lib_files.h"
#include "sim/pipeline.h"
#include "sim/rtld.h"

namespace execmap::live {

// Runs LDSO --list-diagnostics (empty environment) and applies what it prints to a copy of
// base. nullopt (with *why) when it cannot run or prints nothing usable.
std::optional<sim::RtldConfig> probe_rtld(const std::string& ldso, const sim::RtldConfig& base,
                                          std::string* why);

// This machine as the start stage sees it: its files, its ld.so's values (probed with
// --list-diagnostics when the host values are this machine's, the documented defaults
// otherwise) and the working directory.
class HostRtld final : public sim::RtldHost {
 public:
  const loader::LibraryFiles& files() const override { return files_; }
  sim::RtldConfig config_for(const sim::ExecResult& r) const override;
  std::string cwd() const override;

 private:
  loader::HostLibraryFiles files_;
};

// The same, from the text of a --list-diagnostics run (for captures and tests).
std::optional<sim::RtldConfig> rtld_config_from_diagnostics(const std::string& text,
                                                            const sim::RtldConfig& base);

}  // namespace execmap::live
