#!/usr/bin/env bash
# Regenerates docs/performance.md end to end (issue 3, part 7; issue 11, part 5): builds duet's bench
# binaries (and the peer kit's peers if missing), runs the kit with duet as the extra peer (unary
# scenarios A-D and stream scenarios S, L, M), dedicated duet runs for allocations per call and per
# message (client and server), the in-flight sweep and its plot, instructions per call under
# callgrind (duet and the raw floor), the compile-time and memory measurements when their scripts
# exist, and renders the report with bench/report.py. Every raw result goes to
# bench/results/<UTC time>/ so each number is traceable. A peer whose binaries are missing (and
# could not be built) is left out and the report says so.
#
#   bench/report.sh
#
# Environment (all optional):
#   RUNS=3                        runs of the kit (medians); SWEEP_RUNS (default RUNS) for the sweep
#   PEERS="raw asio grpc capnp"   the kit's peers; SCENARIOS="A B C D S L M" (S, L, M: streams)
#   SWEEP_PEERS="$PEERS duet"     the sweep's peers; LEVELS="1 16 256 4096"; CALLS (sweep, smoke tests)
#   ALLOC_RUNS=1                  dedicated duet runs per scenario for allocations
#   STREAM_MESSAGES               messages per connection in the dedicated duet stream runs (smoke
#                                 tests; default the kit's: S 1,000,000, L 20,000, M 250,000); the
#                                 kit's own runs always use the kit's counts
#   COMPILE_RUNS=3                compilations timed by bench/compile_time.sh (median)
#   STEPS="build kit allocs sweep plot instructions compile memory"   a subset for smoke tests
#   KIT=$repo/../shared/peers     the peer kit; PEERS_BUILD=/tmp/peers-build (its binaries)
#   KIT_BUILD=1                   0: never run the kit's build.sh (it installs Debian packages)
#   DUET_BUILD=$repo/build/bench  duet's bench build directory (Release, DUET_BUILD_BENCH=ON)
#   RESULTS_DIR=bench/results/<UTC time>   raw results of this regeneration
#   REPORT_OUT=docs/performance.md, REPORT_IMAGE=docs/images/inflight.png
#   GLIBC_TUNABLES                inherited by every binary and recorded in the report
#   SERVER_CPU=1 CLIENT_CPU=0     as in the kit
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"

kit=${KIT:-$repo/../shared/peers}
export PEERS_BUILD=${PEERS_BUILD:-/tmp/peers-build}
duet_build=${DUET_BUILD:-$repo/build/bench}
kit_peers=${PEERS-raw asio grpc capnp}
steps=" ${STEPS:-build kit allocs sweep plot instructions compile memory} "
dir=${RESULTS_DIR:-$repo/bench/results/$(date -u +%Y-%m-%dT%H%M%SZ)}
out=${REPORT_OUT:-$repo/docs/performance.md}
image=${REPORT_IMAGE:-$repo/docs/images/inflight.png}
server=$duet_build/bench/duet_bench_server
client=$duet_build/bench/duet_bench_client
mkdir -p "$dir"
: > "$dir/commands.sh"
: > "$dir/steps.jsonl"
tmp=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

want() { [[ $steps == *" $1 "* ]]; }
note() { echo "report.sh: $*" >&2; }
logged() {  # records the command in commands.sh (paths relative to the repository), then runs it
  { printf '%q ' "$@"; echo; } | sed -e 's/ $//' -e "s#$repo/##g" -e "s#$repo\b#.#g" \
    -e "s#$(dirname "$kit")/#../$(basename "$(dirname "$kit")")/#g" -e "s#$PEERS_BUILD#\$PEERS_BUILD#g" \
    >> "$dir/commands.sh"
  "$@"
}
step_start=0 step_load=
begin() { step_start=$SECONDS; step_load=$(cut -d' ' -f1 /proc/loadavg); note "--- $1"; }
end() {  # $1 step, $2 exit status
  printf '{"step":"%s","seconds":%d,"exit":%d,"load":"%s"}\n' "$1" $((SECONDS - step_start)) "$2" "$step_load" \
    >> "$dir/steps.jsonl"
}

python3 "$here/report.py" context "$dir" --kit "$kit" --peers-build "$PEERS_BUILD"

# ---- build
if want build; then
  begin build; rc=0
  {
    logged cmake -S "$repo" -B "$duet_build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDUET_BUILD_BENCH=ON \
      -DDUET_BUILD_TESTS=OFF -DDUET_BUILD_EXAMPLES=OFF > "$dir/build.log" 2>&1 &&
    logged cmake --build "$duet_build" -j2 >> "$dir/build.log" 2>&1
  } || rc=$?
  ((rc == 0)) || { end build "$rc"; note "build failed (rc $rc), see $dir/build.log"; tail -20 "$dir/build.log" >&2; exit 1; }
  # The kit's peers: build.sh installs Debian packages and builds all four; a peer it cannot build
  # (gRPC or Cap'n Proto missing) is left out below, not fatal.
  if [[ ${KIT_BUILD:-1} != 0 ]]; then
    for p in $kit_peers; do
      if [[ ! -x $PEERS_BUILD/${p}_server || ! -x $PEERS_BUILD/${p}_client ]]; then
        logged env PEERS_BUILD="$PEERS_BUILD" "$kit/build.sh" >> "$dir/build.log" 2>&1 ||
          note "the kit's build.sh failed, see $dir/build.log; measuring the peers that exist"
        break
      fi
    done
  fi
  end build "$rc"
fi

# The kit's peers whose binaries exist; the rest are left out of every step and named in the report.
present=() missing=()
for p in $kit_peers; do
  if [[ -x $PEERS_BUILD/${p}_server && -x $PEERS_BUILD/${p}_client ]]; then present+=("$p"); else missing+=("$p"); fi
done
kit_peers=${present[*]}
printf '{"present":"%s","missing":"%s"}\n' "${present[*]}" "${missing[*]}" > "$dir/peers.json"
((${#missing[@]} == 0)) || note "no binaries in $PEERS_BUILD for: ${missing[*]} (left out)"
if want kit || want allocs || want sweep || want instructions; then
  for f in "$server" "$client"; do
    [[ -x $f ]] || { note "$f missing: build duet's bench first (STEPS with build)"; exit 1; }
  done
fi

# ---- the kit: every peer and duet, unary scenarios A-D and stream scenarios S, L, M
if want kit; then
  begin kit; rc=0
  logged env PEERS="$kit_peers" SCENARIOS="${SCENARIOS:-A B C D S L M}" RUNS="${RUNS:-3}" PEERS_BUILD="$PEERS_BUILD" \
    PEERS_RESULTS="$dir/kit" PORT=47500 EXTRA_SERVER="$server" EXTRA_CLIENT="$client" "$kit/run.sh" \
    > "$dir/kit.log" 2>&1 || rc=$?
  # run.sh names its file by the time; the report reads kit.jsonl.
  found=("$dir"/kit/*.jsonl)
  if [[ -f ${found[0]} ]]; then mv "${found[0]}" "$dir/kit.jsonl"; rmdir "$dir/kit" 2>/dev/null || true; fi
  sed -n '/^| scenario/,$p' "$dir/kit.log" >&2
  end kit "$rc"
  ((rc == 0)) || note "the kit reported failures (rc $rc), see $dir/kit.log; continuing"
fi

# Starts duet's server on port $1 pinned like the kit; waits up to 10 s for "ready".
start_server() {
  : > "$tmp/server.out"
  timeout -k 5 300 taskset -c "${SERVER_CPU:-1}" "$server" --port "$1" > "$tmp/server.out" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    grep -q '^ready' "$tmp/server.out" && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}
stop_server() {  # SIGTERM (timeout passes it on); the server prints its allocs line and exits
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}

# ---- allocations per call and per stream message: a dedicated duet server and client per
# scenario, both lines kept (the server prints its figures only when stopped)
if want allocs; then
  begin allocs; rc=0
  declare -A spec=([A]="1 1 20000 16" [B]="1 64 300000 16" [C]="8 16 300000 16" [D]="1 16 20000 65536")
  declare -A stream_spec=([S]="1 1000000 16" [L]="1 20000 65536" [M]="8 250000 16")  # the kit's
  port=48800
  for run in $(seq "${ALLOC_RUNS:-1}"); do
    for s in ${SCENARIOS:-A B C D S L M}; do
      if [[ -n ${stream_spec[$s]:-} ]]; then
        read -r conns messages payload <<< "${stream_spec[$s]}"
        args=(--connections "$conns" --stream-messages "${STREAM_MESSAGES:-$messages}" --payload "$payload")
        stop_line='{"allocs_per_call": X, "calls": N, "allocs_per_message": Y, "messages": M}'
      elif [[ -n ${spec[$s]:-} ]]; then
        read -r conns inflight calls payload <<< "${spec[$s]}"
        args=(--connections "$conns" --inflight "$inflight" --calls "$calls" --payload "$payload")
        stop_line='{"allocs_per_call": X, "calls": N}'
      else
        continue
      fi
      port=$((port + 1))
      tag="{\"scenario\":\"$s\",\"run\":$run,"
      printf '%s\n' "timeout -k 5 300 taskset -c ${SERVER_CPU:-1} $server --port $port &  # then wait for 'ready'" \
        "timeout -k 5 60 taskset -c ${CLIENT_CPU:-0} $client --port $port ${args[*]}" \
        "kill %1  # SIGTERM: the server prints $stop_line" >> "$dir/commands.sh"
      if ! start_server "$port"; then
        echo "$tag\"side\":\"server\",\"error\":\"server not ready\"}" >> "$dir/allocs.jsonl"; rc=1
        stop_server; continue
      fi
      line=$(timeout -k 5 60 taskset -c "${CLIENT_CPU:-0}" "$client" --port "$port" "${args[@]}" \
        2> "$tmp/client.err" | tail -1) || rc=$?
      stop_server
      if [[ $line == "{"*"}" ]]; then echo "$tag\"side\":\"client\",${line#\{}" >> "$dir/allocs.jsonl"
      else echo "$tag\"side\":\"client\",\"error\":\"no result\"}" >> "$dir/allocs.jsonl"; rc=1; fi
      sline=$(grep '^{.*allocs_per_call' "$tmp/server.out" | tail -1) || true
      if [[ -n $sline ]]; then echo "$tag\"side\":\"server\",${sline#\{}" >> "$dir/allocs.jsonl"
      else echo "$tag\"side\":\"server\",\"error\":\"no allocs line\"}" >> "$dir/allocs.jsonl"; rc=1; fi
      note "allocs $s: client ${line:-?} server ${sline:-?}"
    done
  done
  end allocs "$rc"
fi

# ---- the in-flight sweep and its plot
if want sweep; then
  begin sweep; rc=0
  sweep_peers=()  # SWEEP_PEERS without the kit's peers that have no binaries
  for p in ${SWEEP_PEERS:-$kit_peers duet}; do
    [[ " ${missing[*]} " == *" $p "* ]] || sweep_peers+=("$p")
  done
  sweep_env=(PEERS="${sweep_peers[*]}" LEVELS="${LEVELS:-1 16 256 4096}" RUNS="${SWEEP_RUNS:-${RUNS:-3}}"
             PEERS_BUILD="$PEERS_BUILD" DUET_BUILD="$duet_build" OUT="$dir/sweep.jsonl")
  [[ -n ${CALLS:-} ]] && sweep_env+=(CALLS="$CALLS")
  logged env "${sweep_env[@]}" "$here/sweep.sh" > "$dir/sweep.log" 2>&1 || rc=$?
  end sweep "$rc"
  ((rc == 0)) || note "the sweep reported failures (rc $rc), see $dir/sweep.log; continuing"
fi
if want plot && [[ -f $dir/sweep.jsonl ]]; then
  begin plot; rc=0
  logged "$here/plot.sh" "$dir/sweep.jsonl" "$image" || rc=$?
  end plot "$rc"
  ((rc == 0)) || note "plot.sh failed (rc $rc)"
fi

# ---- instructions per call under callgrind (scenario B's shape): duet, then the raw floor
if want instructions; then
  begin instructions; rc=0
  if ! command -v valgrind > /dev/null; then
    note "valgrind is not installed: instructions per call not measured"; rc=1
  else
    : > "$dir/instructions.log"
    runs=(duet)
    [[ " ${present[*]} " == *" raw "* ]] && runs+=(raw) || note "no raw floor binaries: its instructions not measured"
    for p in "${runs[@]}"; do
      if [[ $p == duet ]]; then cmd=("$here/instructions.sh" "$duet_build/bench")
      else cmd=(env SERVER="$PEERS_BUILD/raw_server" CLIENT="$PEERS_BUILD/raw_client" "$here/instructions.sh"); fi
      shown=$( { printf '%q ' "${cmd[@]}"; echo; } | sed 's/ $//')
      prc=0
      lines=$(logged timeout -k 5 600 "${cmd[@]}" 2>> "$dir/instructions.log") || prc=$?
      echo "$lines" >> "$dir/instructions.log"
      srv=$(sed -n 's/^server \([0-9]*\) instructions per call$/\1/p' <<< "$lines")
      cli=$(sed -n 's/^client \([0-9]*\) instructions per call$/\1/p' <<< "$lines")
      if ((prc == 0)) && [[ -n $srv && -n $cli ]]; then
        python3 -c 'import json,sys; print(json.dumps({"peer": sys.argv[1], "server": int(sys.argv[2]),
                    "client": int(sys.argv[3]), "command": sys.argv[4]}))' "$p" "$srv" "$cli" "$shown" \
          >> "$dir/instructions.jsonl"
      else
        python3 -c 'import json,sys; print(json.dumps({"peer": sys.argv[1], "error": "exit " + sys.argv[2],
                    "command": sys.argv[3]}))' "$p" "$prc" "$shown" >> "$dir/instructions.jsonl"
        rc=1
      fi
      note "instructions $p: server ${srv:-?} client ${cli:-?}"
    done
  fi
  end instructions "$rc"
  ((rc == 0)) || note "instructions per call incomplete (rc $rc), see $dir/instructions.log"
fi

# ---- compile time and memory (the other measurements; absent until their scripts exist)
if want compile; then
  if [[ -f $here/compile_time.sh ]]; then
    begin compile; rc=0
    line=$(logged timeout -k 5 900 bash "$here/compile_time.sh" "${COMPILE_RUNS:-3}" 2> "$dir/compile.log" | tail -1) || rc=$?
    if [[ $line == "{"*"}" ]]; then echo "$line" > "$dir/compile.json"; elif ((rc == 0)); then rc=1; fi
    end compile "$rc"
    ((rc == 0)) || note "compile_time.sh failed (rc $rc), see $dir/compile.log"
  else
    note "no bench/compile_time.sh: compile time not measured"
  fi
fi
if want memory; then
  if [[ -x $duet_build/bench/duet_bench_memory ]]; then
    begin memory; rc=0
    # 10,000 idle connections need two descriptors each (both ends live in this process or two).
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    logged timeout -k 5 600 "$duet_build/bench/duet_bench_memory" > "$tmp/memory.out" 2> "$dir/memory.log" || rc=$?
    if ! grep '^{' "$tmp/memory.out" > "$dir/memory.jsonl" && ((rc == 0)); then rc=1; fi
    end memory "$rc"
    ((rc == 0)) || note "duet_bench_memory failed (rc $rc), see $dir/memory.log"
  else
    note "no $duet_build/bench/duet_bench_memory: memory not measured"
  fi
fi

# ---- the report
python3 "$here/report.py" render "$dir" --out "$out" --image "$image" --notes "$here/report-notes.md"
# The raw results leave this machine's paths behind too (the render above read them).
for f in "$dir"/*; do
  [[ -f $f ]] && sed -i -e "s#$repo/##g" -e "s#$repo\b#.#g" -e "s#$PEERS_BUILD#\$PEERS_BUILD#g" "$f"
done
note "wrote $out (raw results in $dir) in $((SECONDS / 60)) min $((SECONDS % 60)) s"
