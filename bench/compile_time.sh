#!/usr/bin/env bash
# Times compiling bench/compile_time.cpp (issue 3, part 5: a TU with duet's
# client, server and TCP transport and four methods; target <= 5 s and
# <= 350 MB with g++ 12 at -O2) and prints ONE JSON line on stdout:
#
#   {"seconds":S,"max_rss_mb":M,"command":"...","compiler":"...","runs":N,
#    "cpu_seconds":C,"load_before":L}
#
# seconds and max_rss_mb are the medians over N compilations of the wall time
# and the compiler's peak resident set size (GNU time's "Maximum resident set
# size", which for g++ is cc1plus's, the largest of its processes). The
# object file is written to a temporary directory and thrown away.
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
cmd=("$cxx" -std=c++20 -O2 "-I$root/include" -c "$source_file" -o "$work/compile_time.o")
compiler=$("$cxx" --version | head -n 1)
load_before=$(cut -d' ' -f1 /proc/loadavg)

seconds=()
cpu=()
rss_kb=()
for ((i = 0; i < runs; i++)); do
  if ! "$gnu_time" -v -o "$work/time.txt" "${cmd[@]}" 2>"$work/cc.err"; then
    cat "$work/cc.err" >&2
    echo "$0: compilation failed: ${cmd[*]}" >&2
    exit 1
  fi
  # "Elapsed (wall clock) time (h:mm:ss or m:ss): 0:04.12" -> seconds
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/time.txt")
  seconds+=("$(awk -v t="$wall" 'BEGIN { n = split(t, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }')")
  cpu+=("$(awk '/User time \(seconds\)|System time \(seconds\)/ { s += $NF } END { printf "%.2f", s }' "$work/time.txt")")
  rss_kb+=("$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.txt")")
done

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# JSON string escaping for the command and compiler strings (backslash and quote).
json_escape() { local s=${1//\\/\\\\}; printf '%s' "${s//\"/\\\"}"; }

median_seconds=$(median "${seconds[@]}")
median_rss_mb=$(awk -v k="$(median "${rss_kb[@]}")" 'BEGIN { printf "%.0f", k / 1024 }')
# The command as a user would type it: the object file name is the script's own business.
shown_cmd="$cxx -std=c++20 -O2 -I$root/include -c $source_file"

printf '{"seconds":%.2f,"max_rss_mb":%s,"command":"%s","compiler":"%s","runs":%d,"cpu_seconds":%.2f,"load_before":%s}\n' \
  "$median_seconds" "$median_rss_mb" "$(json_escape "$shown_cmd")" "$(json_escape "$compiler")" "$runs" "$(median "${cpu[@]}")" "$load_before"
echo "compile_time.sh: wall (s): ${seconds[*]}; user+sys (s): ${cpu[*]}; max RSS (kB): ${rss_kb[*]}" >&2
