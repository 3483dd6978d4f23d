#!/usr/bin/env bash
# User-space instructions per call, server and client, under callgrind, in
# scenario B's shape (1 connection, 64 calls in flight, 16-byte payload).
#
#   bench/instructions.sh              # builds the bench binaries into build/bench-instructions
#   bench/instructions.sh DIR          # uses DIR/duet_bench_server and DIR/duet_bench_client
#
# For each side it runs that side under `valgrind --tool=callgrind` with the
# other side native, once for 20,000 calls and once for 60,000, and prints
# (60k run's total Ir - 20k run's total Ir) / 40,000: start-up, connection
# set-up and shutdown are the same in both runs and cancel out. Other peers'
# binaries that speak the kit's command line (../shared/peers) work too:
#   SERVER=/tmp/peers-build/raw_server CLIENT=/tmp/peers-build/raw_client bench/instructions.sh
# Output: one line per side, e.g. `server 431 instructions per call`.
# INFLIGHT=N runs N calls in flight instead of 64 (the sweep's shape at
# another level); KEEP=DIR keeps the four callgrind outputs there, for a
# per-function comparison (callgrind_annotate of the 60k run minus the 20k
# run's, over 40,000).
#
# With STREAM=1, scenario S's shape instead (1 connection, one server stream
# of 16-byte messages): 200,000 and 600,000 messages, and instructions per
# message (the kit's raw floor speaks that command line too):
#   STREAM=1 bench/instructions.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
if [[ -n "${SERVER:-}" && -n "${CLIENT:-}" ]]; then
  server=$SERVER client=$CLIENT
else
  if [[ $# -ge 1 ]]; then
    bin=$1
  else
    build=$root/build/bench-instructions
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDUET_BUILD_BENCH=ON \
      -DDUET_BUILD_TESTS=OFF -DDUET_BUILD_EXAMPLES=OFF >/dev/null
    cmake --build "$build" -j2 --target duet_bench_server duet_bench_client >/dev/null
    bin=$build/bench
  fi
  server=$bin/duet_bench_server client=$bin/duet_bench_client
fi
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind is not installed" >&2; exit 1; }

work=$(mktemp -d)
server_pid=
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true
  if [[ -n "${KEEP:-}" ]]; then mkdir -p "$KEEP" && cp "$work"/*.out "$KEEP"/ 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT
port=$((47200 + RANDOM % 700))

# Starts the server (optionally under callgrind) and waits for its `ready`.
start_server() {  # out-file-or-empty
  : >"$work/server.stdout"
  if [[ -n "$1" ]]; then
    valgrind --tool=callgrind --callgrind-out-file="$1" "$server" --port "$port" \
      >"$work/server.stdout" 2>"$work/server.stderr" &
  else
    "$server" --port "$port" >"$work/server.stdout" 2>"$work/server.stderr" &
  fi
  server_pid=$!
  for _ in $(seq 600); do  # at most 60 s (valgrind starts slowly)
    grep -q ready "$work/server.stdout" && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "instructions.sh: the server did not print ready" >&2
  cat "$work/server.stderr" >&2
  exit 1
}

# duet's server blocks SIGTERM and takes it with sigwait(), then stops serving
# and returns from main; a server that dies of the signal instead (status 143,
# the raw floor's) is fine too: callgrind writes its output file either way.
stop_server() {
  kill -TERM "$server_pid"
  local status=0
  wait "$server_pid" || status=$?
  [[ $status -eq 0 || $status -eq 143 ]] || { echo "instructions.sh: the server failed" >&2; cat "$work/server.stderr" >&2; exit 1; }
  server_pid=
}

# Calls (or stream messages) of the two runs, and what one of them is.
if [[ -n "${STREAM:-}" ]]; then
  low=200000 high=600000 unit=message
else
  low=20000 high=60000 unit=call
fi

run_client() {  # calls [out-file]
  local args=(--port "$port" --connections 1 --inflight "${INFLIGHT:-64}" --calls "$1" --payload 16)
  [[ -n "${STREAM:-}" ]] && args=(--port "$port" --connections 1 --stream-messages "$1" --payload 16)
  if [[ -n "${2:-}" ]]; then
    valgrind --tool=callgrind --callgrind-out-file="$2" "$client" "${args[@]}" >"$work/client.stdout" 2>"$work/client.stderr"
  else
    "$client" "${args[@]}" >"$work/client.stdout" 2>"$work/client.stderr"
  fi || { echo "instructions.sh: the client failed" >&2; cat "$work/client.stderr" >&2; exit 1; }
}

total_ir() {  # callgrind output file -> its total Ir
  awk '/^(summary|totals):/ { print $2; exit }' "$1"
}

per_call() {  # out-low out-high
  local a b
  a=$(total_ir "$1") b=$(total_ir "$2")
  echo $(((b - a + (high - low) / 2) / (high - low)))
}

for calls in $low $high; do
  start_server "$work/server.$calls.out"
  run_client "$calls"
  stop_server
done
echo "server $(per_call "$work/server.$low.out" "$work/server.$high.out") instructions per $unit"

for calls in $low $high; do
  start_server ""
  run_client "$calls" "$work/client.$calls.out"
  stop_server
done
echo "client $(per_call "$work/client.$low.out" "$work/client.$high.out") instructions per $unit"
