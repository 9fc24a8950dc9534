// The one entry point the commands use: predict(request) runs the exec (sim/exec.h) and,
// for --stage start, ld.so's work up to the program's entry point (sim/rtld.h, resolution;
// sim/rtld_start.h, the replay), whatever the target. Pure computation: the files and ld.so's
// machine-dependent values come in through interfaces that live/ (or a test) implements.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "loader/exec_file.h"
#include "loader/lib_files.h"
#include "sim/exec.h"
#include "sim/rtld.h"

namespace execmap::sim {

// What the start stage needs from the machine it models: the files ld.so opens, ld.so's
// build and CPU values, and the working directory.
class RtldHost {
 public:
  virtual ~RtldHost() = default;
  virtual const loader::LibraryFiles& files() const = 0;
  // ld.so's values for the interpreter the exec mapped (r.objects[1]); called once per
  // Pipeline and interpreter.
  virtual RtldConfig config_for(const ExecResult& r) const = 0;
  // getcwd() of the process: relative $ORIGIN and l_name values start there.
  virtual std::string cwd() const = 0;
};

// ld.so's resolution of one exec: the objects and the config it was made with.
struct Resolution {
  bool ok = false;        // false: *error says why (a file ld.so cannot open at all)
  std::string error;
  RtldConfig config;
  RtldResult libs;
};

class Pipeline {
 public:
  // rtld may be nullptr when no request asks for the start stage.
  Pipeline(const loader::FileSystem& fs, const RtldHost* rtld) : fs_(fs), rtld_(rtld) {}

  // The exec, then (req.stage == Stage::start) ld.so up to AT_ENTRY. Never throws; a failure
  // is ExecResult::error.
  ExecResult predict(const ExecRequest& req) const;

  // ld.so's resolution for a successful dynamic exec: the one the start stage maps. It does
  // not depend on the random draws, so it is computed once per program and environment and
  // shared by every later predict() (the entropy model evaluates the start stage many times).
  std::shared_ptr<const Resolution> resolve(const ExecResult& r, const ExecRequest& req) const;

 private:
  void start_stage(const ExecRequest& req, ExecResult* r) const;

  const loader::FileSystem& fs_;
  const RtldHost* rtld_;
  mutable std::map<std::string, std::shared_ptr<const Resolution>> resolved_;
  mutable std::map<std::string, RtldConfig> configs_;  // by interpreter path
};

}  // namespace execmap::sim
