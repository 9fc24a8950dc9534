# Shared by the live test scripts (sourced): the ptrace probe and the verdict of one
# `execmap verify --format json`.

# require_ptrace EXECMAP WHAT: exit 77 (ctest: skipped) with a visible SKIPPED line when
# verify cannot trace here.
require_ptrace() {
  local probe
  probe=$("$1" verify -i /bin/true 2>&1)
  if echo "$probe" | grep -q "verify needs ptrace"; then
    echo "SKIPPED: $2 needs ptrace: $probe"
    exit 77
  fi
}

# verify JSON on stdin -> "exact", or "differs: " and the first three differences. With
# "heap" as $1, a difference only in [heap] lines (exact_except_heap) counts as exact.
verify_verdict() {
  python3 -c '
import json, sys
try:
    j = json.load(sys.stdin)
except Exception:
    print("no JSON"); sys.exit()
ok = j.get("exact") or (sys.argv[1] == "heap" and j.get("exact_except_heap"))
print("exact" if ok else "differs: %r" % [(d["what"], d["predicted"][:80], d["kernel"][:80]) for d in j["differences"][:3]])' "${1:-strict}"
}
