#!/bin/sh
# Hostile submissions for `execmap grade --loader` (tests/hostile: ref_loader.c with an attack
# prologue each). For every program, graded with --format json and --gradescope:
#   - the grade is the honest one: full marks where the sandbox contains the attack, 0 with a
#     clear reason for the loaders that never load (spin, exec cheats, fake entries);
#   - grade exits within its bound (2 x --timeout-ms + 5 s), its report stays small;
#   - no process of the submission survives (a marker in the programs' names, cmdline or exe);
#   - nothing outside the scratch changed: the test's files, the programs, PROG and execmap
#     (metadata after each grade, checksums per run), no chroot tree left behind;
#   - the results file is the grader's own: a regular file, valid JSON, the report's score, the
#     sandbox level named; and still so at the end of the run (daemons that sleep, then write);
#   - the test's shell and sacrificial sleeps are alive, neither stopped nor traced; no
#     connection reached the test's TCP and abstract AF_UNIX listeners; another submission's
#     secret appears in no output.
# Runs: as root at the default level (namespaces) and with EXECMAP_SANDBOX=chroot; as uid 65534
# (setpriv) where unprivileged user namespaces work, on copies owned by that uid. Then
# `grade --snapshot` of a 300 MB and a 100000-deep snapshot: exit 1, one line, bounded.
# usage: hostile_grade.sh EXECMAP HOSTILE_DIR CORPUS_DIR    (exit 77 = skipped without ptrace)
#        hostile_grade.sh --run LABEL LEVEL WORKDIR         (one run, from a prepared copy)
set -u
py=/usr/bin/python3
[ -x "$py" ] || py=python3

# ---------------------------------------------------------------------------------------------
# One run, as the current user, from the copy of this script in the shared directory.
if [ "${1:-}" = "--run" ]; then
  label=${2:?} level=${3:?} W=${4:?}
  shared=$(cd "$(dirname "$0")" && pwd)
  pass=0
  fail=0
  ok() { pass=$((pass + 1)); echo "ok   [$label] $*"; }
  bad() { fail=$((fail + 1)); echo "FAIL [$label] $*"; }
  marker="xhostile$$"
  mkdir -p "$W" && chmod 755 "$W"
  bin=$W/bin watch=$W/watch other=$W/other results=$W/results
  mkdir -p "$bin" "$watch/sub" "$other" "$results" "$W/tmpdir" "$W/log"
  cp "$shared/execmap" "$shared/static" "$shared/static-pie" "$bin/"
  for f in "$shared"/hostile/*; do cp "$f" "$bin/$marker-$(basename "$f")"; done
  echo "watched contents" >"$watch/watched.txt"
  echo "nested" >"$watch/sub/nested.txt"
  secret="hostile-secret-$$-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
  echo "$secret" >"$other/secret.txt"
  chmod 755 "$bin"/* "$watch" "$other" "$results"
  chmod 644 "$watch"/*.txt "$other/secret.txt"
  # As root the submission runs as 65534: give it the files, so that only the sandbox's view
  # of the filesystem protects them (as it must for an unprivileged grader's own files).
  if [ "$(id -u)" = 0 ]; then chown -R 65534:65534 "$bin" "$watch" "$other" "$results"; fi
  # The test's environment holds the secret too (/proc/PID/environ).
  HOSTILE_SECRET_ENV=$secret
  export HOSTILE_SECRET_ENV

  # Sacrificial processes: a sleep of this user; as root, a sleep of uid 65534 (another
  # submission, as far as a submission running as 65534 can tell).
  sleep 3600 &
  victim=$!
  nobody=
  start_nobody() {
    if [ "$(id -u)" = 0 ]; then
      setpriv --reuid=65534 --regid=65534 --clear-groups sleep 3600 &
      nobody=$!
    fi
  }
  start_nobody
  echo "$$ $victim $nobody" >"$W/pids"
  # The guard: any of them stopped is noted and continued, so a SIGSTOP cannot hang the test.
  (
    while :; do
      for p in $(cat "$W/pids"); do
        line=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        st=${line##*) }
        st=${st%% *}
        if [ "$st" = T ] || [ "$st" = t ]; then
          echo "$p was stopped" >>"$W/log/stopped"
          kill -CONT "$p" 2>/dev/null
        fi
      done
      sleep 0.3
    done
  ) &
  guard=$!
  # The listeners: TCP and UDP on 127.0.0.1 and ::1, and an abstract AF_UNIX name; every
  # connection or datagram is a line in log/conn.
  abstract="execmap-hostile-$$-listener"  # (not the marker: the listener is no submission)
  cat >"$W/listen.py" <<'PY'
import os, select, socket, sys
log, ready, name = sys.argv[1], sys.argv[2], sys.argv[3]
t4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t4.bind(("127.0.0.1", 0))
t4.listen(16)
port = t4.getsockname()[1]
socks = {t4: "tcp 127.0.0.1"}
for fam, addr, kind, what in ((socket.AF_INET6, "::1", socket.SOCK_STREAM, "tcp ::1"),
                              (socket.AF_INET, "127.0.0.1", socket.SOCK_DGRAM, "udp 127.0.0.1")):
    try:
        s = socket.socket(fam, kind)
        s.bind((addr, port))
        if kind == socket.SOCK_STREAM:
            s.listen(16)
        socks[s] = what
    except OSError:
        pass
u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
u.bind("\0" + name)
u.listen(16)
socks[u] = "abstract unix @" + name
with open(ready + ".tmp", "w") as f:
    f.write(str(port))
os.rename(ready + ".tmp", ready)
while True:
    for s in select.select(list(socks), [], [])[0]:
        if s.type == socket.SOCK_DGRAM:
            s.recvfrom(64)
        else:
            s.accept()[0].close()
        with open(log, "a") as f:
            f.write(socks[s] + "\n")
PY
  : >"$W/log/conn"
  "$py" "$W/listen.py" "$W/log/conn" "$W/port" "$abstract" 2>"$W/log/listen.err" &
  listener=$!
  n=0
  while [ ! -s "$W/port" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
  port=$(cat "$W/port" 2>/dev/null)
  [ -n "$port" ] || bad "the listener did not start: $(cat "$W/log/listen.err")"

  cleanup_run() {
    kill "$guard" "$listener" "$victim" ${nobody:+"$nobody"} 2>/dev/null
    wait 2>/dev/null
  }
  trap cleanup_run EXIT

  # The checks on one grade's outputs, and the scan for the submission's processes.
  cat >"$W/check.py" <<'PY'
import json, os, re, sys

def survivors(marker):
    me, out = os.getpid(), []
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) in (me, os.getppid()):
            continue
        try:
            st = open("/proc/%s/stat" % p).read().rsplit(")", 1)[1].split()[0]
            cmd = open("/proc/%s/cmdline" % p, "rb").read().replace(b"\0", b" ").decode("utf-8", "replace")
        except (OSError, IndexError):
            continue
        try:
            exe = os.readlink("/proc/%s/exe" % p)
        except OSError:
            exe = ""
        if st != "Z" and (marker in cmd or marker in exe):
            out.append("%s(%s) %s" % (p, st, (cmd.strip() or exe)[:120]))
    return out

def text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""

def grade(rc, out, res, err, level, expect, secret):
    rc, problems, summary = int(rc), [], ""
    try:
        d = json.loads(text(out))
    except ValueError as e:
        return ["no JSON report (exit %s): %s; stderr: %s" % (rc, e, text(err)[:300].strip())], ""
    checks = d.get("checks", [])
    failed = [c for c in checks if c.get("status") == "failed"]
    score, top = d.get("score"), d.get("max_score")
    kind, _, arg = expect.partition(":")
    first = "%s: %s" % (failed[0]["id"], failed[0]["output"][:400]) if failed else ""
    if kind == "full":
        summary = "full marks %g/%g" % (score, top)
        if rc != 0 or failed or not top or score != top:
            problems.append("exit %s, score %s/%s, want full marks; first failed %s" % (rc, score, top, first))
    elif kind == "zero":
        reason = checks[0]["output"].split("\n")[0] if checks else ""
        summary = "0/%g: %s" % (top or 0, reason[:110])
        if rc != 4 or score != 0 or not reason or not re.search(arg, reason):
            problems.append("exit %s, score %s/%s, want 0 with a reason matching /%s/; reason: %s"
                            % (rc, score, top, arg, reason[:400]))
    elif kind == "verdict":
        ids = [c["id"] for c in failed]
        summary = "exit %s, %g/%g, failed %s" % (rc, score, top, ",".join(ids))
        if rc != 4 or arg not in ids:
            problems.append("exit %s, failed %s, want exit 4 with %s failed" % (rc, ids, arg))
    got = d.get("sandbox", {}).get("level")
    if got != level:
        problems.append("sandbox level %s, want %s" % (got, level))
    if os.path.islink(res) or not os.path.isfile(res):
        problems.append("the results file %s is missing or not a regular file" % res)
    else:
        try:
            r = json.loads(text(res))
            if r.get("score") != score:
                problems.append("the results file says score %s, the report %s" % (r.get("score"), score))
            if ("sandbox: %s" % level) not in r.get("output", ""):
                problems.append("the results file's output does not name the sandbox level: %r" % r.get("output", "")[:200])
        except ValueError as e:
            problems.append("the results file is not valid JSON: %s: %r" % (e, text(res)[:200]))
    for f in (out, res):
        size = os.path.getsize(f) if os.path.exists(f) else 0
        if size > 256 << 10:
            problems.append("%s is %d KiB (a submission inflates the report; want <= 256 KiB)"
                            % (os.path.basename(f), size >> 10))
    for f in (out, res, err):
        if secret in text(f):
            problems.append("the other submission's secret is in %s" % os.path.basename(f))
    return problems, summary

if sys.argv[1] == "survivors":
    print("\n".join(survivors(sys.argv[2])))
else:
    problems, summary = grade(*sys.argv[2:9])
    print(summary)
    for p in problems:
        print("PROBLEM " + p.replace("\n", " / "))
PY

  # What the test watches: metadata after each grade (cheap), checksums per run.
  # (Directories without their times: the grader's rename into results/ changes those.)
  listing() {
    {
      find "$bin" "$watch" "$other" "$results" -type d -printf '%p %y %i %m %U %G\n'
      find "$bin" "$watch" "$other" "$results" ! -type d -printf '%p %y %i %m %s %U %G %T@ %C@ %l\n'
      find "$W/tmpdir" -mindepth 1 -printf '%p %y\n'
    } 2>/dev/null | sort
  }
  checksums() {
    find "$bin" "$watch" "$other" -type f -exec sha256sum {} + | sort
  }
  checksums >"$W/sums.before"
  : >"$W/results.sums"

  # alive PID NAME: the process exists, is neither stopped nor dead, and has no tracer.
  alive() {
    line=$(cat "/proc/$1/stat" 2>/dev/null) || { echo "$2 (pid $1) is gone"; return; }
    st=${line##*) }
    st=${st%% *}
    case $st in
      Z | X) echo "$2 (pid $1) was killed" ;;
      T | t) echo "$2 (pid $1) is stopped" ;;
    esac
    tracer=$(sed -n 's/^TracerPid:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)
    [ "${tracer:-0}" = 0 ] || echo "$2 (pid $1) is traced by $tracer"
  }

  # hostile NAME PROG EXPECT TIMEOUT_MS SCRATCH_MB AS_LIMIT_MB RSS_LIMIT_MB
  #   EXPECT: full | zero:REGEX (the reason) | verdict:CHECK_ID (exit 4, that check failed)
  hostile() {
    name=$1 prog=$2 expect=$3 to=$4 scratch=$5 as=$6 rss_mb=$7
    case_=$name/$prog
    res=$results/$name-$prog.json
    listing | grep -v -e "^$res " -e "^$results/\.$name-$prog\.json\.execmap-" >"$W/before"
    nobody_env=
    [ -n "$nobody" ] && nobody_env="--env NOBODY_PID=$nobody"
    # shellcheck disable=SC2086 # nobody_env is two words or none
    # (timeout: a grader that outlives its own watchdog fails here instead of hanging the suite)
    (cd "$watch" && TMPDIR=$W/tmpdir /usr/bin/time -f '%e %M' -o "$W/time" \
      timeout -s KILL $((2 * to / 1000 + 90)) "$bin/execmap" grade --format json --timeout-ms "$to" --scratch-mb "$scratch" \
      --as-limit-mb "$as" --gradescope "$res" --loader "$bin/$marker-$name" -i \
      --env RESULTS="$res" --env WATCH_DIR="$watch" --env WATCHED="$watch/watched.txt" \
      --env OTHER="$other" --env VICTIM_PID="$victim" --env SHELL_PID="$$" $nobody_env \
      --env EXECMAP_BIN="$bin/execmap" --env PORT="$port" --env ABSTRACT="$abstract" \
      --env SCRATCH_MB="$scratch" --env AS_LIMIT_MB="$as" --env FSIZE_MB=1 \
      "$bin/$prog" x "y z" >"$W/out.json" 2>"$W/err")
    rc=$?
    problems=$(
      left=$("$py" "$W/check.py" survivors "$marker")
      if [ -n "$left" ]; then
        echo "PROBLEM processes of the submission outlived the grader: $(echo "$left" | tr '\n' ';')"
        for p in $(echo "$left" | sed 's/(.*//'); do kill -KILL "$p" 2>/dev/null; done
      fi
      "$py" "$W/check.py" grade "$rc" "$W/out.json" "$res" "$W/err" "$level" "$expect" "$secret"
      # shellcheck disable=SC2046 # the two numbers /usr/bin/time wrote
      set -- $(tail -n 1 "$W/time")
      secs=${1:-999} rss=${2:-0}
      bound=$((2 * to / 1000 + 5))
      awk -v s="$secs" -v b="$bound" 'BEGIN { exit !(s > b) }' &&
        echo "PROBLEM grade took ${secs}s, bound ${bound}s"
      [ "$rss_mb" != - ] && [ "$rss" -gt $((rss_mb * 1024 * rss_scale)) ] &&
        echo "PROBLEM grade's max RSS was $((rss / 1024)) MB, bound $((rss_mb * rss_scale)) MB"
      listing | grep -v -e "^$res " -e "^$results/\.$name-$prog\.json\.execmap-" >"$W/after"
      if ! cmp -s "$W/before" "$W/after"; then
        echo "PROBLEM files outside the scratch changed: $(diff "$W/before" "$W/after" | grep '^[<>]' | head -6 | tr '\n' ';')"
      fi
      for who in "$$:the test's shell" "$victim:the sacrificial sleep" ${nobody:+"$nobody:the uid-65534 sleep"}; do
        why=$(alive "${who%%:*}" "${who#*:}")
        [ -n "$why" ] && echo "PROBLEM $why"
      done
      [ -s "$W/log/stopped" ] && echo "PROBLEM $(tr '\n' ';' <"$W/log/stopped")"
      [ -s "$W/log/conn" ] && echo "PROBLEM connections reached the test's listeners: $(tr '\n' ';' <"$W/log/conn")"
      echo "TIME ${secs}s, $((rss / 1024)) MB"
    )
    : >"$W/log/stopped"
    : >"$W/log/conn"
    # A victim that was killed is replaced for the programs after this one.
    case $(alive "$victim" victim) in *gone* | *killed*) sleep 3600 & victim=$! ;; esac
    if [ -n "$nobody" ]; then
      case $(alive "$nobody" nobody) in *gone* | *killed*) start_nobody ;; esac
    fi
    echo "$$ $victim $nobody" >"$W/pids"
    [ -f "$res" ] && sha256sum "$res" >>"$W/results.sums"
    summary=$(echo "$problems" | sed -n 1p)
    timing=$(echo "$problems" | sed -n 's/^TIME //p')
    if echo "$problems" | grep -q '^PROBLEM '; then
      bad "$case_: $(echo "$problems" | sed -n 's/^PROBLEM //p' | tr '\n' '|' | sed 's/|$//') ($timing)"
    else
      ok "$case_: $summary; in $timing; nothing left, nothing changed"
    fi
  }

  # name              progs              expect                                        timeout scratch as  rss
  while read -r name progs expect to scratch as rss; do
    case $name in '' | '#'*) continue ;; esac
    for prog in $(echo "$progs" | tr , ' '); do
      hostile "$name" "$prog" "$expect" "$to" "$scratch" "$as" "$rss"
    done
  done <<'TABLE'
# The results file: forged, replaced by a symlink or a FIFO, rewritten by a child that sleeps.
results_write     static,static-pie full                                           3000 64 16384 -
results_symlink   static,static-pie full                                           3000 64 16384 -
results_fifo      static,static-pie full                                           3000 64 16384 -
results_daemon    static,static-pie full                                           3000 64 16384 -
# The grader and the test's processes: killed, stopped, traced, read through /proc.
kill_all          static            full                                           3000 64 16384 -
kill_grader       static            full                                           3000 64 16384 -
stop_grader       static            full                                           3000 64 16384 -
ptrace_grader     static            full                                           3000 64 16384 -
proc_read         static            full                                           3000 64 16384 -
# Processes that escape the grader: untraced clones, daemons, a fork bomb; threads.
clone_untraced    static,static-pie full                                           3000 64 16384 -
double_fork       static,static-pie full                                           3000 64 16384 -
fork_bomb         static            full                                           3000 64 16384 -
thread_then_load  static,static-pie full                                           3000 64 16384 -
thread_loads      static,static-pie full                                           3000 64 16384 -
# The network, another submission, files outside the scratch, the disk, stderr.
tcp_connect       static            full                                           3000 64 16384 -
unix_abstract     static            full                                           3000 64 16384 -
other_submission  static            full                                           3000 64 16384 -
write_outside     static,static-pie full                                           3000 64 16384 -
fill_disk         static            full                                           3000 8  16384 -
stderr_flood      static            full                                           3000 64 16384 -
# CPU and memory.
spin              static            zero:did.not.reach.the.entry.point.within      2000 64 16384 -
memory_exhaust    static            full                                           3000 64 1024  -
# Loaders that never load: the kernel does it, or a fake page stands at the entry.
exec_prog         static,static-pie zero:the.kernel.loaded.PROG,.not.your.loader   3000 64 16384 -
exec_memfd        static            zero:the.kernel.loaded.PROG,.not.your.loader   3000 64 16384 -
fake_entry_zero   static,static-pie zero:.                                         3000 64 16384 -
fake_entry_int3   static,static-pie zero:.                                         3000 64 16384 -
fake_entry_bytes  static,static-pie zero:.                                         3000 64 16384 -
# The grading phase amplified: 1,000,000 argv pointers at one 128 KiB string.
argv_amplify      static            verdict:stack.argc                             3000 64 1024  512
TABLE

  # After the run: the daemons have slept long enough (1 s) to write, had they survived.
  sleep 2
  left=$("$py" "$W/check.py" survivors "$marker")
  if [ -z "$left" ]; then ok "end of run: no process of any submission is left"
  else bad "end of run: processes left: $(echo "$left" | tr '\n' ';')"; fi
  if [ ! -s "$W/results.sums" ]; then
    bad "end of run: no results file was written"
  elif sha256sum -c --quiet "$W/results.sums" >"$W/log/sums" 2>&1; then
    ok "end of run: every results file is still the grader's ($(wc -l <"$W/results.sums") files)"
  else bad "end of run: results files changed after their grade: $(tr '\n' ';' <"$W/log/sums")"; fi
  checksums >"$W/sums.after"
  if cmp -s "$W/sums.before" "$W/sums.after"; then
    ok "end of run: the programs, PROG, execmap and the watched files have their checksums"
  else bad "end of run: checksums changed: $(diff "$W/sums.before" "$W/sums.after" | grep '^[<>]' | head -6 | tr '\n' ';')"; fi
  echo "run $label: $pass passed, $fail failed"
  [ "$fail" = 0 ]
  exit
fi

# ---------------------------------------------------------------------------------------------
# The suite: prepare a shared, world-readable copy; run it at each level; then the snapshots.
execmap=${1:?usage: hostile_grade.sh EXECMAP HOSTILE_DIR CORPUS_DIR}
# An ASan build reserves terabytes of shadow (no `ulimit -v` possible) and needs more memory:
# its bounds are relaxed, and the run says so.
rss_scale=1
if ldd "$execmap" 2>/dev/null | grep -q libasan; then
  rss_scale=4
  echo "note: a sanitizer build: no address-space limit on grade --snapshot, RSS bounds x$rss_scale"
fi
export rss_scale
hostile=${2:?usage: hostile_grade.sh EXECMAP HOSTILE_DIR CORPUS_DIR}
corpus=${3:?usage: hostile_grade.sh EXECMAP HOSTILE_DIR CORPUS_DIR}
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

if ! "$execmap" verify "$corpus/static" >/dev/null 2>"$tmp/why"; then
  if grep -q "needs ptrace" "$tmp/why"; then
    echo "SKIPPED: $(cat "$tmp/why")"
    exit 77
  fi
fi

# Without namespaces (a container's seccomp profile) the chroot fallback needs root: an
# unprivileged caller there has no sandbox at all, and grade refuses to run a submission.
"$execmap" grade --timeout-ms 3000 --loader /bin/true -i "$corpus/static" >/dev/null 2>"$tmp/why"
if grep -q "no sandbox level can be built" "$tmp/why"; then
  echo "SKIPPED: $(cat "$tmp/why")"
  exit 77
fi

# The copy every run starts from (execmap too: a rebuild during the suite changes nothing).
shared=$tmp/shared
mkdir -p "$shared/hostile"
# (It is rebuilt from time to time: a copy taken mid-write does not run; take another.)
for _ in 1 2 3 4 5 6; do
  cp "$execmap" "$shared/execmap" && "$shared/execmap" --version >/dev/null 2>&1 && break
  sleep 10
done
cp "$corpus/static" "$corpus/static-pie" "$shared/"
cp "$0" "$shared/hostile_grade.sh"
n=0
for f in "$hostile"/*; do
  if [ ! -f "$f" ] || [ ! -x "$f" ]; then continue; fi
  cp "$f" "$shared/hostile/"
  n=$((n + 1))
done
chmod -R a+rX "$shared"
if [ "$n" -lt 20 ]; then bad "only $n hostile programs in $hostile (want >= 20)"; fi

runs=
skipped=
# one_run LABEL LEVEL CMD...: a run, its lines shown as they come, its counts added here.
one_run() {
  label=$1 level=$2
  shift 2
  : >"$tmp/$label.log"
  "$@" sh "$shared/hostile_grade.sh" --run "$label" "$level" "$tmp/$label" >>"$tmp/$label.log" 2>&1 &
  job=$!
  tail -n +1 -f --pid=$job "$tmp/$label.log"
  wait $job
  counts=$(sed -n "s/^run $label: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p" "$tmp/$label.log")
  if [ -z "$counts" ]; then
    bad "run $label ended without its count line"
    return
  fi
  pass=$((pass + ${counts% *}))
  fail=$((fail + ${counts#* }))
  runs="$runs $label (${counts% *} passed, ${counts#* } failed);"
}

if [ "$(id -u)" = 0 ]; then
  one_run root-namespaces namespaces env -u EXECMAP_SANDBOX
  one_run root-chroot chroot env EXECMAP_SANDBOX=chroot
  if setpriv --reuid=65534 --regid=65534 --clear-groups unshare -Ur true 2>/dev/null; then
    mkdir "$tmp/nobody-namespaces"
    chown 65534:65534 "$tmp/nobody-namespaces"
    one_run nobody-namespaces namespaces setpriv --reuid=65534 --regid=65534 --clear-groups \
      env -u EXECMAP_SANDBOX HOME=/
  else
    skipped="$skipped nobody-namespaces (unprivileged user namespaces do not work here);"
  fi
else
  one_run user-namespaces namespaces env -u EXECMAP_SANDBOX
  skipped="$skipped root-chroot (the chroot level needs root); nobody-namespaces (needs root to switch to uid 65534);"
fi

# grade --snapshot of hostile snapshots: a clean exit 1 with one line, bounded time and memory;
# one just under the size cap gets a verdict, as bounded.
snap() {
  what=$1 file=$2 want_rc=$3
  # The grader's address space bounded, so a regression fails here and not the machine.
  (
    # shellcheck disable=SC3045 # dash and bash both have ulimit -v
    [ "$rss_scale" = 1 ] && ulimit -v 8388608
    exec /usr/bin/time -f '%e %M' -o "$tmp/time" "$execmap" grade --snapshot "$file" \
      "$shared/static" x >"$tmp/snap.out" 2>"$tmp/snap.err"
  )
  rc=$?
  # shellcheck disable=SC2046 # the two numbers /usr/bin/time wrote
  set -- $(tail -n 1 "$tmp/time")
  secs=${1:-999} rss=${2:-0}
  lines=$(wc -l <"$tmp/snap.err")
  slow=$(awk -v s="$secs" 'BEGIN { print (s > 20) }')
  if [ "$want_rc" = 1 ]; then
    if [ $rc = 1 ] && [ "$lines" = 1 ] && [ ! -s "$tmp/snap.out" ] && grep -q '^execmap: error: ' "$tmp/snap.err" &&
      [ "$slow" = 0 ] && [ "$rss" -le $((512 * 1024 * rss_scale)) ]; then
      ok "snapshot $what: exit 1 in ${secs}s, $((rss / 1024)) MB: $(cat "$tmp/snap.err")"
    else
      bad "snapshot $what: exit $rc (want 1), $lines stderr lines, ${secs}s, $((rss / 1024)) MB: $(head -c 300 "$tmp/snap.err")"
    fi
  else
    if { [ $rc = 0 ] || [ $rc = 4 ]; } && [ "$slow" = 0 ] && [ "$rss" -le $((512 * 1024 * rss_scale)) ]; then
      ok "snapshot $what: a verdict (exit $rc) in ${secs}s, $((rss / 1024)) MB"
    else
      bad "snapshot $what: exit $rc, ${secs}s, $((rss / 1024)) MB: $(head -c 300 "$tmp/snap.err")"
    fi
  fi
}
"$py" - "$tmp" <<'PY'
import sys
tmp = sys.argv[1]
head = '{"maps": "", "rip": "0x401510", "sp": "0x7fffffffe000", "image": "'
with open(tmp + "/huge.json", "w") as f:  # 300 MB: one 150 MB stack image in hex
    f.write(head)
    chunk = "00" * (1 << 20)
    for _ in range(150):
        f.write(chunk)
    f.write('"}\n')
with open(tmp + "/deep.json", "w") as f:  # "memory" nested 100000 arrays deep
    f.write(head + '00", "memory": ' + "[" * 100000 + "]" * 100000 + "}\n")
with open(tmp + "/under.json", "w") as f:  # 63 MiB: a 31 MiB image, eight 64 KiB segments
    f.write(head + "00" * (31 << 20) + '", "memory": [')
    f.write(", ".join('{"start": "0x%x", "hex": "%s"}' % (0x400000 + i * 0x10000, "cc" * 0x10000) for i in range(8)))
    f.write("]}\n")
PY
snap "of 300 MB" "$tmp/huge.json" 1
snap "nested 100000 deep" "$tmp/deep.json" 1
snap "of 63 MiB (under the cap)" "$tmp/under.json" 4
rm -f "$tmp/huge.json" "$tmp/under.json"

echo "runs:${runs:- none}"
[ -n "$skipped" ] && echo "SKIPPED runs:$skipped"
echo "hostile grade: $pass passed, $fail failed"
[ "$fail" = 0 ]
