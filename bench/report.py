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
Standard library only.
"""
import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys

RAW, ASIO, DUET = "raw_epoll", "asio_coro", "duet"
PEER_ORDER = [RAW, ASIO, "grpc", "capnp", DUET]
SCENARIO_LABEL = {
    "A": "A: 1 connection, 1 in flight, 16 B",
    "B": "B: 1 connection, 64 in flight, 16 B",
    "C": "C: 8 connections × 16 in flight, 16 B",
    "D": "D: 1 connection, 16 in flight, 64 KiB",
}
STREAM_LABEL = {
    "S": "S: 1 stream, 1,000,000 messages of 16 B",
    "L": "L: 1 stream, 20,000 messages of 64 KiB",
    "M": "M: 8 connections × 1 stream, 250,000 messages of 16 B each",
}
SATURATED_FROM = 16  # the sweep's levels at and above this are compared for the part-4 target
SWEEP_TOLERANCE = 0.90  # a level may be this fraction of the best smaller level (the VM drifts)

# Issue 11's "no slower than before": the report before issue 11, read off docs/performance.md as
# committed in 8a41111 (measured at duet 4a4dd48; raw results bench/results/2026-12-02T160628Z).
# Medians of 7 kit runs (unary) and 5 sweep runs: (duet, raw_epoll) calls/s.
PREVIOUS = {
    "report": "8a41111",
    "measured_at": "4a4dd48",
    "unary": {"A": (11329, 11341), "B": (709586, 707040), "C": (1771599, 1941497), "D": (59449, 57585)},
    "sweep": {256: (1880638, 2480278), 4096: (5791101, 11713640)},
    "compile_seconds": 5.73,
}
# A unary ratio to the floor counts as no slower than before at this fraction of the previous one or
# more: the two reports ran hours apart on a VM whose speed drifts by tens of percent, and even
# within one run a ratio moves by a few percent from run to run.
UNARY_TOLERANCE = 0.95
# Issue 11's baseline for instructions per call (bench/instructions.sh, scenario B's shape), and
# its targets: duet's server within 250 and its client within 300 instructions of the floor's.
INSTRUCTIONS_BASELINE = {"raw_epoll": (16, 352), "duet": (431, 1252)}
INSTRUCTIONS_MARGIN = {"server": 250, "client": 300}


# ---------------------------------------------------------------- reading


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    out = []
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return out


def read_json(path):
    """A whole-file JSON object, or else the last JSON line of the file (None if neither)."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError):
        recs = read_jsonl(path)
        return recs[-1] if recs else None


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


class Results:
    """Per (scenario, peer): the good records and the count of failed ones, in file order."""

    def __init__(self, records):
        self.meta = next((r for r in records if r.get("meta")), {})
        self.good, self.failed = {}, {}
        for r in records:
            if r.get("meta") or "peer" not in r:
                continue
            key = (r.get("scenario"), r["peer"])
            self.good.setdefault(key, [])
            self.failed.setdefault(key, 0)
            if "error" in r:
                self.failed[key] += 1
            else:
                self.good[key].append(r)

        # Scenarios whose records are streams ("mode": "stream"), failed runs included.
        self.stream = {r.get("scenario") for r in records if r.get("mode") == "stream"}

    def scenarios(self, stream=False):
        """The unary scenarios, or with stream=True the stream ones, in order."""
        found = {s for s, _ in self.good} | {s for s, _ in self.failed}
        return sorted((s for s in found if (s in self.stream) == stream), key=scenario_key)

    def peers(self, scenario=None):
        found = {p for s, p in self.good if scenario is None or s == scenario}
        return sorted(found, key=lambda p: (PEER_ORDER.index(p) if p in PEER_ORDER else len(PEER_ORDER), p))

    def med(self, scenario, peer, key):
        return median(r.get(key) for r in self.good.get((scenario, peer), []))

    def runs(self, scenario, peer):
        ok, bad = len(self.good.get((scenario, peer), [])), self.failed.get((scenario, peer), 0)
        return f"{ok}" + (f" ({bad} FAILED)" if bad else "")


SCENARIO_ORDER = "ABCDSLM"


def scenario_key(s):
    if s and s.startswith("sweep-"):
        return (1, int(s[6:]), "")
    if s and len(s) == 1 and s in SCENARIO_ORDER:
        return (0, SCENARIO_ORDER.index(s), "")
    return (0, len(SCENARIO_ORDER), s or "")


# ---------------------------------------------------------------- formatting


def num(x, digits=0):
    if x is None:
        return "n/a"
    return f"{x:,.{digits}f}"


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt_ratio(r):
    return "n/a" if r is None else f"{r:.2f}"


def versus(r, a, b, digits=0, unit=""):
    """'0.91 × (a / b)', or 'n/a' when either side is missing."""
    if r is None:
        return "n/a"
    return f"{r:.2f} × ({num(a, digits)}{unit} / {num(b, digits)}{unit})"


def verdict(ok):
    return "not measured" if ok is None else ("**met**" if ok else "**not met**")


def md_table(header, rows, align=None):
    align = align or ["---"] * len(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


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


# ---------------------------------------------------------------- sweep


def sweep_levels(res):
    return sorted(int(s[6:]) for s in {s for s, _ in res.good} if s and s.startswith("sweep-"))


def cmd_sweep_data(args):
    res = Results(read_jsonl(args.file))
    peers = res.peers()
    print("inflight " + " ".join(peers))
    for level in sweep_levels(res):
        vals = [res.med(f"sweep-{level}", p, "calls_per_s") for p in peers]
        print(f"{level} " + " ".join("NaN" if v is None else f"{v:.0f}" for v in vals))


def sweep_flatness(res, peer):
    """The worst ratio, over levels above SATURATED_FROM, of calls/s to the best smaller level >= it."""
    levels = [l for l in sweep_levels(res) if l >= SATURATED_FROM]
    worst, best = None, None
    for level in levels:
        v = res.med(f"sweep-{level}", peer, "calls_per_s")
        if v is None:
            return None
        if best is not None:
            r = v / best
            worst = r if worst is None else min(worst, r)
        best = v if best is None else max(best, v)
    return worst


# ---------------------------------------------------------------- render


def render(args):
    d = args.dir
    ctx = read_json(os.path.join(d, "context.json")) or {}
    kit = Results(read_jsonl(os.path.join(d, "kit.jsonl")))
    sweep = Results(read_jsonl(os.path.join(d, "sweep.jsonl")))
    allocs = read_jsonl(os.path.join(d, "allocs.jsonl"))
    compile_ = read_json(os.path.join(d, "compile.json"))
    memory = read_jsonl(os.path.join(d, "memory.jsonl"))
    steps = read_jsonl(os.path.join(d, "steps.jsonl"))
    commands = open(os.path.join(d, "commands.sh")).read().strip() if os.path.exists(
        os.path.join(d, "commands.sh")) else ""
    notes = open(args.notes).read() if args.notes and os.path.exists(args.notes) else ""
    peers = read_json(os.path.join(d, "peers.json")) or {}
    instructions = instructions_table(read_jsonl(os.path.join(d, "instructions.jsonl")))
    paths = dict(ctx.get("paths") or {})
    here_repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    paths.setdefault("repo", here_repo)
    if not os.path.isabs(paths["repo"]):  # results already written relative to the repository
        paths["repo"] = here_repo
    repo = paths["repo"]
    relative = relativizer(paths)
    out_dir = os.path.dirname(os.path.abspath(args.out))

    def inside(p, top):
        return os.path.commonpath([os.path.realpath(p), os.path.realpath(top)]) == os.path.realpath(top)

    def rel(p):
        """A link to p from the report: a file of the repository is linked from where the report lives
        in the repository (docs/ when it is written elsewhere, as in a smoke test)."""
        base = out_dir if inside(out_dir, repo) or not inside(p, repo) else os.path.join(repo, "docs")
        return os.path.relpath(os.path.abspath(p), base)

    med = kit.med
    o = []
    w = o.append

    # ---- heading, machine
    w("# duet — performance\n")
    w("Generated by `bench/report.sh` from the raw results in "
      f"[{relative(os.path.abspath(d))}]({rel(d)}/); do not edit by hand — the prose at the end comes from "
      "`bench/report-notes.md`. The machine is a shared 2-vCPU VM whose speed drifts by tens of "
      "percent within minutes, so compare peers only within one run, where their runs interleave, "
      "and trust ratios and medians more than absolute numbers.\n")
    w("## Machine and build\n")
    dirty = ctx.get("dirty") or []
    commit = f"`{ctx.get('commit', '?')}` ({ctx.get('commit_subject', '')})"
    if len(dirty) > 6:
        commit += (f" **plus uncommitted changes** in {len(dirty)} files under " +
                   ", ".join(sorted({f"`{p.split('/')[0]}/`" for p in dirty})) + " (listed in the results' context.json)")
    elif dirty:
        commit += " **plus uncommitted changes** in " + ", ".join(f"`{p}`" for p in dirty)
    meta = kit.meta or sweep.meta
    tunables = ctx.get("glibc_tunables") or meta.get("glibc_tunables") or ""
    w(f"- **Date:** {ctx.get('date', meta.get('date', '?'))}")
    w(f"- **Machine:** {ctx.get('cpu', meta.get('cpu', '?'))}, {ctx.get('cores', meta.get('cores', '?'))} cores, "
      f"Linux {ctx.get('kernel', meta.get('kernel', '?'))}, {ctx.get('os', '')}".rstrip(", "))
    w(f"- **Compiler:** {ctx.get('gxx', '?')}; duet's bench binaries and the kit's peers at -O2")
    w(f"- **duet:** commit {commit}")
    missing = (peers.get("missing") or "").split()
    if missing:
        w("- **Peers not measured:** " + ", ".join(missing) + " — no binaries in `$PEERS_BUILD` (the kit's "
          "`build.sh` builds them, installing the Debian packages they need; see the build log in the results)")
    if meta:
        w(f"- **Peers (Debian packages):** gRPC {meta.get('grpc', '?')}, Cap'n Proto {meta.get('capnp', '?')}, "
          f"asio {meta.get('asio', '?')}")
    w(f"- **GLIBC_TUNABLES:** " + (f"`{tunables}` (inherited by every binary)" if tunables else "not set"))
    w("- **Pinning:** every server on CPU 1, every client on CPU 0 (`taskset`), 127.0.0.1 only; a fresh "
      "server on a fresh port for every client run")
    if steps:
        total = sum(s.get("seconds", 0) for s in steps)
        w(f"- **Regeneration took** {total / 60:.1f} min: " + ", ".join(
            f"{s['step']} {s['seconds']:.0f} s" + ("" if s.get("exit", 0) == 0 else f" (exit {s['exit']})")
            for s in steps))
        loads = [f"{s['step']} {s['load']}" for s in steps if s.get("load")]
        if loads:
            w("- **Load average** (1 minute) when each step began — other work on these 2 cores slows "
              "latency-bound runs most (1 call in flight): " + ", ".join(loads))
    w("")

    # ---- commands
    w("## Commands\n")
    knobs = " ".join(f"{k}={v!r}" if " " in v else f"{k}={v}" for k, v in (ctx.get("knobs") or {}).items())
    w("One command regenerates this file, the plot and the raw results:\n")
    w("```sh\n" + (f"{knobs} " if knobs else "") + "bench/report.sh\n```\n")
    if commands:
        w("which ran, in order:\n")
        w("```sh\n" + commands + "\n```\n")

    # ---- issue 11's targets
    alloc = alloc_table(allocs)
    stream_alloc = stream_alloc_table(allocs)
    w("## Issue 11's targets\n")
    w("Computed from this run (the sections below give every figure and its runs); _before_ is the report "
      f"before issue 11 (`docs/performance.md` at {PREVIOUS['report']}, measured at duet {PREVIOUS['measured_at']}), "
      "and the instruction baseline is the one issue 11 quotes. Every ratio is duet's over the raw floor's "
      "(`raw_epoll`) in this run.\n")
    rows = []
    for s_, key, factor, what, digits in (("S", "messages_per_s", 0.7, "messages/s", 0),
                                          ("M", "messages_per_s", 0.7, "messages/s", 0),
                                          ("L", "mb_per_s", 0.9, "MB/s", 1)):
        d_, r_ = med(s_, DUET, key), med(s_, RAW, key)
        rr = ratio(d_, r_)
        rows.append([f"{s_} (stream): {what} ≥ {factor} × the floor's", versus(rr, d_, r_, digits),
                     verdict(None if rr is None else rr >= factor)])
    for s_ in ("S", "L", "M"):
        d_, r_ = med(s_, DUET, "first_message_us"), med(s_, RAW, "first_message_us")
        rr = ratio(d_, r_)
        rows.append([f"{s_}: first message ≤ 1.5 × the floor's", versus(rr, d_, r_, 0, " µs"),
                     verdict(None if rr is None else rr <= 1.5)])
    kit_per_message = {s_: med(s_, DUET, "allocs_per_message") for s_ in STREAM_LABEL}
    for side in ("client", "server"):
        found = {s_: stream_alloc[s_][side] for s_ in STREAM_LABEL
                 if s_ in stream_alloc and stream_alloc[s_].get(side) is not None}
        if side == "client":  # the kit's runs of duet's client count too: the worst of both
            for s_, v in kit_per_message.items():
                if v is not None:
                    found[s_] = max(v, found.get(s_, v))
        worst = max(found.values()) if found else None
        rows.append([f"0 allocations per message, {side} (S, L, M)",
                     "n/a" if worst is None else f"at most {worst:.2f} (" + ", ".join(
                         f"{k} {v:.2f}" for k, v in sorted(found.items(), key=lambda kv: scenario_key(kv[0]))) + ")",
                     verdict(None if worst is None else worst == 0)])
    for s_ in ("A", "B", "C", "D"):
        now = ratio(med(s_, DUET, "calls_per_s"), med(s_, RAW, "calls_per_s"))
        before = ratio(*PREVIOUS["unary"][s_])
        rows.append([f"{s_} (unary): calls/s ÷ the floor's no lower than before (≥ {UNARY_TOLERANCE} × before's)",
                     "n/a" if now is None else f"{now:.2f} (before {before:.2f})",
                     verdict(None if now is None else now >= UNARY_TOLERANCE * before)])
    for level in (256, 4096):
        d_, r_ = sweep.med(f"sweep-{level}", DUET, "calls_per_s"), sweep.med(f"sweep-{level}", RAW, "calls_per_s")
        rr = ratio(d_, r_)
        before = ratio(*PREVIOUS["sweep"][level])
        rows.append([f"{level:,} calls in flight on one connection: calls/s ≥ 0.85 × the floor's",
                     "n/a" if rr is None else f"{versus(rr, d_, r_)}; before {before:.2f}",
                     verdict(None if rr is None else rr >= 0.85)])
    base_r, base_d = INSTRUCTIONS_BASELINE[RAW], INSTRUCTIONS_BASELINE[DUET]
    for i, side in enumerate(("server", "client")):
        d_, r_ = instructions.get(DUET, {}).get(side), instructions.get(RAW, {}).get(side)
        margin = INSTRUCTIONS_MARGIN[side]
        diff = None if d_ is None or r_ is None else d_ - r_
        rows.append([f"instructions per call, {side}: duet ≤ the floor's + {margin}",
                     "not measured" if diff is None else
                     f"{d_:,} − {r_:,} = {diff:+,} (baseline {base_d[i]:,} − {base_r[i]:,} = {base_d[i] - base_r[i]:+,})",
                     verdict(None if diff is None else diff <= margin)])
    secs = (compile_ or {}).get("seconds")
    mb = (compile_ or {}).get("max_rss_mb")
    rows.append(["compile time ≤ 5 s (g++ 12, -O2), header-only",
                 "not measured" if secs is None else f"{secs:.2f} s (before {PREVIOUS['compile_seconds']:.2f} s)",
                 verdict(None if secs is None else secs <= 5)])
    rows.append(["compile memory ≤ 350 MB, header-only", "not measured" if mb is None else f"{mb:.0f} MB",
                 verdict(None if mb is None else mb <= 350)])
    w(md_table(["target", "measured", ""], rows, ["---", "---", "---"]))
    w("")

    # ---- targets
    runs_a = len(kit.good.get(("A", DUET), []))
    w("## Issue 3's targets\n")
    w("Computed from the medians below (each over the runs in the table's `runs` column).\n")
    rows = []

    def throughput_target(s, what, floor_factor, ahead_of_asio):
        d_, r_, a_ = med(s, DUET, "calls_per_s"), med(s, RAW, "calls_per_s"), med(s, ASIO, "calls_per_s")
        rr = ratio(d_, r_)
        rows.append([f"{s}: calls/s ≥ {floor_factor} × raw floor", versus(rr, d_, r_),
                     verdict(None if rr is None else rr >= floor_factor)])
        if ahead_of_asio:
            ra = ratio(d_, a_)
            rows.append([f"{s}: ahead of hand-written asio", versus(ra, d_, a_),
                         verdict(None if ra is None else ra > 1.0)])

    p50d, p50r = med("A", DUET, "p50_us"), med("A", RAW, "p50_us")
    ra = ratio(p50d, p50r)
    rows.append(["A: p50 latency ≤ 1.10 × raw floor's", versus(ra, p50d, p50r, 1, " µs"),
                 verdict(None if ra is None else ra <= 1.10)])
    throughput_target("B", "", 0.85, True)
    throughput_target("C", "", 0.8, True)
    dd, dr, da = med("D", DUET, "calls_per_s"), med("D", RAW, "calls_per_s"), med("D", ASIO, "calls_per_s")
    better = max([v for v in (dr, da) if v is not None], default=None)
    rd = ratio(dd, better)
    rows.append(["D: calls/s ≥ 0.9 × the better of raw and asio",
                 versus(rd, dd, better), verdict(None if rd is None else rd >= 0.9)])

    for side in ("client", "server"):
        vals = [alloc[s][side] for s in ("A", "B", "C") if s in alloc and alloc[s].get(side) is not None]
        worst = max(vals) if vals else None
        rows.append([f"0 allocations per call, {side} (A-C: 16-byte payloads)",
                     "n/a" if worst is None else f"at most {worst:.2f}",
                     verdict(None if worst is None else worst == 0)])
    flat = sweep_flatness(sweep, DUET)
    rows.append([f"calls/s does not fall with calls in flight (each level ≥ {SATURATED_FROM} at least "
                 f"{SWEEP_TOLERANCE:.2f} × the best smaller one)",
                 "n/a" if flat is None else f"worst {flat:.2f} ×", verdict(None if flat is None else flat >= SWEEP_TOLERANCE)])
    for label, figures in (("header-only (the default)", compile_),
                           ("with `DUET_SEPARATE_COMPILATION`", (compile_ or {}).get("separate"))):
        secs = figures.get("seconds") if figures else None
        mb = figures.get("max_rss_mb") if figures else None
        rows.append([f"compile time ≤ 5 s (g++ 12, -O2), {label}", "not measured" if secs is None else f"{secs:.2f} s",
                     verdict(None if secs is None else secs <= 5)])
        rows.append([f"compile memory ≤ 350 MB, {label}", "not measured" if mb is None else f"{mb:.0f} MB",
                     verdict(None if mb is None else mb <= 350)])
    w(md_table(["target", "measured", ""], rows, ["---", "---", "---"]))
    w("")

    # ---- kit table
    kit_readme = relative(os.path.join(paths["kit"], "README.md")) if paths.get("kit") else "../shared/peers/README.md"
    w("## Every peer, scenarios A-D (the peer kit)\n")
    if kit.scenarios():
        w(f"The kit's scenarios (`{kit_readme}`): raw_epoll is the floor (no RPC semantics), "
          "asio_coro what a competent user hand-rolls on asio, then gRPC and Cap'n Proto. Median over runs of each "
          "column; `× raw` is calls/s over raw_epoll's, `MB/s` payload bytes per second one way.\n")
        rows = []
        for s in kit.scenarios():
            floor = med(s, RAW, "calls_per_s")
            for p in kit.peers(s):
                recs = kit.good.get((s, p), [])
                if not recs:
                    rows.append([s, p, "FAILED", "", "", "", "", kit.runs(s, p)])
                    continue
                cps = med(s, p, "calls_per_s")
                payload = recs[0].get("payload", 0)
                rows.append([short_label(s, recs[0]), f"**{p}**" if p == DUET else p, num(cps), fmt_ratio(ratio(cps, floor)),
                             num(cps * payload / 1e6, 1), num(med(s, p, "p50_us"), 1), num(med(s, p, "p99_us"), 1),
                             kit.runs(s, p)])
        w(md_table(["scenario", "peer", "calls/s", "× raw", "MB/s", "p50 µs", "p99 µs", "runs"], rows,
                   ["---", "---", "---:", "---:", "---:", "---:", "---:", "---"]))
        w("\n" + "\n".join(f"- {SCENARIO_LABEL[s]}" for s in kit.scenarios() if s in SCENARIO_LABEL) + "\n")
        w("duet's ratios (calls/s, medians); _before_ is duet ÷ raw in the report before issue 11 "
          f"({PREVIOUS['report']}, measured at {PREVIOUS['measured_at']}):\n")
        rows = []
        for s in kit.scenarios():
            d_, r_, a_ = med(s, DUET, "calls_per_s"), med(s, RAW, "calls_per_s"), med(s, ASIO, "calls_per_s")
            b_ = max([v for v in (r_, a_) if v is not None], default=None)
            before = PREVIOUS["unary"].get(s)
            rows.append([SCENARIO_LABEL.get(s, s), fmt_ratio(ratio(d_, r_)),
                         fmt_ratio(ratio(*before)) if before else "n/a", fmt_ratio(ratio(d_, a_)),
                         fmt_ratio(ratio(d_, b_)),
                         fmt_ratio(ratio(med(s, DUET, "p50_us"), med(s, RAW, "p50_us")))])
        w(md_table(["scenario", "duet ÷ raw", "before", "duet ÷ asio", "duet ÷ better of raw, asio",
                    "p50: duet ÷ raw"], rows, ["---", "---:", "---:", "---:", "---:", "---:"]))
        if tunables:
            w(f"\nRun with `GLIBC_TUNABLES={tunables}`; the kit's README explains how much this changes gRPC's and "
              "Cap'n Proto's D.")
        else:
            w("\nRun without `GLIBC_TUNABLES`; gRPC and Cap'n Proto lose much of their D to glibc malloc trimming "
              "(see the kit's README): set it to compare them fairly in D.")
    else:
        w("Not measured (no kit results).")
    w("")

    # ---- streams
    w("## Every peer, stream scenarios S, L and M (the peer kit)\n")
    streams = kit.scenarios(stream=True)
    if streams:
        w("One request, many responses (the kit's stream mode, same run and method as above): each connection "
          "opens one server stream and the server sends its messages as fast as the connection takes them. "
          "Median over runs of each column; `× raw` is messages/s over raw_epoll's (the same as the ratio of "
          "MB/s), `first µs` the time from opening the streams to the first message of any, `× raw` after it "
          "that over raw_epoll's; `RSS` is the client's peak resident set. Cap'n Proto has no server-streaming "
          "call, so it is not in this table.\n")
        rows = []
        for s in streams:
            floor, floor_first = med(s, RAW, "messages_per_s"), med(s, RAW, "first_message_us")
            for p in kit.peers(s):
                recs = kit.good.get((s, p), [])
                if not recs:
                    rows.append([s, p, "FAILED", "", "", "", "", "", kit.runs(s, p)])
                    continue
                mps, first = med(s, p, "messages_per_s"), med(s, p, "first_message_us")
                r_ = ratio(mps, floor)
                rows.append([stream_label(s, recs[0]), f"**{p}**" if p == DUET else p, num(mps),
                             "n/a" if r_ is None else (f"{r_:.2f}" if r_ >= 0.1 else f"{r_:.3f}"),
                             num(med(s, p, "mb_per_s"), 1), num(first), fmt_ratio(ratio(first, floor_first)),
                             num(med(s, p, "peak_rss_kb") / 1024 if med(s, p, "peak_rss_kb") is not None else None, 1),
                             kit.runs(s, p)])
        w(md_table(["scenario", "peer", "messages/s", "× raw", "MB/s", "first µs", "× raw", "RSS MB", "runs"], rows,
                   ["---", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---"]))
        w("\n" + "\n".join(f"- {STREAM_LABEL[s]}" for s in streams if s in STREAM_LABEL))
        absent = [p for p in ("grpc", "asio") if p in missing]
        if absent:
            w("\n" + " and ".join({"grpc": "gRPC", "asio": "asio"}[p] for p in absent) +
              " not measured (no binaries; see Machine and build).")
        w("")
    else:
        w("Not measured (no stream results from the kit).\n")

    # ---- allocations
    def alloc_figures(table, labels, count, count_header, kit_key, stream):
        """The dedicated runs' table, then the client's figure from the kit's runs."""
        rows = [[labels.get(s, s), num(a.get("client"), 2), num(a.get("server"), 2), num(a.get(count))]
                for s, a in sorted(table.items(), key=lambda kv: scenario_key(kv[0]))]
        w(md_table(["scenario", "client", "server", count_header], rows, ["---", "---:", "---:", "---:"]))
        kit_client = {s: med(s, DUET, kit_key) for s in kit.scenarios(stream=stream)}
        if any(v is not None for v in kit_client.values()):
            w("\nThe client's figure in the kit's runs (median): " + ", ".join(
                f"{s} {v:.2f}" for s, v in kit_client.items() if v is not None) + ".")

    w("## Allocations per call\n")
    if alloc:
        w("From dedicated duet runs (one pinned server and client per scenario, the kit's parameters) with a "
          "replaced global `operator new` in both binaries: the client counts from the end of its warm-up to the "
          "end of the timed phase, the server from its first call served to SIGTERM; both divide by calls. "
          "The client's figure includes what the benchmark itself allocates (see `bench/README.md`).\n")
        alloc_figures(alloc, SCENARIO_LABEL, "server_calls", "calls the server counted", "allocs_per_call", False)
    else:
        w("Not measured.")
    w("")
    w("### Allocations per stream message\n")
    if stream_alloc:
        counts = {}  # scenario -> the messages its client received, per run
        for r in allocs:
            if r.get("scenario") in STREAM_LABEL and r.get("side") == "client" and r.get("messages") is not None:
                counts.setdefault(r["scenario"], []).append(num(r["messages"]))
        counts = [f"{s} {' / '.join(v)}" for s, v in sorted(counts.items(), key=lambda kv: scenario_key(kv[0]))]
        w("The same kind of dedicated runs for the stream scenarios: the client counts every `operator new` from "
          "the streams' opening (their state, once per stream, included) to the last message, the server from its "
          "first message sent to SIGTERM; both divide by the messages after that point. Messages the client "
          f"received per run: {', '.join(counts) or 'n/a'}.\n")
        alloc_figures(stream_alloc, STREAM_LABEL, "server_messages", "messages the server counted",
                      "allocs_per_message", True)
    else:
        w("Not measured.")
    w("")

    # ---- sweep
    w("## Calls in flight on one connection\n")
    levels = sweep_levels(sweep)
    if levels:
        peers = sweep.peers()
        nruns = max((len(v) + sweep.failed.get(k, 0) for k, v in sweep.good.items()), default=0)
        w(f"Calls per second (median over {nruns} run{'s' if nruns != 1 else ''}) with 1 to {levels[-1]} calls in flight on one connection, "
          "16-byte payloads (`bench/sweep.sh`). The last row is the part-4 check: the worst ratio of a level "
          f"≥ {SATURATED_FROM} to the best smaller level ≥ {SATURATED_FROM}.\n")
        counts = []
        for level in levels:
            by_calls = {}
            for p in peers:
                recs = sweep.good.get((f"sweep-{level}", p), [])
                if recs:
                    by_calls.setdefault(recs[0].get("calls"), []).append(p)
            groups = [f"{num(c)}" + ("" if len(ps) == len(peers) else f" ({', '.join(ps)})")
                      for c, ps in by_calls.items()]
            counts.append(f"{level} in flight: " + ", ".join(groups))
        w("Calls per run: " + "; ".join(counts) + ".\n")
        rows = []
        for level in levels:
            rows.append([level] + [num(sweep.med(f"sweep-{level}", p, "calls_per_s")) for p in peers])
        rows.append(["part 4: worst ÷ best smaller"] + [fmt_ratio(sweep_flatness(sweep, p)) for p in peers])
        w(md_table(["in flight"] + [f"**{p}**" if p == DUET else p for p in peers], rows,
                   ["---:"] + ["---:"] * len(peers)))
        w("\nduet ÷ raw_epoll at each level (issue 11's target: ≥ 0.85 at 256 and 4,096); _before_ is the report "
          f"before issue 11 ({PREVIOUS['report']}):\n")
        rows = []
        for level in levels:
            before = PREVIOUS["sweep"].get(level)
            rows.append([level, fmt_ratio(ratio(sweep.med(f"sweep-{level}", DUET, "calls_per_s"),
                                                sweep.med(f"sweep-{level}", RAW, "calls_per_s"))),
                         fmt_ratio(ratio(*before)) if before else ""])
        w(md_table(["in flight", "duet ÷ raw", "before"], rows, ["---:", "---:", "---:"]))
        failed = sum(sweep.failed.values())
        if failed:
            w(f"\n{failed} sweep runs FAILED (see the results file).")
        # Only this run's plot: an image left by an earlier run would show other numbers.
        plotted = any(st.get("step") == "plot" and st.get("exit", 0) == 0 for st in steps)
        if plotted and os.path.exists(args.image):
            w(f"\n![calls per second against calls in flight]({rel(args.image)})\n")
        else:
            w(f"\n(No plot: this run did not make `{relative(os.path.abspath(args.image))}`; see `bench/plot.sh`, "
              "which needs gnuplot.)\n")
        w("p50 latency (µs, median) at each level:\n")
        rows = [[level] + [num(sweep.med(f"sweep-{level}", p, "p50_us"), 1) for p in peers] for level in levels]
        w(md_table(["in flight"] + peers, rows, ["---:"] + ["---:"] * len(peers)))
    else:
        w("Not measured.")
    w("")

    # ---- instructions
    w("## Instructions per call\n")
    if instructions:
        w("User-space instructions per call under callgrind, in scenario B's shape (1 connection, 64 calls in "
          "flight, 16-byte payloads): each side runs under `valgrind --tool=callgrind` with the other side "
          "native, for 20,000 and for 60,000 calls, and the figure is the difference of the two runs' totals over "
          "40,000, so start-up and shutdown cancel out (`bench/instructions.sh`; see `bench/README.md`). Unlike "
          "wall time, it does not drift with the machine: two runs agree within an instruction or two. "
          "The baseline is the one issue 11 quotes.\n")
        rows = []
        for peer in (RAW, DUET):
            r = instructions.get(peer)
            base = INSTRUCTIONS_BASELINE[peer]
            if r is None or "error" in r:
                rows.append([peer, "not measured" if r is None else f"FAILED ({r.get('error')})", "", num(base[0]), num(base[1]),
                             f"`{r['command']}`" if r else ""])
            else:
                rows.append([f"**{peer}**" if peer == DUET else peer, num(r["server"]), num(r["client"]),
                             num(base[0]), num(base[1]), f"`{r['command']}`"])
        d_, r_ = instructions.get(DUET, {}), instructions.get(RAW, {})
        if all(isinstance(x.get(k), int) for x in (d_, r_) for k in ("server", "client")):
            rows.append(["duet − floor (target: server ≤ +250, client ≤ +300)", f"{d_['server'] - r_['server']:+,}",
                         f"{d_['client'] - r_['client']:+,}",
                         f"{INSTRUCTIONS_BASELINE[DUET][0] - INSTRUCTIONS_BASELINE[RAW][0]:+,}",
                         f"{INSTRUCTIONS_BASELINE[DUET][1] - INSTRUCTIONS_BASELINE[RAW][1]:+,}", ""])
        w(md_table(["peer", "server", "client", "baseline server", "baseline client", "command"], rows,
                   ["---", "---:", "---:", "---:", "---:", "---"]))
    else:
        w("Not measured (valgrind missing or `bench/instructions.sh` failed).")
    w("")

    # ---- compile time
    w("## Compile time\n")
    if compile_:
        w("A translation unit that includes the client, the server and the TCP transport and defines a few "
          "methods (`bench/compile_time.sh`):\n")
        sep, lib = compile_.get("separate"), compile_.get("library")
        figs = [("header-only (the default): the TU compiles all of duet it uses", compile_)]
        if sep:
            figs.append(("with `-DDUET_SEPARATE_COMPILATION`: the same TU reads only declarations of duet's "
                         "non-template code", sep))
        if lib:
            figs.append(("the one TU such a program adds (`#include <duet/src.hpp>`), compiled once, not again "
                         "when the user's own files change", lib))
        w("| build | wall s | CPU s | peak MB | command |\n|---|---:|---:|---:|---|")
        for label, f in figs:
            w(f"| {label} | **{f.get('seconds', 0):.2f}** | {f.get('cpu_seconds', 0):.2f} | "
              f"**{f.get('max_rss_mb', 0):.0f}** | `{f.get('command', '')}` |")
        w("\nTarget: at most 5 s and 350 MB. Each figure is the median of `runs` compilations, the three kinds "
          "taking turns (every run's figures: `compile.log` in the results folder).\n")
        extra = {k: v for k, v in compile_.items()
                 if k not in ("seconds", "max_rss_mb", "command", "cpu_seconds", "separate", "library")}
        if extra:
            w("- also: " + ", ".join(f"{k} = {v}" for k, v in extra.items()))
    else:
        w("Not measured (`bench/compile_time.sh` missing or failed).")
    w("")

    # ---- memory
    w("## Memory\n")
    if memory:
        w("Measured by `duet_bench_memory` (`bench/memory.cpp`; its method is in `bench/README.md`): the growth "
          "of each process's resident memory, divided by the count.\n")
        rows = []
        for m in memory:
            context = ", ".join(f"{num(v) if isinstance(v, (int, float)) else v} {k.replace('_', ' ')}"
                                for k, v in m.items() if "bytes" not in k)
            per = {}  # what -> {side: bytes}; keys like server_bytes_per_idle_connection
            for k, v in m.items():
                side, sep, what = k.partition("_bytes_per_")
                if sep:
                    per.setdefault(what, {})[side] = v
                elif "bytes" in k:
                    per.setdefault(k, {})["value"] = v
            for what, sides in per.items():
                fmt = lambda v: num(v) if isinstance(v, (int, float)) else ("n/a" if v is None else v)
                rows.append([f"per {what.replace('_', ' ')}", context, fmt(sides.get("server")),
                             fmt(sides.get("client", sides.get("value")))])
        w(md_table(["bytes", "measured with", "server", "client"], rows, ["---", "---", "---:", "---:"]))
    else:
        w("Not measured (`duet_bench_memory` missing or failed).")
    w("")

    # ---- notes
    if notes:
        w(notes.rstrip("\n"))
        w("")

    # This machine's paths as the repository's readers know them (commands, compile commands, links).
    text = relative("\n".join(o))
    with open(args.out, "w") as f:
        f.write(text)


def short_label(s, r):
    """'B 1×64, 16 B' from a kit record."""
    if "payload" not in r:
        return s
    b = r["payload"]
    size = f"{b // 1024} KiB" if b >= 1024 and b % 1024 == 0 else f"{b} B"
    return f"{s} {r.get('connections', '?')}×{r.get('inflight', '?')}, {size}"


def stream_label(s, r):
    """'S 1×1,000,000, 16 B' from a kit stream record."""
    if "payload" not in r or not r.get("connections"):
        return s
    b = r["payload"]
    size = f"{b // 1024} KiB" if b >= 1024 and b % 1024 == 0 else f"{b} B"
    return f"{s} {r['connections']}×{num(r.get('messages', 0) // r['connections'])}, {size}"


def alloc_table(allocs):
    """scenario -> {"client": x, "server": y, "server_calls": n}, medians over the dedicated runs."""
    acc = {}
    for r in allocs:
        s = r.get("scenario")
        if s is None or s in STREAM_LABEL or r.get("allocs_per_call") is None:
            continue
        side = r.get("side", "client")
        acc.setdefault(s, {}).setdefault(side, []).append(r)
    out = {}
    for s, sides in acc.items():
        out[s] = {
            "client": median(x["allocs_per_call"] for x in sides.get("client", [])),
            "server": median(x["allocs_per_call"] for x in sides.get("server", [])),
            "server_calls": median(x.get("calls") for x in sides.get("server", [])),
        }
    return out


def stream_alloc_table(allocs):
    """stream scenario -> {"client": x, "server": y, "server_messages": n}, medians over the dedicated runs."""
    acc = {}
    for r in allocs:
        s = r.get("scenario")
        if s in STREAM_LABEL and r.get("allocs_per_message") is not None:
            acc.setdefault(s, {}).setdefault(r.get("side", "client"), []).append(r)
    return {s: {"client": median(x["allocs_per_message"] for x in sides.get("client", [])),
                "server": median(x["allocs_per_message"] for x in sides.get("server", [])),
                "server_messages": median(x.get("messages") for x in sides.get("server", []))}
            for s, sides in acc.items()}


def instructions_table(records):
    """peer -> the last good record of bench/instructions.sh for it (or its failure)."""
    out = {}
    for r in records:
        peer = {"raw": RAW}.get(r.get("peer"), r.get("peer"))
        if peer and ("error" not in r or peer not in out):
            out[peer] = r
    return out


def path_forms(path):
    """A path as given and as resolved, without a trailing slash, longest first."""
    if not path:
        return []
    forms = {os.path.normpath(path) if not path.startswith("$") else path, os.path.abspath(path),
             os.path.realpath(path), path.rstrip("/")}
    return sorted((f for f in forms if f and f != "/"), key=len, reverse=True)


def relativizer(paths):
    """A function that writes this machine's paths in text as the repository's readers know them:
    the repository's own as relative paths (`bench/report.sh`, `.`), the kit's relative to the
    repository (`../shared/peers/run.sh`), the kit's build directory as `$PEERS_BUILD`."""
    repo = paths.get("repo") or ""
    subs = []  # (absolute form, replacement), most specific first
    if paths.get("peers_build"):
        subs += [(f, "$PEERS_BUILD") for f in path_forms(paths["peers_build"])]
    if paths.get("kit") and repo:
        kit_rel = os.path.relpath(os.path.realpath(paths["kit"]), os.path.realpath(repo))
        subs += [(f, kit_rel) for f in path_forms(paths["kit"])]
    if repo:
        subs += [(f, ".") for f in path_forms(repo)]
    subs.sort(key=lambda p: len(p[0]), reverse=True)
    if not subs:
        return lambda text: text
    pattern = re.compile("|".join(f"({re.escape(f)})(/|(?![\\w.+-]))" for f, _ in subs))

    def replace(m):
        for i, (_, to) in enumerate(subs):
            if m.group(2 * i + 1) is not None:
                slash = m.group(2 * i + 2)
                return (to + "/" if to != "." else "") if slash else to
        return m.group(0)

    return lambda text: pattern.sub(replace, text)


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
