// The files a sandboxed run needs, predicted rather than run: a program, its interpreter by
// PT_INTERP's name, the libraries ld.so loads for it and the cache it finds them in.
#pragma once

#include <string>

#include "cli/host_pipeline.h"
#include "live/sandbox.h"
#include "sim/exec.h"

namespace execmap::cli {

// `path` as named (made absolute) and as canonical: bound, and linked to when they differ.
void add_sandbox_file(const std::string& path, live::SandboxSpec* spec);

// `file`, and what its exec and ld.so open, predicted with `base`'s kernel and host values.
void add_sandbox_program(const std::string& file, const sim::ExecRequest& base, HostPipeline* hp,
                         live::SandboxSpec* spec);

// A spec for this run: enabled unless no_sandbox, the working directory, EXECMAP_SANDBOX=chroot
// (tests force the fallback level with it).
live::SandboxSpec base_sandbox_spec(bool no_sandbox, uint64_t scratch_bytes);

// The credentials the sandbox runs a program with, for a prediction of that run (AT_UID...,
// set-ID handling): no_new_privs, and as root the unprivileged spec ids (otherwise the
// caller's own, one id mapped to itself).
// `level` is the one in force when known (the chroot level runs as a uid of its own).
void apply_sandbox_ids(const live::SandboxSpec& spec, sim::ExecRequest* req,
                       live::SandboxLevel level = live::SandboxLevel::Namespaces);

}  // namespace execmap::cli
