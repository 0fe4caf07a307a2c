#!/usr/bin/env bash
# The resident cost of Caretaker as the always-on issue counts it, with the engine running as a
# service (a separately started `caretaker run`) and the app attached to it: CPU (utime+stime)
# and PSS summed over every Caretaker process (engine, app, web process), with the window open
# and idle on the Overview, then after the window is closed the way a person does (the WM's close
# button). The default configuration, notifications off (no notification daemon under Xvfb).
#
#   xvfb-run -a -s "-screen 0 1440x1080x24" dbus-run-session -- bash bench/footprint.sh
#   APP=target/debug/caretaker-app CLI=target/debug/caretaker SECS=30 ...   # quicker, debug build
# Needs: openbox, wmctrl (Debian). Release binaries by default: cargo xtask bundle, or
# `cargo build --release -p caretaker-app -p caretaker-cli` after `npm run build` in ui/.
set -euo pipefail
cd "$(dirname "$0")/.."
APP=${APP:-target/release/caretaker-app}
CLI=${CLI:-target/release/caretaker}
SECS=${SECS:-60}
for b in "$APP" "$CLI"; do [ -x "$b" ] || { echo "missing $b" >&2; exit 1; }; done
D=$(mktemp -d)
printf '[notifications]\nenabled = false\n' > "$D/caretaker.toml"
openbox >/dev/null 2>&1 & WM=$!
CARETAKER_KEYCHAIN=off "$CLI" run --data-dir "$D" 2>"$D/engine.log" & EP=$!
for _ in $(seq 100); do [ -S "$D/caretaker.sock" ] && break; sleep 0.1; done
CARETAKER_DATA_DIR=$D CARETAKER_KEYCHAIN=off "$APP" >"$D/app.log" 2>&1 & AP=$!
cleanup() { kill "$AP" 2>/dev/null || true; kill "$EP" 2>/dev/null || true; kill "$WM" 2>/dev/null || true; sleep 1; rm -rf "$D"; }
trap cleanup EXIT
sleep 25
grep -q "attached to the running engine" "$D/app.log" || { echo "the app did not attach to the engine" >&2; exit 1; }
tree() { echo "$EP $AP $(pgrep -P $AP | tr '\n' ' ') $(for c in $(pgrep -P $AP); do pgrep -P $c; done | tr '\n' ' ')" | tr ' ' '\n' | grep -v '^$' | sort -u; }
ticks() { t=0; for p in $(tree); do v=$(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null || echo 0); t=$((t+${v:-0})); done; echo $t; }
pss() { t=0; for p in $(tree); do v=$(awk '/^Pss:/{print $2}' /proc/$p/smaps_rollup 2>/dev/null || echo 0); t=$((t+${v:-0})); done; echo $((t/1024)); }
each() { for p in $(tree); do awk -v n="$(cat /proc/$p/comm 2>/dev/null)" '/^Pss:/{printf "    %s pss=%d MiB\n", n, $2/1024}' /proc/$p/smaps_rollup 2>/dev/null || true; done; }
measure() {
  local label=$1 t0 t1 w0 w1
  t0=$(ticks); w0=$(date +%s.%N); sleep "$SECS"; t1=$(ticks); w1=$(date +%s.%N)
  echo "$label: cpu $(awk -v a="$t0" -v b="$t1" -v w0="$w0" -v w1="$w1" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.2f", (b-a)/hz/(w1-w0)*100}')% of a core; PSS $(pss) MiB"
  each
}
measure "window open, idle on Overview (engine + app)"
wmctrl -c Caretaker; sleep 5
measure "window closed, tray only (engine + app)"
