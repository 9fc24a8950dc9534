// The argv/env shapes of tests/live_verify.sh, for the VM harnesses (vm_capture records them,
// vm_verify_kernels verifies them): one list, so that both run the same cases.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace execmap::testing {

// The files ld.so opens for a 64-bit program, as the paths it uses (ldd's "=> PATH" and the
// interpreter), so a guest given them resolves the same names the same way.
inline std::vector<std::string> ldd_files(const std::string& prog) {
  std::vector<std::string> out;
  std::string cmd = "ldd '" + prog + "' 2>/dev/null";
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char line[4096];
    while (std::fgets(line, sizeof line, p)) {
      std::string l = line;
      size_t arrow = l.find("=> /");
      size_t start = arrow != std::string::npos ? arrow + 3 : l.find_first_not_of(" \t");
      if (start == std::string::npos || l[start] != '/') continue;
      size_t end = l.find(' ', start);
      out.push_back(l.substr(start, end == std::string::npos ? std::string::npos : end - start));
    }
    ::pclose(p);
  }
  return out;
}

struct Shape {
  std::string name;
  std::string path;  // the path execve() gets
  std::vector<std::string> argv;
  std::vector<std::string> envp;
};

// "inherited" uses a fixed login-shell environment; "via-ldso" runs ld.so directly.
inline std::vector<Shape> shapes_for(const std::string& prog, const std::string& corpus) {
  const std::string rel = "./" + prog, abs = corpus + "/" + prog;
  std::vector<std::string> big;
  for (int i = 0; i < 4; ++i) big.push_back("BIG" + std::to_string(i) + "=" + std::string(40000, 'e'));
  std::vector<std::string> args50 = {rel};
  for (int i = 1; i <= 50; ++i) args50.push_back("arg" + std::to_string(i));
  const std::vector<std::string> inherited = {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "HOME=/root",
      "LANG=C.UTF-8",
      "TERM=xterm-256color",
      "SHELL=/bin/bash",
      "USER=root",
      "LOGNAME=root",
      "SHLVL=1",
      "PWD=" + corpus,
      "OLDPWD=/",
      "_=" + rel};
  return {
      {"plain", rel, {rel}, {"A=1"}},
      {"empty-env", rel, {rel}, {}},
      {"big-env", rel, {rel}, big},
      {"50-args", rel, args50, {"A=1"}},
      {"empty-utf8", rel, {rel, "", "héllo wörld ✓", "", "日本語"}, {"A=1"}},
      {"argv0", rel, {"renamed program", "x"}, {"A=1"}},
      {"absolute", abs, {abs}, {"A=1"}},
      {"inherited", rel, {rel}, inherited},
      {"via-ldso", "/lib64/ld-linux-x86-64.so.2", {"/lib64/ld-linux-x86-64.so.2", rel}, {"A=1"}},
  };
}

// The programs that also run under the stack limits of live_verify.sh.
inline const std::vector<std::string>& stack_limit_programs() {
  static const std::vector<std::string> p = {"pie",   "nopie",   "static",   "static-pie",   "tiny",
                                             "pie32", "nopie32", "static32", "static-pie32", "tiny32"};
  return p;
}

}  // namespace execmap::testing
