// show_map_vma() over the simulated VMAs (see proc_maps.h).
#include "sim/proc_maps.h"

namespace execmap::sim {

std::vector<util::MapsLine> proc_maps(const std::vector<loader::FileIdentity>& files,
                                      const MmFields& mm, const std::vector<Vma>& vmas,
                                      const KernelProfile& p) {
  std::vector<util::MapsLine> out;
  for (const auto& v : vmas) {
    util::MapsLine m;
    m.start = v.start;
    m.end = v.end;
    m.perms = util::perms_string(v.prot, v.shared);
    // show_map_vma(): only a VMA with a vm_file has a device, an inode and an offset.
    if (v.kind == Vma::Kind::File && v.file >= 0 && size_t(v.file) < files.size()) {
      const loader::FileIdentity& id = files[size_t(v.file)];
      m.offset = v.pgoff;
      m.dev_major = id.dev_major;
      m.dev_minor = id.dev_minor;
      m.inode = id.inode;
    }
    m.path = vma_name(files, mm, v, p.heap_name_inclusive);
    out.push_back(std::move(m));
  }
  // m_next(): after the mm's last VMA comes the gate VMA (priv->tail_vma = get_gate_vma()):
  // VM_EXEC for vsyscall=xonly, VM_READ|VM_EXEC for emulate (vsyscall_64.c map_vsyscall()).
  if (p.vsyscall)
    out.push_back({p.vsyscall_start, p.vsyscall_end,
                   util::perms_string(p.vsyscall_mode == "emulate"
                                          ? util::kProtRead | util::kProtExec
                                          : util::kProtExec,
                                      /*shared=*/false),
                   0, 0, 0, 0, "[vsyscall]"});
  return out;
}

std::vector<util::MapsLine> proc_maps(const ExecResult& r) {
  std::vector<Vma> vmas;
  for (const auto& kv : r.mm_vmas.vmas()) vmas.push_back(kv.second);
  return proc_maps(r.files, r.mm, vmas, r.profile);
}

}  // namespace execmap::sim
