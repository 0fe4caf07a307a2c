#!/usr/bin/env bash
# Host-overhead benchmark: the headless Caretaker engine against Debian's prometheus-node-exporter,
# in the same run, at the same sampling interval. Reports CPU (% of one core, from /proc/PID/stat)
# and peak RSS (VmHWM), and the ratio Caretaker / node_exporter.
#
#   bash bench/host_overhead.sh            # 60 s per run (as in the closing notes)
#   BENCH_SECS=20 bash bench/host_overhead.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${BENCH_SECS:-60}
WARMUP=${BENCH_WARMUP:-5}
CARETAKER=${CARETAKER_BIN:-target/release/caretaker}
NODE_EXPORTER=${NODE_EXPORTER_BIN:-/usr/bin/prometheus-node-exporter}
TCK=$(getconf CLK_TCK)
OUT=bench/out
mkdir -p "$OUT"

[ -x "$CARETAKER" ] || { echo "build it first: cargo build --release -p caretaker-cli" >&2; exit 1; }
[ -x "$NODE_EXPORTER" ] || { echo "missing $NODE_EXPORTER (apt install prometheus-node-exporter)" >&2; exit 1; }

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime, including after exec
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

# measure PID LABEL INTERVAL: prints "label interval cpu_pct rss_mib"
measure() {
  local pid=$1 label=$2 interval=$3
  sleep "$WARMUP"
  local t0 w0 t1 w1
  t0=$(ticks "$pid"); w0=$(date +%s.%N)
  sleep "$SECS"
  t1=$(ticks "$pid"); w1=$(date +%s.%N)
  local rss; rss=$(hwm_kib "$pid")
  awk -v l="$label" -v i="$interval" -v t0="$t0" -v t1="$t1" -v w0="$w0" -v w1="$w1" -v tck="$TCK" -v rss="$rss" \
    'BEGIN { printf "%s %d %.3f %.1f\n", l, i, (t1 - t0) / tck / (w1 - w0) * 100, rss / 1024 }'
}

results=$(mktemp)
for interval in 1 5; do
  data=$(mktemp -d)
  printf '[metrics]\ninterval_secs = %d\n' "$interval" > "$data/caretaker.toml"
  CARETAKER_LOG=warn "$CARETAKER" run --data-dir "$data" 2>"$OUT/caretaker-$interval.log" &
  cpid=$!
  measure "$cpid" caretaker "$interval" >> "$results"
  kill -TERM "$cpid"; wait "$cpid" || true
  rm -rf "$data"

  port=$((19100 + interval))
  "$NODE_EXPORTER" --web.listen-address="127.0.0.1:$port" 2>"$OUT/node-exporter-$interval.log" &
  npid=$!
  # node_exporter collects when scraped: scrape it at the same interval, as Prometheus would.
  ( while sleep "$interval"; do curl -s -o /dev/null "http://127.0.0.1:$port/metrics" || true; done ) &
  spid=$!
  measure "$npid" node_exporter "$interval" >> "$results"
  kill "$spid" "$npid" 2>/dev/null; wait "$npid" 2>/dev/null || true
done

echo
echo "Host overhead, ${SECS} s per run after ${WARMUP} s warm-up ($(nproc) cores)"
printf '%-14s %9s %14s %10s\n' process interval "cpu % 1 core" "peak MiB"
while read -r l i c r; do printf '%-14s %8ss %14s %10s\n' "$l" "$i" "$c" "$r"; done < "$results"
echo
for interval in 1 5; do
  awk -v i="$interval" '$2 == i && $1 == "caretaker" {cc=$3; cr=$4} $2 == i && $1 == "node_exporter" {nc=$3; nr=$4}
    END { printf "at %ss: caretaker / node_exporter  cpu %.2fx  rss %.2fx\n", i, (nc > 0 ? cc / nc : 0), (nr > 0 ? cr / nr : 0) }' "$results"
done
awk '$1 == "caretaker" && $2 == 5 { ok = ($3 <= 0.25 && $4 <= 25); printf "target at 5 s (<= 0.25 %% of a core, <= 25 MiB): %s\n", ok ? "met" : "NOT met" }' "$results"
cp "$results" "$OUT/host_overhead.txt"
