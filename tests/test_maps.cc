// util/: the one /proc/PID/maps parser and printer, and the number and permission formatters.
// Kernel lines round-trip byte for byte; damaged lines are rejected, never misread.
#include <catch2/catch.hpp>
#include <random>

#include "util/format.h"
#include "util/maps.h"

using namespace execmap;
using util::MapsLine;

TEST_CASE("hex and permissions have one spelling", "[util]") {
  CHECK(util::hex(0) == "0x0");
  CHECK(util::hex(0x7ffff7fff000) == "0x7ffff7fff000");
  CHECK(util::hex(~uint64_t(0)) == "0xffffffffffffffff");
  const uint8_t bytes[] = {0x7f, 'E', 'L', 'F', 0x00, 0xab};
  CHECK(util::hex_bytes(bytes, sizeof bytes) == "7f454c4600ab");
  CHECK(util::hex_bytes(bytes, 0).empty());

  CHECK(util::rwx(0) == "---");
  CHECK(util::rwx(util::kProtRead | util::kProtExec) == "r-x");
  CHECK(util::perms_string(util::kProtRead | util::kProtWrite, false) == "rw-p");
  CHECK(util::perms_string(util::kProtRead | util::kProtWrite | util::kProtExec, true) == "rwxs");
  for (uint32_t prot = 0; prot < 8; ++prot) {
    uint32_t back = 99;
    REQUIRE(util::parse_rwx(util::rwx(prot), &back));
    CHECK(back == prot);
  }
  uint32_t p;
  for (const char* bad : {"", "r-", "r-xp", "x--", "R--", "rw?"}) {
    INFO(bad);
    CHECK_FALSE(util::parse_rwx(bad, &p));
  }
}

TEST_CASE("bounded digit parsers", "[util]") {
  uint64_t v;
  CHECK((util::parse_hex_u64("ffffffffffffffff", &v) && v == ~uint64_t(0)));
  CHECK((util::parse_hex_u64("00400000", &v) && v == 0x400000));
  CHECK((util::parse_hex_u64("DeadBeef", &v) && v == 0xdeadbeef));
  for (const char* bad : {"", "10000000000000000", "0x10", "-1", "+1", "12g", " 1"}) {
    INFO(bad);
    CHECK_FALSE(util::parse_hex_u64(bad, &v));
  }
  CHECK((util::parse_dec_u64("18446744073709551615", &v) && v == ~uint64_t(0)));
  CHECK((util::parse_dec_u64("0", &v) && v == 0));
  for (const char* bad : {"", "18446744073709551616", "99999999999999999999", "-1", "1a", "1 "}) {
    INFO(bad);
    CHECK_FALSE(util::parse_dec_u64(bad, &v));
  }
}

TEST_CASE("kernel maps lines parse into their fields and print back byte for byte", "[util]") {
  struct Row {
    const char* line;
    MapsLine want;
  };
  const Row rows[] = {
      {"00400000-00401000 r--p 00000000 fe:00 5308787                            "
       "/work/main/testdata/golden/bin/hello-nopie",
       {0x400000, 0x401000, "r--p", 0, 0xfe, 0, 5308787,
        "/work/main/testdata/golden/bin/hello-nopie"}},
      {"7ffff7dd0000-7ffff7dd3000 rw-p 00000000 00:00 0 ",
       {0x7ffff7dd0000, 0x7ffff7dd3000, "rw-p", 0, 0, 0, 0, ""}},
      {"7ffff7df9000-7ffff7f4f000 r-xp 00026000 fe:00 332835                     "
       "/usr/lib/x86_64-linux-gnu/libc.so.6",
       {0x7ffff7df9000, 0x7ffff7f4f000, "r-xp", 0x26000, 0xfe, 0, 332835,
        "/usr/lib/x86_64-linux-gnu/libc.so.6"}},
      {"7ffff7fc8000-7ffff7fca000 r-xp 00000000 00:00 0                          [vdso]",
       {0x7ffff7fc8000, 0x7ffff7fca000, "r-xp", 0, 0, 0, 0, "[vdso]"}},
      {"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]",
       {0xffffffffff600000, 0xffffffffff601000, "--xp", 0, 0, 0, 0, "[vsyscall]"}},
      // A path with spaces, a shared mapping, a device major above 0xff, a long inode.
      {"7f0000000000-7f0000001000 rw-s 12345000 103:0a 18446744073709551615      "
       "/tmp/a b  (deleted)",
       {0x7f0000000000, 0x7f0000001000, "rw-s", 0x12345000, 0x103, 0xa, ~uint64_t(0),
        "/tmp/a b  (deleted)"}},
      // A header wider than the padding column: no padding, but seq_pad()'s own space
      // still follows the one after the inode.
      {"ffffffffff600000-ffffffffff601000 r--p 00000000 fe:00 12345678901234567890  /x",
       {0xffffffffff600000, 0xffffffffff601000, "r--p", 0, 0xfe, 0, 12345678901234567890ull, "/x"}},
  };
  for (const auto& row : rows) {
    INFO(row.line);
    MapsLine got;
    REQUIRE(util::parse_maps_line(row.line, &got));
    CHECK(got == row.want);
    CHECK(util::format_maps_line(got) == row.line);
  }
  MapsLine m;
  REQUIRE(util::parse_maps_line(rows[2].line, &m));
  CHECK(m.prot() == (util::kProtRead | util::kProtExec));
  CHECK_FALSE(m.shared());
  REQUIRE(util::parse_maps_line(rows[5].line, &m));
  CHECK(m.prot() == (util::kProtRead | util::kProtWrite));
  CHECK(m.shared());
}

TEST_CASE("padding other than the kernel's is tolerated", "[util]") {
  MapsLine m;
  REQUIRE(util::parse_maps_line("  1000-2000\tr-xp  0 8:1   42\t /bin/x y", &m));
  CHECK(m == MapsLine{0x1000, 0x2000, "r-xp", 0, 8, 1, 42, "/bin/x y"});
  REQUIRE(util::parse_maps_line("1000-2000 r-xp 0 8:1 42", &m));  // no trailing space
  CHECK(m.path.empty());
  REQUIRE(util::parse_maps_line("1000-2000 r-xp 0 8:1 42 \r", &m));  // CRLF text
  CHECK(m.path.empty());
}

TEST_CASE("damaged maps lines are rejected", "[util]") {
  const char* bad[] = {
      "",
      " ",
      "garbage",
      "1000-2000",
      "1000-2000 r-xp 0 8:1",                               // no inode
      "1000-2000 r-xp 0 8:1 x",                             // inode not decimal
      "1000-2000 r-xp 0 8:1 -1",                            // signed inode
      "1000-2000 r-xp 0 81 42",                             // no ':' in the device
      "1000-2000 r-xp 0 8:123456789 42",                    // minor wider than 32 bits
      "1000-2000 r-xp 0 :1 42",                             // empty major
      "1000-2000 r-x 0 8:1 42",                             // three permission letters
      "1000-2000 r-xq 0 8:1 42",                            // neither private nor shared
      "1000-2000 w-xp 0 8:1 42",                            // letters out of place
      "1000-2000 r-xp 0x0 8:1 42",                          // "0x" prefix
      "2000-1000 r-xp 0 8:1 42",                            // end before start
      "2000-2000 r-xp 0 8:1 42",                            // empty range
      "1000 2000 r-xp 0 8:1 42",                            // no dash
      "1000--2000 r-xp 0 8:1 42",                           // signed end
      "10000000000000000-10000000000000001 r-xp 0 8:1 42",  // 17 hex digits
      "1000-2000 r-xp 10000000000000000 8:1 42",            // offset wider than 64 bits
      "1000-2000 r-xp 0 8:1 99999999999999999999",          // inode wider than 64 bits
  };
  for (const char* line : bad) {
    INFO('"' << line << '"');
    MapsLine m;
    CHECK_FALSE(util::parse_maps_line(line, &m));
  }
}

TEST_CASE("a whole maps text keeps the good lines in order", "[util]") {
  std::string text =
      "00400000-00401000 r--p 00000000 fe:00 7                                  /bin/p\n"
      "garbage\n"
      "\n"
      "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]";
  auto lines = util::parse_maps(text);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].path == "/bin/p");
  CHECK(lines[1].path == "[stack]");
  CHECK(lines[1].end == 0x7ffffffff000);
  CHECK(util::format_maps(lines) ==
        "00400000-00401000 r--p 00000000 fe:00 7                                  /bin/p\n"
        "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n");
  CHECK(util::parse_maps("").empty());
  CHECK(util::parse_maps("\n\n\n").empty());
}

TEST_CASE("random damage to maps text never misparses a line", "[util]") {
  // Every line the parser accepts prints back to a line that parses to the same fields.
  const std::string seed_text =
      "00400000-00401000 r-xp 00001000 fe:00 5308787                            /bin/p\n"
      "7ffff7fc8000-7ffff7fca000 r-xp 00000000 00:00 0                          [vdso]\n"
      "7ffff7dd0000-7ffff7dd3000 rw-p 00000000 00:00 0 \n";
  const char alphabet[] = "0123456789abcdefx-: \t\rrwps/[]\n\0";
  std::mt19937_64 rng(42);
  for (int round = 0; round < 20000; ++round) {
    std::string t = seed_text;
    int edits = 1 + int(rng() % 8);
    for (int e = 0; e < edits; ++e) {
      size_t at = rng() % (t.size() + 1);
      char c = alphabet[rng() % (sizeof alphabet - 1)];
      switch (rng() % 3) {
        case 0:
          if (at < t.size()) t[at] = c;
          break;
        case 1:
          t.insert(t.begin() + long(at), c);
          break;
        default:
          if (at < t.size()) t.erase(at, 1 + rng() % 20);
          break;
      }
    }
    for (const MapsLine& m : util::parse_maps(t)) {
      MapsLine again;
      REQUIRE(util::parse_maps_line(util::format_maps_line(m), &again));
      REQUIRE(again == m);
      REQUIRE(m.start < m.end);
      REQUIRE(m.perms.size() == 4);
    }
  }
}
