#!/usr/bin/env bash
# Plots a bench/sweep.sh results file: calls per second (median over runs) against calls in flight,
# one line per peer, log-log, with gnuplot (Debian's gnuplot-nox, pngcairo terminal).
#
#   bench/plot.sh SWEEP.jsonl [OUT.png]      (OUT defaults to docs/images/inflight.png)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[[ $# -ge 1 && $# -le 2 ]] || { echo "usage: plot.sh SWEEP.jsonl [OUT.png]" >&2; exit 2; }
in=$1
out=${2:-$here/../docs/images/inflight.png}
command -v gnuplot >/dev/null || { echo "plot.sh: gnuplot missing (apt-get install gnuplot-nox)" >&2; exit 2; }
mkdir -p "$(dirname "$out")"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$here/report.py" sweep-data "$in" > "$tmp/data"
read -r -a header < "$tmp/data"
((${#header[@]} > 1)) || { echo "plot.sh: no sweep results in $in" >&2; exit 1; }
runs=$(python3 -c 'import json,sys; print(max([r.get("run",0) for r in map(json.loads, open(sys.argv[1])) if "peer" in r] or [0]))' "$in")
date=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline()).get("date","")[:10])' "$in")

# One plot clause per peer column; duet drawn thicker so it stands out.
declare -A colour=([raw_epoll]="#000000" [asio_coro]="#1f77b4" [grpc]="#2ca02c" [capnp]="#9467bd" [duet]="#d62728")
plots=()
for ((c = 1; c < ${#header[@]}; c++)); do
  p=${header[$c]}
  width=2; [[ $p == duet ]] && width=4
  plots+=("'$tmp/data' using 1:$((c + 1)) with linespoints lw $width pt 7 ps 1.2 lc rgb '${colour[$p]:-#ff7f0e}' title '$p' noenhanced")
done
plot_cmd=$(IFS=,; echo "${plots[*]}")

timeout 60 gnuplot <<EOF
set terminal pngcairo size 900,560 enhanced font 'sans,11'
set output '$out'
set title "Calls per second against calls in flight\n{/*0.85 one connection, 16-byte payloads, median of $runs $( ((runs == 1)) && echo run || echo runs), $date}"
set xlabel 'calls in flight on one connection'
set ylabel 'calls per second'
set logscale xy
set xrange [0.7:6000]
set xtics (1, 16, 256, 4096)
set format y '%.0s%c'
set grid xtics ytics mytics lc rgb '#dddddd'
set key outside right center box Left reverse
$(printf 'plot %s\n' "$plot_cmd")
EOF
echo "plot: $out"
