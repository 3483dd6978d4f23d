#!/usr/bin/env bash
# Times compiling bench/compile_time.cpp (issue 3, part 5: a TU with duet's
# client, server and TCP transport and four methods; target <= 5 s and
# <= 350 MB with g++ 12 at -O2), in both of duet's modes, and prints ONE JSON
# line on stdout:
#
#   {"seconds":S,"max_rss_mb":M,"command":"...","compiler":"...","runs":N,
#    "cpu_seconds":C,"load_before":L,
#    "separate":{"seconds":S,"max_rss_mb":M,"cpu_seconds":C,"command":"..."},
#    "library":{"seconds":S,"max_rss_mb":M,"cpu_seconds":C,"command":"..."}}
#
# The top-level figures are the header-only mode (the default): the TU
# compiles all of duet it uses. "separate" is the same TU built with
# -DDUET_SEPARATE_COMPILATION, where it reads only declarations of duet's
# non-template code; "library" is the one TU such a program adds to compile
# that code once (tests/separate/src.cpp: #include <duet/src.hpp>), which a
# rebuild of the user's own files does not repeat.
#
# seconds and max_rss_mb are the medians over N compilations of the wall time
# and the compiler's peak resident set size (GNU time's "Maximum resident set
# size", which for g++ is cc1plus's, the largest of its processes). The three
# compilations take turns, so that the machine's drift touches them alike.
# Object files go to a temporary directory and are thrown away.
# cpu_seconds (median user + system time) and load_before (the 1-minute load
# average before the first run) are there because this 2-core machine is
# shared: when other work runs, the wall time grows and the CPU time less so.
# The per-run figures go to stderr.
#
# Usage: bench/compile_time.sh [RUNS]      (default 3; also RUNS=N in the environment)
# Environment: CXX (default g++), DUET_ROOT (default: this script's repository).
# Needs GNU time as /usr/bin/time (Debian package `time`).
set -euo pipefail

runs=${1:-${RUNS:-3}}
if ! [[ $runs =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [RUNS]   (RUNS a positive integer)" >&2
  exit 2
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=${DUET_ROOT:-$(cd "$here/.." && pwd)}
cxx=${CXX:-g++}
gnu_time=/usr/bin/time
if ! "$gnu_time" -v true >/dev/null 2>&1; then
  echo "$0: GNU time is missing: apt-get install time" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

source_file="$root/bench/compile_time.cpp"
library_file="$root/tests/separate/src.cpp"
compiler=$("$cxx" --version | head -n 1)
load_before=$(cut -d' ' -f1 /proc/loadavg)

# The commands as a user would type them: the object file is the script's business.
modes=(header separate library)
declare -A shown=(
  [header]="$cxx -std=c++20 -O2 -I$root/include -c $source_file"
  [separate]="$cxx -std=c++20 -O2 -DDUET_SEPARATE_COMPILATION -I$root/include -c $source_file"
  [library]="$cxx -std=c++20 -O2 -DDUET_SEPARATE_COMPILATION -I$root/include -c $library_file"
)
declare -A seconds=() cpu=() rss_kb=()

# time_one MODE: compiles once, appends the figures to seconds/cpu/rss_kb[MODE].
time_one() {
  local mode=$1
  local -a cmd
  read -r -a cmd <<< "${shown[$mode]}"
  if ! "$gnu_time" -v -o "$work/time.txt" "${cmd[@]}" -o "$work/$mode.o" 2>"$work/cc.err"; then
    cat "$work/cc.err" >&2
    echo "$0: compilation failed: ${cmd[*]}" >&2
    exit 1
  fi
  # "Elapsed (wall clock) time (h:mm:ss or m:ss): 0:04.12" -> seconds
  local wall
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/time.txt")
  seconds[$mode]+="$(awk -v t="$wall" 'BEGIN { n = split(t, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }') "
  cpu[$mode]+="$(awk '/User time \(seconds\)|System time \(seconds\)/ { s += $NF } END { printf "%.2f", s }' "$work/time.txt") "
  rss_kb[$mode]+="$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.txt") "
}

for ((i = 0; i < runs; i++)); do
  for mode in "${modes[@]}"; do time_one "$mode"; done
done

median() { printf '%s\n' $1 | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mb() { awk -v k="$(median "$1")" 'BEGIN { printf "%.0f", k / 1024 }'; }

# JSON string escaping for the command and compiler strings (backslash and quote).
json_escape() { local s=${1//\\/\\\\}; printf '%s' "${s//\"/\\\"}"; }

figures() {  # figures MODE -> "seconds":..,"max_rss_mb":..,"cpu_seconds":..,"command":".."
  printf '"seconds":%.2f,"max_rss_mb":%s,"cpu_seconds":%.2f,"command":"%s"' \
    "$(median "${seconds[$1]}")" "$(mb "${rss_kb[$1]}")" "$(median "${cpu[$1]}")" "$(json_escape "${shown[$1]}")"
}

printf '{"seconds":%.2f,"max_rss_mb":%s,"command":"%s","compiler":"%s","runs":%d,"cpu_seconds":%.2f,"load_before":%s,"separate":{%s},"library":{%s}}\n' \
  "$(median "${seconds[header]}")" "$(mb "${rss_kb[header]}")" "$(json_escape "${shown[header]}")" \
  "$(json_escape "$compiler")" "$runs" "$(median "${cpu[header]}")" "$load_before" \
  "$(figures separate)" "$(figures library)"
for mode in "${modes[@]}"; do
  echo "compile_time.sh: $mode: wall (s): ${seconds[$mode]}; user+sys (s): ${cpu[$mode]}; max RSS (kB): ${rss_kb[$mode]}" >&2
done
