"""Reading one regeneration's raw results: the records, per scenario and peer, and their medians."""
import json
import os
import statistics

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


def sweep_levels(res):
    return sorted(int(s[6:]) for s in {s for s, _ in res.good} if s and s.startswith("sweep-"))


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
