#!/usr/bin/env bash
# Two Myelin trainings on the machine at once: each one's speed against the same training alone.
#
#   scripts/co-tenancy.sh [myelin binary] [rounds] [threads]
#   MYELIN_WORKLOADS="mlp_train cnn_train" scripts/co-tenancy.sh /tmp/build/release/myelin 5 2
#
# For each workload, rounds alternate a solo run and a pair (two processes started together), so
# that other load on the machine falls on both alike. Prints one line per run, then per workload the
# median solo figure (the workload's first metric: samples/s for the trainings), the median of the
# paired processes' figures and the speed ratio pair/solo (solo/pair for a lower-is-better metric
# such as us_per_call). 1.0: no slowdown; 0.5: each process gets half the machine, as two equal
# jobs on shared cores should.
# The load average is printed next to each round: figures from a busy machine are noisy.
set -euo pipefail

myelin=${1:-.build/release/myelin}
rounds=${2:-5}
threads=${3:-2}
workloads=${MYELIN_WORKLOADS:-mlp_train cnn_train}
[ -x "$myelin" ] || { echo "co-tenancy: no myelin binary at $myelin (build with swift build -c release --product myelin)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Prints the first metric's value of a bench output file.
rate() { head -1 "$1" | sed -E 's/.*"value": ([0-9.e+-]+).*/\1/'; }
# Prints "lower" or "higher": which way the first metric is better.
better() { head -1 "$1" | sed -E 's/.*"better": "([a-z]+)".*/\1/'; }

bench() {
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$myelin" bench --workloads "$1" --threads "$threads" >"$2"
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) { print "nan"; exit } m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; print m }'; }
spread() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s..%s", lo, hi }'; }

for w in $workloads; do
    : >"$tmp/$w.solo"
    : >"$tmp/$w.pair"
    for r in $(seq 1 "$rounds"); do
        bench "$w" "$tmp/s.out"
        solo=$(rate "$tmp/s.out")
        echo "$solo" >>"$tmp/$w.solo"
        bench "$w" "$tmp/a.out" &
        a=$!
        bench "$w" "$tmp/b.out" &
        b=$!
        wait "$a" "$b"
        pa=$(rate "$tmp/a.out")
        pb=$(rate "$tmp/b.out")
        echo "$pa" >>"$tmp/$w.pair"
        echo "$pb" >>"$tmp/$w.pair"
        echo "$w round $r: solo $solo, pair $pa $pb  (load $(cut -d' ' -f1-3 /proc/loadavg))"
    done
    s=$(median <"$tmp/$w.solo")
    p=$(median <"$tmp/$w.pair")
    metric=$(head -1 "$tmp/s.out" | sed -E 's/.*"metric": "([a-z_]+)".*/\1/')
    ratio=$(awk -v p="$p" -v s="$s" -v b="$(better "$tmp/s.out")" 'BEGIN { printf "%.3f", b == "lower" ? s / p : p / s }')
    echo "$w threads=$threads $metric: solo median $s [$(spread <"$tmp/$w.solo")], pair median $p [$(spread <"$tmp/$w.pair")], speed pair/solo $ratio"
done
