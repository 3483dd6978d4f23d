#!/usr/bin/env bash
# Two builds of duet's bench binaries and the raw floor, interleaved run by
# run, in scenarios A, B and C: whether a change made unary calls slower,
# measured side by side (the machine drifts too much to compare reports
# from different days).
#
#   bench/compare.sh BEFORE_DIR AFTER_DIR [RUNS]
#
# BEFORE_DIR and AFTER_DIR hold duet_bench_server and duet_bench_client (a
# Release bench build's bench/ folder, e.g. of `git worktree add` at the old
# commit); the raw floor comes from $PEERS_BUILD (default /tmp/peers-build).
# Prints each scenario's median calls/s per build and the ratios.
set -euo pipefail
[[ $# -ge 2 ]] || { echo "usage: $0 BEFORE_DIR AFTER_DIR [RUNS]" >&2; exit 2; }
runs=${3:-5}
peers=${PEERS_BUILD:-/tmp/peers-build}
declare -A server=([before]=$1/duet_bench_server [after]=$2/duet_bench_server [raw]=$peers/raw_server)
declare -A client=([before]=$1/duet_bench_client [after]=$2/duet_bench_client [raw]=$peers/raw_client)
out=$(mktemp) log=$(mktemp)
server_pid=
trap '[[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null; rm -f "$out" "$log"' EXIT
port=$((49100 + RANDOM % 500))
for run in $(seq "$runs"); do
  for scenario in "A 1 1 20000" "B 1 64 300000" "C 8 16 300000"; do
    read -r name connections inflight calls <<<"$scenario"
    for build in before after raw; do
      # A run whose server or client fails (seen: a port that another socket
      # holds, the range overlapping the ephemeral ports) is tried again on
      # the next port, at most 5 times.
      line=
      for _ in $(seq 5); do
        port=$((port + 1))
        : >"$log"
        taskset -c 1 "${server[$build]}" --port "$port" >"$log" 2>&1 &
        server_pid=$!
        for _ in $(seq 100); do grep -q ready "$log" && break; sleep 0.1; done
        line=$(timeout 120 taskset -c 0 "${client[$build]}" --port "$port" --connections "$connections" \
          --inflight "$inflight" --calls "$calls" --payload 16 | tail -1) || line=
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=
        [[ $line == "{"* ]] && break
      done
      [[ $line == "{"* ]] || { echo "compare.sh: $name $build failed 5 times" >&2; exit 1; }
      echo "$name $build $line" >>"$out"
    done
  done
done
python3 - "$out" <<'PY'
import json, statistics, sys
rates = {}
for line in open(sys.argv[1]):
    name, build, record = line.split(" ", 2)
    rates.setdefault((name, build), []).append(json.loads(record)["calls_per_s"])
for name in "ABC":
    m = {b: statistics.median(rates[(name, b)]) for b in ("before", "after", "raw")}
    print(f"{name}: calls/s before {m['before']:,.0f}, after {m['after']:,.0f}, raw {m['raw']:,.0f}; "
          f"after/before {m['after'] / m['before']:.2f}, before/raw {m['before'] / m['raw']:.2f}, "
          f"after/raw {m['after'] / m['raw']:.2f} (median of {len(rates[(name, 'after')])})")
PY
