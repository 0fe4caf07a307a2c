#!/usr/bin/env bash
# Host-overhead benchmark: the headless Caretaker engine against Debian's prometheus-node-exporter,
# in the same run, at the same sampling interval. Reports CPU (% of one core, from /proc/PID/stat),
# peak RSS (VmHWM) and RSS at the end (VmRSS), and the ratio Caretaker / node_exporter.
#
# Caretaker runs with the configuration a new user gets: at 5 s (the default interval, the headline)
# the bench writes no caretaker.toml, so the engine writes its own first-run file; at 1 s it is that
# same first-run file with only the metrics interval changed.
#
#   bash bench/host_overhead.sh            # 60 s per run (as in the closing notes)
#   BENCH_SECS=20 bash bench/host_overhead.sh
#   BENCH_INTERVALS=5 bash bench/host_overhead.sh   # the headline row only
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${BENCH_SECS:-60}
WARMUP=${BENCH_WARMUP:-5}
INTERVALS=${BENCH_INTERVALS:-5 1}
CARETAKER=${CARETAKER_BIN:-target/release/caretaker}
NODE_EXPORTER=${NODE_EXPORTER_BIN:-/usr/bin/prometheus-node-exporter}
DEFAULT_TOML=crates/caretaker-engine/src/config/default.toml
TCK=$(getconf CLK_TCK)
OUT=bench/out
mkdir -p "$OUT"

[ -x "$CARETAKER" ] || { echo "build it first: cargo build --release -p caretaker-cli" >&2; exit 1; }
[ -x "$NODE_EXPORTER" ] || { echo "missing $NODE_EXPORTER (apt install prometheus-node-exporter)" >&2; exit 1; }

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime, including after exec
status_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# measure PID LABEL INTERVAL: prints "label interval cpu_pct peak_mib end_mib"
measure() {
  local pid=$1 label=$2 interval=$3
  sleep "$WARMUP"
  local t0 w0 t1 w1
  t0=$(ticks "$pid"); w0=$(date +%s.%N)
  sleep "$SECS"
  t1=$(ticks "$pid"); w1=$(date +%s.%N)
  local hwm rss; hwm=$(status_kib "$pid" VmHWM); rss=$(status_kib "$pid" VmRSS)
  awk -v l="$label" -v i="$interval" -v t0="$t0" -v t1="$t1" -v w0="$w0" -v w1="$w1" -v tck="$TCK" -v hwm="$hwm" -v rss="$rss" \
    'BEGIN { printf "%s %d %.3f %.1f %.1f\n", l, i, (t1 - t0) / tck / (w1 - w0) * 100, hwm / 1024, rss / 1024 }'
}

results=$(mktemp)
for interval in $INTERVALS; do
  data=$(mktemp -d)
  if [ "$interval" != 5 ]; then
    sed "0,/^interval_secs = 5\$/s//interval_secs = $interval/" "$DEFAULT_TOML" > "$data/caretaker.toml"
    grep -q "^interval_secs = $interval\$" "$data/caretaker.toml" || { echo "cannot set the interval in $DEFAULT_TOML" >&2; exit 1; }
    chmod 600 "$data/caretaker.toml"
  fi
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
echo "Host overhead, ${SECS} s per run after ${WARMUP} s warm-up ($(nproc) cores); caretaker with its first-run configuration"
printf '%-14s %9s %14s %10s %10s\n' process interval "cpu % 1 core" "peak MiB" "end MiB"
while read -r l i c h r; do printf '%-14s %8ss %14s %10s %10s\n' "$l" "$i" "$c" "$h" "$r"; done < "$results"
echo
for interval in $INTERVALS; do
  awk -v i="$interval" '$2 == i && $1 == "caretaker" {cc=$3; cr=$4} $2 == i && $1 == "node_exporter" {nc=$3; nr=$4}
    END { printf "at %ss: caretaker / node_exporter  cpu %.2fx  peak rss %.2fx\n", i, (nc > 0 ? cc / nc : 0), (nr > 0 ? cr / nr : 0) }' "$results"
done
awk '$2 == 5 && $1 == "caretaker" {cc=$3; cr=$4} $2 == 5 && $1 == "node_exporter" {nc=$3; nr=$4}
  END { if (nc > 0 && nr > 0) { ok = (cc <= 0.7 * nc && cr <= 0.6 * nr)
        printf "target at 5 s (cpu <= 0.7x node_exporter, peak rss <= 0.6x node_exporter): %s\n", ok ? "met" : "NOT met" } }' "$results"
cp "$results" "$OUT/host_overhead.txt"
# How much of the engine's code crates/caretaker-cli/hot.ld still finds (Linux release link): a
# list gone stale (after a compiler or dependency update) shows here as a low share and a higher RSS.
if command -v nm >/dev/null; then
  sed -n 's/^    \*(\.text\.\([^* ]*\) .*/\1/p' crates/caretaker-cli/hot.ld | grep -vx "unlikely\|exit\|startup\|hot" | sort -u > "$OUT/hot-listed.txt"
  nm "$CARETAKER" 2>/dev/null | awk '{print $NF}' | sed 's/\.llvm\.[0-9]*$//' | sort -u > "$OUT/hot-present.txt"
  echo "hot.ld: $(comm -12 "$OUT/hot-listed.txt" "$OUT/hot-present.txt" | wc -l) of $(wc -l < "$OUT/hot-listed.txt") listed functions found in $CARETAKER (scripts/hot-functions.sh regenerates the list)"
fi
