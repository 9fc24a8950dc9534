// The post-exec operation script, executed on the simulated mm with sim/vm's syscalls.
#include "sim/mm_ops.h"

#include <cerrno>
#include <cstdio>

#include "sim/vm.h"
#include "util/format.h"

namespace execmap::sim {

std::string OpOutcome::text() const { return ok ? util::hex(value) : errno_name(err); }

std::vector<OpOutcome> apply_ops(ExecResult& r, const std::vector<MemOp>& ops,
                                 bool record_steps) {
  std::vector<OpOutcome> out;
  std::vector<uint64_t> mmap_results;  // what each mmap returned, for $K
  VmOps vm(r.profile, r.host, r.mm_vmas, r.mm);
  vm.set_personality(r.personality);
  auto resolve = [&](const AddrExpr& a, bool* ok) -> uint64_t {
    *ok = true;
    if (a.ref == 0) return a.value;
    if (a.ref < 1 || size_t(a.ref) > mmap_results.size()) {
      *ok = false;
      return 0;
    }
    return mmap_results[a.ref - 1] + uint64_t(a.offset);
  };
  for (const MemOp& op : ops) {
    OpOutcome o;
    std::string name, function;
    bool ok = true;
    switch (op.kind) {
      case MemOp::Kind::BrkRelative:
      case MemOp::Kind::BrkAbsolute: {
        name = "brk";
        function = "sys_brk";
        uint64_t want = op.kind == MemOp::Kind::BrkAbsolute ? resolve(op.addr, &ok)
                                                            : r.mm.brk + uint64_t(op.delta);
        uint64_t got = ok ? vm.brk(want) : r.mm.brk;
        o.value = got;
        if (!ok || got != want) {
          o.ok = false;
          o.err = ENOMEM;
        }
        break;
      }
      case MemOp::Kind::Mmap: {
        name = "mmap";
        function = "do_mmap";
        uint64_t addr = op.has_addr ? resolve(op.addr, &ok) : 0;
        uint32_t flags = op.shared ? uint32_t(kMapShared) : 0u;
        if (op.placement == MemOp::Placement::Fixed) flags |= kMapFixed;
        if (op.placement == MemOp::Placement::Noreplace) flags |= kMapFixedNoreplace;
        MapResult m = !ok            ? MapResult::error(EINVAL)
                      : op.open_errno ? MapResult::error(op.open_errno)
                                      : vm.vm_mmap(op.file, addr, op.len, op.prot, flags, op.offset);
        o.ok = m.ok;
        o.err = m.err;
        o.value = m.addr;
        mmap_results.push_back(m.ok ? m.addr : uint64_t(-int64_t(m.err)));
        break;
      }
      case MemOp::Kind::Munmap: {
        name = "munmap";
        function = "do_vmi_munmap";
        uint64_t addr = resolve(op.addr, &ok);
        int e = ok ? vm.munmap(addr, op.len) : -EINVAL;
        o.ok = e == 0;
        o.err = -e;
        break;
      }
      case MemOp::Kind::Mprotect: {
        name = "mprotect";
        function = "do_mprotect_pkey";
        uint64_t addr = resolve(op.addr, &ok);
        int e = ok ? vm.mprotect(addr, op.len, op.prot) : -EINVAL;
        o.ok = e == 0;
        o.err = -e;
        break;
      }
    }
    out.push_back(o);
    if (record_steps) {
      Step s;
      s.name = name;
      s.function = function;
      s.changes = {"line " + std::to_string(op.line) + ": " + op.text,
                   (o.ok ? "returned " : "failed: ") + o.text()};
      s.result = o.text();
      for (const auto& kv : r.mm_vmas.vmas()) s.layout.push_back(kv.second);
      s.mm = r.mm;
      r.steps.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace execmap::sim
