// The byte format between the VM harness (live/vm.cc, host) and execmap-vm-agent (live/vm_agent.cc,
// PID 1 in the guest): the case file, and the framed records the agent writes back. Both sides are
// x86_64 builds of this one file, so integers are little-endian and fixed-width.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "live/capture.h"

namespace execmap::live {

// One thing for the guest to do.
struct VmCase {
  enum class Kind : uint8_t {
    Capture = 1,  // capture_at_exec(request), `repeat` times (ASLR sampling when disable_aslr=false)
    Run = 2,      // run request.path with its argv/envp/personality/rlimit; collect exit and stdout
  };
  Kind kind = Kind::Capture;
  std::string id;          // the caller's label, echoed in each result
  CaptureRequest request;  // Run uses path, argv, envp, disable_aslr, personality, stack_limit,
                           // timeout_ms
  std::string cwd;         // chdir() here first ("" = /); must exist in the initramfs
  uint32_t repeat = 1;     // Capture: number of captures of the same request
};

// Facts about the guest kernel, read once by the agent from its own process.
struct VmFacts {
  std::string uname_release, uname_version;  // uname(2)
  std::vector<std::pair<uint64_t, uint64_t>> auxv;  // the agent's /proc/self/auxv, in order
  std::string platform, base_platform;              // strings behind AT_PLATFORM, AT_BASE_PLATFORM
  std::string self_maps;                            // the agent's /proc/self/maps (static, no PIE)
  uint64_t stack_rlimit_cur = 0, stack_rlimit_max = 0;  // RLIMIT_STACK of PID 1 (~0 = infinity)
  uint64_t page_size = 0;
  uint64_t root_fs_magic = 0;  // statfs("/").f_type: ramfs or tmpfs for the initramfs
  double uptime_at_start = 0;  // /proc/uptime when the agent started (guest seconds)
  // Raw text of a few /proc and /sys files ("" if absent): sysctls, cpuinfo flags, THP mode.
  std::vector<std::pair<std::string, std::string>> files;
  bool debugcon = false, shared_memory = false;  // which output channels the agent opened
};

struct VmCaptureResult {
  uint32_t case_index = 0, repeat_index = 0;
  bool ok = false;
  std::string error;  // capture_at_exec's error when !ok
  Capture capture;
  uint64_t stack_rlimit = 0;  // the child's effective RLIMIT_STACK soft limit (~0 = infinity)
  uint32_t elapsed_us = 0;    // guest time for this capture
};

struct VmRunResult {
  uint32_t case_index = 0;
  bool ok = false;     // the program ran (was forked and waited for)
  std::string error;   // why not, or a timeout
  int exit_status = -1;  // WEXITSTATUS when it exited
  int signal = 0;        // WTERMSIG when it was killed
  std::string out, err;  // stdout and stderr (each capped at kRunOutputCap)
  uint32_t elapsed_us = 0;
};

struct VmDone {
  uint32_t cases = 0, records = 0;
  uint64_t payload_bytes = 0;  // every record's payload written before this one
  uint64_t framed_bytes = 0;   // the same with the frames
  uint64_t write_us = 0;       // guest time spent writing them (the channel's throughput)
  double uptime_at_end = 0;
};

constexpr size_t kRunOutputCap = 16u << 20;

// Little-endian append-only encoder.
class WireWriter {
 public:
  void u8(uint8_t v) { buf_.push_back(static_cast<char>(v)); }
  void u32(uint32_t v);
  void u64(uint64_t v);
  void i32(int32_t v) { u32(static_cast<uint32_t>(v)); }
  void f64(double v);
  void str(const std::string& s);
  void strs(const std::vector<std::string>& v);
  void bytes(const std::vector<uint8_t>& v);
  const std::string& data() const { return buf_; }
  std::string take() { return std::move(buf_); }

 private:
  std::string buf_;
};

// Bounds-checked decoder of untrusted bytes: a short or damaged input sets fail() and yields
// zeros, never reads past the end or allocates more than the input could hold.
class WireReader {
 public:
  WireReader(const char* data, size_t size) : p_(data), end_(data + size) {}
  explicit WireReader(const std::string& s) : WireReader(s.data(), s.size()) {}
  // The reader does not own its bytes; a temporary string would dangle.
  explicit WireReader(std::string&&) = delete;
  uint8_t u8();
  uint32_t u32();
  uint64_t u64();
  int32_t i32() { return static_cast<int32_t>(u32()); }
  double f64();
  std::string str();
  std::vector<std::string> strs();
  std::vector<uint8_t> bytes();
  bool fail() const { return fail_; }
  bool at_end() const { return p_ == end_; }

 private:
  bool take(size_t n, const char** out);
  const char* p_;
  const char* end_;
  bool fail_ = false;
};

void encode(WireWriter& w, const VmCase& c);
bool decode(WireReader& r, VmCase* c);
void encode(WireWriter& w, const Capture& c);
bool decode(WireReader& r, Capture* c);
void encode(WireWriter& w, const VmFacts& f);
bool decode(WireReader& r, VmFacts* f);
void encode(WireWriter& w, const VmCaptureResult& c);
bool decode(WireReader& r, VmCaptureResult* c);
void encode(WireWriter& w, const VmRunResult& c);
bool decode(WireReader& r, VmRunResult* c);
void encode(WireWriter& w, const VmDone& d);
bool decode(WireReader& r, VmDone* d);

// The case file: a magic line, the count, then each case.
std::string encode_cases(const std::vector<VmCase>& cases);
bool decode_cases(const std::string& file, std::vector<VmCase>* cases, std::string* err);

// Records. Each is framed so that it can be found in a stream that also holds other bytes
// (a console, a partly written buffer) and so that damage is detected, never misparsed:
//   "\n@@EXECMAP1 T SEQ LEN CRC\n" PAYLOAD "\n@@END SEQ\n"
// T is the record type letter, SEQ the record's number from 0, LEN the payload size in bytes and
// CRC its CRC-32 (IEEE), all decimal except CRC (8 hex digits).
enum class RecordType : char {
  Facts = 'F',
  Capture = 'C',
  Run = 'R',
  Log = 'L',   // a message from the agent (payload: text)
  Done = 'D',  // the last record: every case was handled
};

struct Record {
  RecordType type = RecordType::Log;
  uint32_t seq = 0;
  std::string payload;
};

uint32_t crc32(const char* data, size_t size);
std::string frame_record(RecordType type, uint32_t seq, const std::string& payload);
// Every intact record in `stream`, in stream order; damaged frames are skipped (counted in
// *damaged when given).
std::vector<Record> scan_records(const std::string& stream, size_t* damaged = nullptr);

}  // namespace execmap::live
