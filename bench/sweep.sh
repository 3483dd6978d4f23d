#!/usr/bin/env bash
# The in-flight sweep (issue 3, part 4): calls per second with 1, 16, 256 and 4096 calls in flight
# on ONE connection, 16-byte payloads, for the peer kit's peers and duet. Each run is the kit's
# (../shared/peers/run.sh): a fresh server on a fresh port pinned to SERVER_CPU, waited on for
# "ready", the client pinned to CLIENT_CPU under a timeout, the server stopped with SIGTERM after.
# Runs interleave the peers within each level. Writes one JSONL file: the kit's meta line, then
# the kit's line per client run with "scenario":"sweep-<N>" and "run" in front; a failed run gets
# an "error" field (recorded, not fatal; the exit status is 1 if any run failed).
#
# Environment (all optional):
#   PEERS="raw asio grpc capnp duet"   peers to run, in this order (duet = DUET_BUILD's binaries)
#   LEVELS="1 16 256 4096"             calls in flight
#   RUNS=3                             repetitions
#   CALLS                              calls per run for every peer and level (smoke tests);
#                                      otherwise see calls_for: ~1-3 s a run on this machine
#   PORT=48000                         first port; each server start takes the next free one
#   SERVER_CPU=1 CLIENT_CPU=0          where taskset pins them
#   CLIENT_TIMEOUT=60                  seconds a client may run
#   PEERS_BUILD=/work/shared/peers/build   the kit's binaries (<peer>_server, <peer>_client)
#   DUET_BUILD=build/bench             duet's build (bench/duet_bench_server, bench/duet_bench_client)
#   OUT                                results file (default $SWEEP_RESULTS/sweep-<time>.jsonl)
#   SWEEP_RESULTS=/tmp/duet-sweep      where OUT goes by default
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kit=${KIT:-$(cd "$here/../../shared/peers" 2>/dev/null && pwd || echo /work/shared/peers)}
peers_build=${PEERS_BUILD:-$kit/build}
duet_build=${DUET_BUILD:-$(cd "$here/.." && pwd)/build/bench}

declare -A json_name=([raw]=raw_epoll [asio]=asio_coro [grpc]=grpc [capnp]=capnp [duet]=duet)
names=() servers=() clients=()
for p in ${PEERS-raw asio grpc capnp duet}; do
  if [[ $p == duet ]]; then
    servers+=("$duet_build/bench/duet_bench_server") clients+=("$duet_build/bench/duet_bench_client")
  else
    servers+=("$peers_build/${p}_server") clients+=("$peers_build/${p}_client")
  fi
  names+=("$p")
done
for f in "${servers[@]}" "${clients[@]}"; do
  [[ -x $f ]] || { echo "sweep.sh: $f missing (build the kit / duet's bench first)" >&2; exit 2; }
done

# Calls per run. One connection is latency-bound at few calls in flight (raw: ~25k calls/s at 1,
# ~120-300k at 16) and far faster at many (raw ~9M calls/s at 4096, duet and asio ~3M), so the
# count grows with the level; gRPC (~20-50k calls/s) and Cap'n Proto (~15-35k) get a fixed one.
calls_for() {  # $1 peer, $2 in flight
  if [[ -n ${CALLS:-} ]]; then echo "$CALLS"
  elif (($2 <= 1)); then echo 20000
  elif [[ $1 == grpc || $1 == capnp ]]; then echo 60000
  elif (($2 <= 16)); then echo 200000
  elif (($2 <= 256)); then echo 1000000
  else echo 6000000
  fi
}

out=${OUT:-${SWEEP_RESULTS:-/tmp/duet-sweep}/sweep-$(date -u +%Y%m%dT%H%M%SZ).jsonl}
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }
printf '{"meta":true,"sweep":true,"date":"%s","cpu":"%s","cores":%s,"kernel":"%s","grpc":"%s","capnp":"%s","asio":"%s","gxx":"%s","glibc_tunables":"%s"}\n' \
  "$(date -u +%FT%TZ)" "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)" "$(nproc)" "$(uname -r)" \
  "$(version libgrpc++-dev)" "$(version libcapnp-dev)" "$(version libasio-dev)" "$(version g++)" \
  "${GLIBC_TUNABLES:-}" > "$out"

# Starts server $1 on port $2 pinned to SERVER_CPU; waits up to 10 s for its "ready" line.
start_server() {
  : > "$tmp/server.out"
  timeout -k 5 300 taskset -c "${SERVER_CPU:-1}" "$1" --port "$2" > "$tmp/server.out" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    grep -q '^ready' "$tmp/server.out" && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}

stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}

failures=0
fail() {  # $1: why; $2: the client's JSON line, if any
  failures=$((failures + 1))
  local json=${2:-"{\"peer\":\"${json_name[${names[$i]}]:-${names[$i]}}\",\"connections\":1,\"inflight\":$level,\"payload\":16}"}
  echo "$tag\"error\":\"$1\",${json#\{}" >> "$out"
  echo "sweep.sh: ${names[$i]} in flight $level run $run: $1 ${2:-}" >&2
  cat "$tmp/server.out" "$tmp/client.err" | tail -5 | sed 's/^/  | /' >&2
}

port=${PORT:-48000}
for run in $(seq "${RUNS:-3}"); do
  for level in ${LEVELS:-1 16 256 4096}; do
    for i in "${!names[@]}"; do
      tag="{\"scenario\":\"sweep-$level\",\"run\":$run,"
      : > "$tmp/client.err"
      # The ports lie in the kernel's ephemeral range, so a client's socket
      # may hold the next one (seen: "Address already in use"): a server that
      # does not start is tried on the following port, at most 5 times.
      started=0
      for _ in 1 2 3 4 5; do
        port=$((port + 1))
        if start_server "${servers[$i]}" "$port"; then
          started=1
          break
        fi
        stop_server
      done
      if [[ $started != 1 ]]; then
        fail "server not ready"
        continue
      fi
      rc=0
      line=$(timeout -k 5 "${CLIENT_TIMEOUT:-60}" taskset -c "${CLIENT_CPU:-0}" "${clients[$i]}" --port "$port" \
        --connections 1 --inflight "$level" --calls "$(calls_for "${names[$i]}" "$level")" --payload 16 \
        2> "$tmp/client.err" | tail -1) || rc=$?
      stop_server
      [[ $line == "{"*"}" ]] || line=
      if [[ $rc != 0 || -z $line ]]; then
        fail "client exit $rc" "$line"
        continue
      fi
      echo "$tag${line#\{}" >> "$out"
      echo "sweep-$level run $run: $line" >&2
    done
  done
done

echo "results: $out"
((failures == 0)) || { echo "sweep.sh: $failures failed runs" >&2; exit 1; }
