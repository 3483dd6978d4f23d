#!/usr/bin/env python3
"""Turns one regeneration's raw results into docs/performance.md (driven by bench/report.sh).

    report.py context DIR [--kit KIT --peers-build DIR]
                                      records the machine, g++, duet's commit, the knobs and the paths
                                      (to write them relative to the repository) in DIR/context.json
    report.py sweep-data SWEEP.jsonl  prints the sweep's medians as a gnuplot data table (for plot.sh)
    report.py render DIR --out FILE --image PNG --notes NOTES
                                      writes the report from DIR's files:
      context.json   machine and settings (from `context`)
      steps.jsonl    {"step","seconds","exit"} per step report.sh ran
      commands.sh    the commands report.sh ran, in order
      peers.json     {"present","missing"}: the kit's peers that had binaries, and those that had not
      kit.jsonl      the peer kit's results file (run.sh with duet as the extra peer; unary A-D and
                     stream S, L, M records)
      allocs.jsonl   dedicated duet runs: the client's JSON line and the server's allocs line
      sweep.jsonl    bench/sweep.sh's results
      instructions.jsonl  bench/instructions.sh per peer: {"peer","server","client","command"}
      compile.json   bench/compile_time.sh's JSON line (optional)
      memory.jsonl   duet_bench_memory's JSON lines (optional)
Standard library only. The sections live in report_sections.py, the targets and their
baselines in report_targets.py, reading in report_results.py, formatting in report_format.py.
"""
import argparse
import json
import os
import platform
import subprocess
import sys

import report_sections
import report_targets
from report_format import relativizer
from report_results import Results, alloc_table, instructions_table, read_json, read_jsonl, stream_alloc_table, \
    sweep_levels


# ---------------------------------------------------------------- context


def sh(*cmd, cwd=None):
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def cmd_context(args):
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    # Uncommitted (and untracked) files under include/ and bench/: the numbers are of this tree.
    # The run's own results directory (bench/results/) is not a change to the code measured.
    dirty = sh("git", "status", "--porcelain", "-z", "--", "include", "bench", ":(exclude)bench/results", cwd=repo)
    ctx = {
        "date": sh("date", "-u", "+%Y-%m-%d %H:%M UTC"),
        "cpu": cpu or platform.processor() or "?",
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "os": sh("sh", "-c", ". /etc/os-release && echo \"$PRETTY_NAME\""),
        "gxx": sh("g++", "--version").splitlines()[0] if sh("g++", "--version") else "?",
        "commit": sh("git", "rev-parse", "--short", "HEAD", cwd=repo) or "?",
        "commit_subject": sh("git", "log", "-1", "--format=%s", cwd=repo),
        "dirty": [e[3:] for e in dirty.split("\0") if len(e) > 3 and e[2] == " "],
        "glibc_tunables": os.environ.get("GLIBC_TUNABLES", ""),
        "knobs": {k: os.environ[k] for k in ("RUNS", "PEERS", "SCENARIOS", "SWEEP_PEERS", "LEVELS", "SWEEP_RUNS",
                                              "ALLOC_RUNS", "STREAM_MESSAGES", "COMPILE_RUNS", "STEPS", "CALLS",
                                              "KIT_BUILD") if k in os.environ},
        # Where things were, to write paths relative to the repository in the report.
        "paths": {"repo": repo, "kit": args.kit or "", "peers_build": args.peers_build or ""},
    }
    with open(os.path.join(args.dir, "context.json"), "w") as f:
        json.dump(ctx, f, indent=1)
        f.write("\n")


# ---------------------------------------------------------------- sweep data


def cmd_sweep_data(args):
    res = Results(read_jsonl(args.file))
    peers = res.peers()
    print("inflight " + " ".join(peers))
    for level in sweep_levels(res):
        vals = [res.med(f"sweep-{level}", p, "calls_per_s") for p in peers]
        print(f"{level} " + " ".join("NaN" if v is None else f"{v:.0f}" for v in vals))

# ---------------------------------------------------------------- render


class Report:
    """One regeneration's inputs, read once, and the report's lines as they are written."""

    def __init__(self, args):
        d = self.dir = args.dir
        self.image = args.image
        self.ctx = read_json(os.path.join(d, "context.json")) or {}
        self.kit = Results(read_jsonl(os.path.join(d, "kit.jsonl")))
        self.sweep = Results(read_jsonl(os.path.join(d, "sweep.jsonl")))
        self.allocs = read_jsonl(os.path.join(d, "allocs.jsonl"))
        self.alloc = alloc_table(self.allocs)
        self.stream_alloc = stream_alloc_table(self.allocs)
        self.compile_ = read_json(os.path.join(d, "compile.json"))
        self.memory = read_jsonl(os.path.join(d, "memory.jsonl"))
        self.steps = read_jsonl(os.path.join(d, "steps.jsonl"))
        self.commands = open(os.path.join(d, "commands.sh")).read().strip() if os.path.exists(
            os.path.join(d, "commands.sh")) else ""
        self.notes = open(args.notes).read() if args.notes and os.path.exists(args.notes) else ""
        self.peers = read_json(os.path.join(d, "peers.json")) or {}
        self.missing = (self.peers.get("missing") or "").split()
        self.instructions = instructions_table(read_jsonl(os.path.join(d, "instructions.jsonl")))
        self.meta = self.kit.meta or self.sweep.meta
        self.tunables = self.ctx.get("glibc_tunables") or self.meta.get("glibc_tunables") or ""
        paths = self.paths = dict(self.ctx.get("paths") or {})
        here_repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        paths.setdefault("repo", here_repo)
        if not os.path.isabs(paths["repo"]):  # results already written relative to the repository
            paths["repo"] = here_repo
        self.repo = paths["repo"]
        self.relative = relativizer(paths)
        self.out_dir = os.path.dirname(os.path.abspath(args.out))
        self.lines = []

    def w(self, line):
        self.lines.append(line)

    def unpack(self, *names):
        return tuple(getattr(self, n) for n in names)

    def rel(self, p):
        """A link to p from the report: a file of the repository is linked from where the report lives
        in the repository (docs/ when it is written elsewhere, as in a smoke test)."""
        def inside(p, top):
            return os.path.commonpath([os.path.realpath(p), os.path.realpath(top)]) == os.path.realpath(top)

        base = self.out_dir if inside(self.out_dir, self.repo) or not inside(p, self.repo) else \
            os.path.join(self.repo, "docs")
        return os.path.relpath(os.path.abspath(p), base)


def render(args):
    r = Report(args)
    for section in (report_sections.machine, report_sections.commands, report_targets.issue11_targets,
                    report_targets.issue3_targets, report_sections.kit_table, report_sections.stream_table,
                    report_sections.allocations, report_sections.sweep, report_sections.instructions,
                    report_sections.compile_time, report_sections.memory):
        section(r)
    if r.notes:
        r.w(r.notes.rstrip("\n"))
        r.w("")
    # This machine's paths as the repository's readers know them (commands, compile commands, links).
    with open(args.out, "w") as f:
        f.write(r.relative("\n".join(r.lines)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("context")
    c.add_argument("dir")
    c.add_argument("--kit")
    c.add_argument("--peers-build")
    c.set_defaults(func=cmd_context)
    s = sub.add_parser("sweep-data")
    s.add_argument("file")
    s.set_defaults(func=cmd_sweep_data)
    r = sub.add_parser("render")
    r.add_argument("dir")
    r.add_argument("--out", required=True)
    r.add_argument("--image", required=True)
    r.add_argument("--notes")
    r.set_defaults(func=render)
    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    sys.exit(main())
