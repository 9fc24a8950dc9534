#!/usr/bin/env python3
"""Writes the one Gradescope results.json of a submission on stdout, for run_autograder.

Either the loader did not build (--build-failed: score 0, the compiler's output), or it did
and each program's `execmap grade --gradescope` file is merged: tests renamed
"<program>: <check name>" with every other field kept (output, visibility, ...), scores
summed, and a top-level "output" that summarizes the programs and keeps each file's own
top-level "output" (grade's note on the sandbox it used, for one), said once for all the
programs that gave the same; each file's "extra_data" is kept under extra_data.programs.
A program whose grade did not write its file (execmap failed, timed out) gets one failed
0-point test with grade's stderr, so the submission still gets a result. The format is
Gradescope's (https://gradescope-autograders.readthedocs.io/en/latest/specs/).
"""
import argparse
import json
import sys

# Gradescope shows all of "output"; a log of megabytes helps nobody. Keep the end, where
# compilers and grade put the error that stopped them.
LOG_LIMIT = 20000


def tail(path, limit=LOG_LIMIT):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    if len(text) > limit:
        text = "[... " + str(len(text) - limit) + " characters cut ...]\n" + text[-limit:]
    return text


def points(x):
    return "%g" % x


def build_failed(args):
    log = tail(args.build_log).rstrip()
    output = ("The loader did not build: %s.\nBuild command: %s\n\n%s"
              % (args.build_failed, args.build_command, log or "(no output)"))
    return {
        "score": 0.0,
        "execution_time": args.elapsed,
        "output": output,
        "tests": [{"name": "Build the loader", "score": 0.0, "max_score": 0.0,
                   "status": "failed", "output": args.build_failed}],
    }


def read_manifest(path):
    """run_autograder's list of graded programs: NAME EXIT GRADESCOPE_JSON STDERR a line."""
    programs = []
    with open(path) as f:
        for line in f:
            words = line.split()
            if len(words) != 4:
                raise ValueError("manifest line %r: expected NAME EXIT JSON STDERR" % line)
            programs.append({"name": words[0], "exit": int(words[1]), "json": words[2],
                             "stderr": words[3]})
    return programs


def load_gradescope(path):
    """A grade --gradescope file, or None when it is missing or not that format."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("tests"), list):
        return None
    for t in data["tests"]:
        if not isinstance(t, dict) or not isinstance(t.get("name"), str) or \
                not isinstance(t.get("score"), (int, float)) or \
                not isinstance(t.get("max_score"), (int, float)):
            return None
    return data


def merge(args):
    tests = []
    summary = []
    notes = []
    grade_outputs = {}  # each distinct top-level "output" of grade -> the programs giving it
    per_program = {}
    total = 0.0
    total_max = 0.0
    build_log = tail(args.build_log, 4000).rstrip()
    summary.append("Loader built with: " + args.build_command)
    if build_log:
        notes.append("Build output:\n" + build_log)
    for p in read_manifest(args.manifest):
        name = p["name"]
        # Exit 0 = every check passed, 4 = some failed: both wrote the file. Anything else
        # (1 error, 2 usage, 124/137 the outer timeout, 127 no execmap) is not a verdict.
        data = load_gradescope(p["json"]) if p["exit"] in (0, 4) else None
        if data is None:
            why = tail(p["stderr"], 4000).strip() or "(no message)"
            tests.append({"name": name + ": could not be graded", "score": 0.0, "max_score": 0.0,
                          "status": "failed",
                          "output": "execmap grade could not grade this program (exit %d):\n%s"
                                    % (p["exit"], why)})
            summary.append("%s: not graded (execmap grade exited with status %d)"
                           % (name, p["exit"]))
            per_program[name] = {"exit": p["exit"], "score": 0.0, "max_score": 0.0}
            continue
        score = sum(float(t["score"]) for t in data["tests"])
        max_score = sum(float(t["max_score"]) for t in data["tests"])
        failed = []
        for t in data["tests"]:
            merged = dict(t)
            merged["name"] = name + ": " + t["name"]
            tests.append(merged)
            if float(t["score"]) < float(t["max_score"]):
                failed.append(t["name"])
        line = "%s: %s/%s" % (name, points(score), points(max_score))
        if failed:
            line += " (lost points: " + "; ".join(failed) + ")"
        summary.append(line)
        if isinstance(data.get("output"), str) and data["output"].strip():
            grade_outputs.setdefault(data["output"].strip(), []).append(name)
        total += score
        total_max += max_score
        per_program[name] = {"exit": p["exit"], "score": score, "max_score": max_score}
        if "extra_data" in data:
            per_program[name]["extra_data"] = data["extra_data"]
    # Said once for all the programs it is true of (grade's sandbox line is the same for all).
    for text, names in grade_outputs.items():
        notes.append(", ".join(names) + ": " + text)
    if not per_program:
        summary.append("No program was graded: programs.conf lists none.")
    problems = tail(args.config_problems, 4000).strip() if args.config_problems else ""
    if problems:
        notes.insert(0, "The autograder's configuration has problems; tell the course staff:\n"
                     + problems)
    summary.append("Total: %s/%s" % (points(total), points(total_max)))
    return {
        "score": total,
        "execution_time": args.elapsed,
        "output": "\n".join(summary) + ("\n\n" + "\n\n".join(notes) if notes else ""),
        "tests": tests,
        # Gradescope stores extra_data as given: the graded maximum, which results.json has
        # no field for (Gradescope takes the assignment's total from its own settings).
        "extra_data": {"max_score": total_max, "programs": per_program},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--elapsed", type=int, default=0, help="seconds the run took")
    ap.add_argument("--build-command", required=True, help="how the loader was built")
    ap.add_argument("--build-log", required=True, help="the build's stdout and stderr")
    ap.add_argument("--build-failed", metavar="WHY", help="the loader did not build: why")
    ap.add_argument("--manifest", help="the graded programs (see read_manifest)")
    ap.add_argument("--config-problems", metavar="FILE", help="programs.conf lines skipped")
    args = ap.parse_args()
    if args.build_failed is None and args.manifest is None:
        ap.error("one of --build-failed or --manifest is required")
    result = build_failed(args) if args.build_failed is not None else merge(args)
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
