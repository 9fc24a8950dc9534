// Encoding and framing of the VM harness's case file and result records (see vm_wire.h).
#include "live/vm_wire.h"

#include <cstdio>
#include <cstring>

namespace execmap::live {
namespace {

constexpr char kCasesMagic[] = "EXECMAP-VM-CASES 1\n";
constexpr char kBegin[] = "\n@@EXECMAP1 ";
constexpr char kEnd[] = "\n@@END ";
// A record's payload is never larger than this: the biggest real one is a capture with a
// 2 MiB stack (argv + envp are bounded by the stack rlimit) plus its maps.
constexpr uint64_t kMaxPayload = 256u << 20;

bool is_type(char c) {
  switch (static_cast<RecordType>(c)) {
    case RecordType::Facts:
    case RecordType::Capture:
    case RecordType::Run:
    case RecordType::Log:
    case RecordType::Done:
      return true;
  }
  return false;
}

// Parses a decimal number of at most `max_digits` digits at s[*pos], advancing *pos.
bool parse_dec(const std::string& s, size_t* pos, size_t max_digits, uint64_t* out) {
  uint64_t v = 0;
  size_t start = *pos;
  while (*pos < s.size() && s[*pos] >= '0' && s[*pos] <= '9' && *pos - start < max_digits) {
    v = v * 10 + static_cast<uint64_t>(s[*pos] - '0');
    ++*pos;
  }
  if (*pos == start) return false;
  *out = v;
  return true;
}

bool parse_hex8(const std::string& s, size_t pos, uint32_t* out) {
  if (pos + 8 > s.size()) return false;
  uint32_t v = 0;
  for (size_t i = pos; i < pos + 8; ++i) {
    char c = s[i];
    uint32_t d;
    if (c >= '0' && c <= '9')
      d = static_cast<uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = static_cast<uint32_t>(c - 'a' + 10);
    else
      return false;
    v = (v << 4) | d;
  }
  *out = v;
  return true;
}

void encode_request(WireWriter& w, const CaptureRequest& r) {
  w.str(r.path);
  w.strs(r.argv);
  w.strs(r.envp);
  w.u8(r.disable_aslr ? 1 : 0);
  w.u8(r.stack_limit ? 1 : 0);
  w.u64(r.stack_limit.value_or(0));
  w.u32(r.timeout_ms);
  w.u8(static_cast<uint8_t>((r.stop_at_entry ? 1 : 0) | (r.measure_stack_depth ? 2 : 0)));
  w.u32(static_cast<uint32_t>(r.personality));
}

void decode_request(WireReader& r, CaptureRequest* q) {
  q->path = r.str();
  q->argv = r.strs();
  q->envp = r.strs();
  q->disable_aslr = r.u8() != 0;
  bool has_limit = r.u8() != 0;
  uint64_t limit = r.u64();
  q->stack_limit = has_limit ? std::optional<uint64_t>(limit) : std::nullopt;
  q->timeout_ms = r.u32();
  uint8_t entry = r.u8();
  q->stop_at_entry = entry & 1;
  q->measure_stack_depth = entry & 2;
  q->personality = r.u32();
}

void encode_pairs(WireWriter& w, const std::vector<std::pair<uint64_t, uint64_t>>& v) {
  w.u32(static_cast<uint32_t>(v.size()));
  for (const auto& [a, b] : v) {
    w.u64(a);
    w.u64(b);
  }
}

std::vector<std::pair<uint64_t, uint64_t>> decode_pairs(WireReader& r) {
  std::vector<std::pair<uint64_t, uint64_t>> v;
  uint32_t n = r.u32();
  for (uint32_t i = 0; i < n && !r.fail(); ++i) {
    uint64_t a = r.u64();
    uint64_t b = r.u64();
    if (!r.fail()) v.emplace_back(a, b);
  }
  return v;
}

}  // namespace

void WireWriter::u32(uint32_t v) {
  for (int i = 0; i < 4; ++i) buf_.push_back(static_cast<char>(v >> (8 * i)));
}
void WireWriter::u64(uint64_t v) {
  for (int i = 0; i < 8; ++i) buf_.push_back(static_cast<char>(v >> (8 * i)));
}
void WireWriter::f64(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  u64(bits);
}
void WireWriter::str(const std::string& s) {
  u32(static_cast<uint32_t>(s.size()));
  buf_.append(s);
}
void WireWriter::strs(const std::vector<std::string>& v) {
  u32(static_cast<uint32_t>(v.size()));
  for (const std::string& s : v) str(s);
}
void WireWriter::bytes(const std::vector<uint8_t>& v) {
  u32(static_cast<uint32_t>(v.size()));
  buf_.append(reinterpret_cast<const char*>(v.data()), v.size());
}

bool WireReader::take(size_t n, const char** out) {
  if (fail_ || static_cast<size_t>(end_ - p_) < n) {
    fail_ = true;
    return false;
  }
  *out = p_;
  p_ += n;
  return true;
}
uint8_t WireReader::u8() {
  const char* p;
  return take(1, &p) ? static_cast<uint8_t>(*p) : 0;
}
uint32_t WireReader::u32() {
  const char* p;
  if (!take(4, &p)) return 0;
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
uint64_t WireReader::u64() {
  const char* p;
  if (!take(8, &p)) return 0;
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
double WireReader::f64() {
  uint64_t bits = u64();
  double v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}
std::string WireReader::str() {
  uint32_t n = u32();
  const char* p;
  return take(n, &p) ? std::string(p, n) : std::string();
}
std::vector<std::string> WireReader::strs() {
  uint32_t n = u32();
  std::vector<std::string> v;
  // Each string takes at least its 4-byte length: a count beyond that is damage.
  if (fail_ || n > static_cast<size_t>(end_ - p_) / 4) {
    fail_ = true;
    return v;
  }
  v.reserve(n);
  for (uint32_t i = 0; i < n && !fail_; ++i) v.push_back(str());
  return v;
}
std::vector<uint8_t> WireReader::bytes() {
  uint32_t n = u32();
  const char* p;
  if (!take(n, &p)) return {};
  return std::vector<uint8_t>(reinterpret_cast<const uint8_t*>(p),
                              reinterpret_cast<const uint8_t*>(p) + n);
}

void encode(WireWriter& w, const VmCase& c) {
  w.u8(static_cast<uint8_t>(c.kind));
  w.str(c.id);
  encode_request(w, c.request);
  w.str(c.cwd);
  w.u32(c.repeat);
}

bool decode(WireReader& r, VmCase* c) {
  uint8_t kind = r.u8();
  if (kind != static_cast<uint8_t>(VmCase::Kind::Capture) &&
      kind != static_cast<uint8_t>(VmCase::Kind::Run))
    return false;
  c->kind = static_cast<VmCase::Kind>(kind);
  c->id = r.str();
  decode_request(r, &c->request);
  c->cwd = r.str();
  c->repeat = r.u32();
  return !r.fail();
}

void encode(WireWriter& w, const Capture& c) {
  w.u8(static_cast<uint8_t>(c.outcome));
  w.i32(c.exec_errno);
  w.i32(c.signal);
  w.i32(c.exit_status);
  w.u8(c.at_entry ? 1 : 0);
  w.str(c.maps);
  w.u64(c.rip);
  w.u64(c.rsp);
  w.u64(c.stack_end);
  w.bytes(c.stack_image);
  const StatMm& m = c.mm;
  for (uint64_t v : {m.start_code, m.end_code, m.start_stack, m.start_data, m.end_data,
                     m.start_brk, m.arg_start, m.arg_end, m.env_start, m.env_end})
    w.u64(v);
  encode_pairs(w, c.auxv);
  w.u8(c.stack_depth ? 1 : 0);
  w.u64(c.stack_depth.value_or(0));
}

bool decode(WireReader& r, Capture* c) {
  uint8_t outcome = r.u8();
  if (outcome > static_cast<uint8_t>(Capture::Outcome::ExitedBeforeEntry)) return false;
  c->outcome = static_cast<Capture::Outcome>(outcome);
  c->exec_errno = r.i32();
  c->signal = r.i32();
  c->exit_status = r.i32();
  c->at_entry = r.u8() != 0;
  c->maps = r.str();
  c->rip = r.u64();
  c->rsp = r.u64();
  c->stack_end = r.u64();
  c->stack_image = r.bytes();
  StatMm& m = c->mm;
  for (uint64_t* v : {&m.start_code, &m.end_code, &m.start_stack, &m.start_data, &m.end_data,
                      &m.start_brk, &m.arg_start, &m.arg_end, &m.env_start, &m.env_end})
    *v = r.u64();
  c->auxv = decode_pairs(r);
  bool has_depth = r.u8() != 0;
  uint64_t depth = r.u64();
  c->stack_depth = has_depth ? std::optional<uint64_t>(depth) : std::nullopt;
  return !r.fail();
}

void encode(WireWriter& w, const VmFacts& f) {
  w.str(f.uname_release);
  w.str(f.uname_version);
  encode_pairs(w, f.auxv);
  w.str(f.platform);
  w.str(f.base_platform);
  w.str(f.self_maps);
  w.u64(f.stack_rlimit_cur);
  w.u64(f.stack_rlimit_max);
  w.u64(f.page_size);
  w.u64(f.root_fs_magic);
  w.f64(f.uptime_at_start);
  w.u32(static_cast<uint32_t>(f.files.size()));
  for (const auto& [name, text] : f.files) {
    w.str(name);
    w.str(text);
  }
  w.u8(f.debugcon ? 1 : 0);
  w.u8(f.shared_memory ? 1 : 0);
}

bool decode(WireReader& r, VmFacts* f) {
  f->uname_release = r.str();
  f->uname_version = r.str();
  f->auxv = decode_pairs(r);
  f->platform = r.str();
  f->base_platform = r.str();
  f->self_maps = r.str();
  f->stack_rlimit_cur = r.u64();
  f->stack_rlimit_max = r.u64();
  f->page_size = r.u64();
  f->root_fs_magic = r.u64();
  f->uptime_at_start = r.f64();
  uint32_t n = r.u32();
  for (uint32_t i = 0; i < n && !r.fail(); ++i) {
    std::string name = r.str();
    std::string text = r.str();
    f->files.emplace_back(std::move(name), std::move(text));
  }
  f->debugcon = r.u8() != 0;
  f->shared_memory = r.u8() != 0;
  return !r.fail();
}

void encode(WireWriter& w, const VmCaptureResult& c) {
  w.u32(c.case_index);
  w.u32(c.repeat_index);
  w.u8(c.ok ? 1 : 0);
  w.str(c.error);
  encode(w, c.capture);
  w.u64(c.stack_rlimit);
  w.u32(c.elapsed_us);
}

bool decode(WireReader& r, VmCaptureResult* c) {
  c->case_index = r.u32();
  c->repeat_index = r.u32();
  c->ok = r.u8() != 0;
  c->error = r.str();
  if (!decode(r, &c->capture)) return false;
  c->stack_rlimit = r.u64();
  c->elapsed_us = r.u32();
  return !r.fail();
}

void encode(WireWriter& w, const VmRunResult& c) {
  w.u32(c.case_index);
  w.u8(c.ok ? 1 : 0);
  w.str(c.error);
  w.i32(c.exit_status);
  w.i32(c.signal);
  w.str(c.out);
  w.str(c.err);
  w.u32(c.elapsed_us);
}

bool decode(WireReader& r, VmRunResult* c) {
  c->case_index = r.u32();
  c->ok = r.u8() != 0;
  c->error = r.str();
  c->exit_status = r.i32();
  c->signal = r.i32();
  c->out = r.str();
  c->err = r.str();
  c->elapsed_us = r.u32();
  return !r.fail();
}

void encode(WireWriter& w, const VmDone& d) {
  w.u32(d.cases);
  w.u32(d.records);
  w.u64(d.payload_bytes);
  w.u64(d.framed_bytes);
  w.u64(d.write_us);
  w.f64(d.uptime_at_end);
}

bool decode(WireReader& r, VmDone* d) {
  d->cases = r.u32();
  d->records = r.u32();
  d->payload_bytes = r.u64();
  d->framed_bytes = r.u64();
  d->write_us = r.u64();
  d->uptime_at_end = r.f64();
  return !r.fail();
}

std::string encode_cases(const std::vector<VmCase>& cases) {
  WireWriter w;
  w.u32(static_cast<uint32_t>(cases.size()));
  for (const VmCase& c : cases) encode(w, c);
  return std::string(kCasesMagic) + w.data();
}

bool decode_cases(const std::string& file, std::vector<VmCase>* cases, std::string* err) {
  const size_t magic = sizeof kCasesMagic - 1;
  if (file.compare(0, magic, kCasesMagic) != 0) {
    *err = "not an execmap case file (bad magic)";
    return false;
  }
  WireReader r(file.data() + magic, file.size() - magic);
  uint32_t n = r.u32();
  cases->clear();
  for (uint32_t i = 0; i < n; ++i) {
    VmCase c;
    if (!decode(r, &c)) {
      *err = "case " + std::to_string(i) + " is damaged";
      return false;
    }
    cases->push_back(std::move(c));
  }
  if (!r.at_end()) {
    *err = "trailing bytes after the last case";
    return false;
  }
  return true;
}

uint32_t crc32(const char* data, size_t size) {
  static const auto table = [] {
    struct T {
      uint32_t v[256];
    } t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t.v[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < size; ++i)
    c = table.v[(c ^ static_cast<uint8_t>(data[i])) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

std::string frame_record(RecordType type, uint32_t seq, const std::string& payload) {
  char head[96];
  std::snprintf(head, sizeof head, "%s%c %u %zu %08x\n", kBegin, static_cast<char>(type), seq,
                payload.size(), crc32(payload.data(), payload.size()));
  char tail[48];
  std::snprintf(tail, sizeof tail, "%s%u\n", kEnd, seq);
  std::string out;
  out.reserve(payload.size() + 96);
  out += head;
  out += payload;
  out += tail;
  return out;
}

std::vector<Record> scan_records(const std::string& stream, size_t* damaged) {
  std::vector<Record> out;
  size_t bad = 0;
  const size_t begin_len = sizeof kBegin - 1;
  size_t pos = 0;
  for (;;) {
    size_t at = stream.find(kBegin, pos);
    if (at == std::string::npos) break;
    pos = at + 1;  // on any damage, look for the next frame after this marker
    size_t p = at + begin_len;
    if (p + 2 > stream.size() || !is_type(stream[p]) || stream[p + 1] != ' ') {
      ++bad;
      continue;
    }
    Record rec;
    rec.type = static_cast<RecordType>(stream[p]);
    p += 2;
    uint64_t seq = 0, len = 0;
    uint32_t crc = 0;
    if (!parse_dec(stream, &p, 10, &seq) || seq > UINT32_MAX || p >= stream.size() ||
        stream[p++] != ' ' || !parse_dec(stream, &p, 10, &len) || len > kMaxPayload ||
        p >= stream.size() || stream[p++] != ' ' || !parse_hex8(stream, p, &crc) ||
        p + 8 >= stream.size() || stream[p + 8] != '\n') {
      ++bad;
      continue;
    }
    p += 9;
    if (len > stream.size() - p) {
      ++bad;
      continue;
    }
    const char* payload = stream.data() + p;
    char tail[48];
    int tail_len = std::snprintf(tail, sizeof tail, "%s%u\n", kEnd, static_cast<uint32_t>(seq));
    if (stream.compare(p + len, static_cast<size_t>(tail_len), tail) != 0 ||
        crc32(payload, len) != crc) {
      ++bad;
      continue;
    }
    rec.seq = static_cast<uint32_t>(seq);
    rec.payload.assign(payload, len);
    out.push_back(std::move(rec));
    pos = p + len + static_cast<size_t>(tail_len);
  }
  if (damaged) *damaged = bad;
  return out;
}

}  // namespace execmap::live
