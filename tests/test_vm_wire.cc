// The VM harness's host-side pieces that need no qemu: the record framing (found among noise,
// damage detected), the case and capture encodings, the newc cpio writer, bzimage_release.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "live/vm.h"
#include "live/vm_wire.h"

using namespace execmap::live;

TEST_CASE("vm records are found among console noise and damage is skipped") {
  std::string a = frame_record(RecordType::Facts, 0, "facts");
  std::string b = frame_record(RecordType::Capture, 1, std::string("\0\n@@END 1\nbinary", 16));
  std::string c = frame_record(RecordType::Done, 2, "");
  std::string stream = "[    1.0] printk noise\n" + a + "more noise" + b + c;
  size_t damaged = 99;
  auto recs = scan_records(stream, &damaged);
  REQUIRE(recs.size() == 3);
  CHECK(damaged == 0);
  CHECK(recs[0].type == RecordType::Facts);
  CHECK(recs[0].payload == "facts");
  CHECK(recs[1].payload == std::string("\0\n@@END 1\nbinary", 16));
  CHECK(recs[2].type == RecordType::Done);
  CHECK(recs[2].seq == 2);

  // A byte changed inside b's payload (printk interleaved): b is dropped, a and c survive.
  std::string bad = stream;
  bad[stream.find(b) + b.find("binary")] = 'X';
  recs = scan_records(bad, &damaged);
  REQUIRE(recs.size() == 2);
  CHECK(damaged == 1);
  CHECK(recs[1].seq == 2);

  // Truncated in the middle of the last frame.
  recs = scan_records(stream.substr(0, stream.size() - 3), &damaged);
  CHECK(recs.size() == 2);
  CHECK(damaged == 1);
}

TEST_CASE("vm cases and captures survive the wire; damaged input fails cleanly") {
  VmCase k;
  k.kind = VmCase::Kind::Capture;
  k.id = "pie.big-env";
  k.cwd = "/work/corpus";
  k.request.path = "./pie";
  k.request.argv = {"./pie", "", "héllo"};
  k.request.envp = {"A=1", std::string(40000, 'e')};
  k.request.stack_limit = ~uint64_t{0};
  k.request.stop_at_entry = true;
  k.request.measure_stack_depth = true;
  k.request.disable_aslr = false;
  k.repeat = 100;
  std::string file = encode_cases({k, k});
  std::vector<VmCase> back;
  std::string err;
  REQUIRE(decode_cases(file, &back, &err));
  REQUIRE(back.size() == 2);
  CHECK(back[1].request.argv == k.request.argv);
  CHECK(back[1].request.envp == k.request.envp);
  CHECK(back[1].request.stack_limit == k.request.stack_limit);
  CHECK(back[1].request.stop_at_entry);
  CHECK(back[1].request.measure_stack_depth);
  CHECK_FALSE(back[1].request.disable_aslr);
  CHECK(back[1].repeat == 100);
  CHECK(back[1].cwd == k.cwd);
  for (size_t cut = 0; cut < file.size(); cut += 997)
    CHECK_FALSE(decode_cases(file.substr(0, cut), &back, &err));

  VmCaptureResult r;
  r.case_index = 7;
  r.ok = true;
  r.capture.maps = "00400000-00401000 r--p 00000000 00:02 10 /init\n";
  r.capture.rsp = 0x7fffffffe000;
  r.capture.stack_end = 0x7ffffffff000;
  r.capture.stack_image.assign(0x1000, 0xab);
  r.capture.auxv = {{33, 0x7ffff7fc8000}, {6, 0x1000}};
  r.capture.mm.env_end = 0x7fffffffefe0;
  r.capture.stack_depth = 5608;
  r.stack_rlimit = 8u << 20;
  WireWriter w;
  encode(w, r);
  WireReader rd(w.data());
  VmCaptureResult r2;
  REQUIRE(decode(rd, &r2));
  CHECK(rd.at_end());
  CHECK(r2.capture.maps == r.capture.maps);
  CHECK(r2.capture.stack_image == r.capture.stack_image);
  CHECK(r2.capture.auxv == r.capture.auxv);
  CHECK(r2.capture.mm.env_end == r.capture.mm.env_end);
  CHECK(r2.stack_rlimit == r.stack_rlimit);
  CHECK(r2.capture.stack_depth == std::optional<uint64_t>(5608));
  // Truncation anywhere, and huge length or count fields, fail without reading past the end.
  for (size_t cut = 0; cut < w.data().size(); cut += 101) {
    const std::string prefix = w.data().substr(0, cut);
    WireReader re(prefix);
    VmCaptureResult r3;
    CHECK_FALSE(decode(re, &r3));
  }
  const std::string huge("\xff\xff\xff\xff", 4);
  WireReader hs(huge), hv(huge), hb(huge);
  CHECK(hs.str().empty());
  CHECK(hs.fail());
  CHECK(hv.strs().empty());
  CHECK(hv.fail());
  CHECK(hb.bytes().empty());
  CHECK(hb.fail());
}

TEST_CASE("the cpio writer emits newc entries the kernel (and cpio -t) accept") {
  char dir_templ[] = "/tmp/execmap-cpio-test.XXXXXX";
  REQUIRE(::mkdtemp(dir_templ));
  const std::string dir = dir_templ;
  {
    std::ofstream(dir + "/file") << "hello";
  }
  REQUIRE(::mkdir((dir + "/sub").c_str(), 0755) == 0);
  REQUIRE(::symlink("../file", (dir + "/sub/link").c_str()) == 0);
  REQUIRE(::symlink("sub", (dir + "/dirlink").c_str()) == 0);
  const std::string archive = dir + "/out.cpio";
  std::FILE* f = std::fopen(archive.c_str(), "wb");
  REQUIRE(f);
  CpioWriter w(f);
  std::string err;
  CHECK(w.add_dir("/dev", 0755));
  CHECK(w.add_char_device("/dev/console", 0600, 5, 1));
  // Through a symlinked directory and a symlink to a file: both links and both targets.
  CHECK(w.add_host_path(dir + "/dirlink/link", &err));
  CHECK(err.empty());
  CHECK_FALSE(w.add_host_path(dir + "/missing", &err));
  CHECK(w.finish());
  std::fclose(f);
  CHECK(w.bytes() % 4 == 0);

  std::string listing;
  if (FILE* p = ::popen(("cpio -t --quiet < " + archive + " 2>&1").c_str(), "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) listing += buf;
    ::pclose(p);
  }
  const std::string rel = dir.substr(1);
  CHECK(listing.find("dev/console\n") != std::string::npos);
  CHECK(listing.find(rel + "/dirlink\n") != std::string::npos);
  CHECK(listing.find(rel + "/sub\n") != std::string::npos);
  CHECK(listing.find(rel + "/sub/link\n") != std::string::npos);
  CHECK(listing.find(rel + "/file\n") != std::string::npos);
  CHECK(listing.find("TRAILER") == std::string::npos);
  for (const char* n : {"/out.cpio", "/sub/link", "/sub", "/dirlink", "/file"})
    ::remove((dir + n).c_str());
  ::rmdir(dir.c_str());
}

TEST_CASE("bzimage_release reads the setup header's kernel_version") {
  std::string img(0x1000, '\0');
  img.replace(0x202, 4, "HdrS");
  img[0x206] = 0x0f;  // boot protocol 2.15
  img[0x207] = 0x02;
  img[0x20e] = 0x00;  // kernel_version = 0x300 - 0x200
  img[0x20f] = 0x01;
  img.replace(0x300, 40, "6.1.0-50-amd64 (debian-kernel@lists) #1");
  const std::string path = "/tmp/execmap-bzimage-test";
  std::ofstream(path, std::ios::binary) << img;
  std::string err;
  auto rel = bzimage_release(path, &err);
  REQUIRE(rel);
  CHECK(*rel == "6.1.0-50-amd64");
  std::ofstream(path, std::ios::binary) << std::string(0x1000, 'x');
  CHECK_FALSE(bzimage_release(path, &err));
  CHECK(err.find("HdrS") != std::string::npos);
  ::remove(path.c_str());
}
