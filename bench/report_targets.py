"""The issues' targets: the baselines they are measured against, and the tables that mark each
target met or not from one run's medians."""
from report_format import md_table, ratio, verdict, versus
from report_results import ASIO, DUET, RAW, STREAM_LABEL, SWEEP_TOLERANCE, SATURATED_FROM, scenario_key, \
    sweep_flatness

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


def issue11_targets(r):
    """Issue 11's targets, each met or not, from this run's medians."""
    kit, sweep, allocs, alloc, stream_alloc, instructions, compile_, w = r.unpack('kit', 'sweep', 'allocs', 'alloc', 'stream_alloc', 'instructions', 'compile_', 'w')
    med = kit.med
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


def issue3_targets(r):
    """Issue 3's targets, each met or not, from this run's medians."""
    kit, sweep, alloc, compile_, w = r.unpack('kit', 'sweep', 'alloc', 'compile_', 'w')
    med = kit.med
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
