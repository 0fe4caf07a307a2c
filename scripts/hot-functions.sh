#!/usr/bin/env bash
# Regenerates crates/caretaker-cli/hot.ld: the functions the resident engine runs, which the
# release link places together at the front of the binary's code (a linker script the CLI's
# build.rs passes on Linux release builds). The kernel maps a program's code 64 KiB at a time
# around each page it touches, so code the engine runs scattered among code it never runs (the
# backup worker's, the one-shot commands') makes the whole binary resident; packed together, the
# engine keeps only its own code in memory.
#
# How: the release `caretaker run` under valgrind's callgrind, twice, each time with the app's
# kind of traffic on the control socket:
#   1. the first-run configuration a new user gets (its functions come first);
#   2. every kind of check (HTTP, TCP, process, command, JSON value) failing and passing, the
#      Prometheus endpoint scraped, alerts listed from the CLI (the functions not already seen).
# Names are written with their Rust hash replaced by a wildcard, so the file keeps matching after
# a dependency or compiler update changes the hashes; regenerate after a large change to the
# engine (bench/host_overhead.sh prints how much code the file placed).
#
#   cargo build --release -p caretaker-cli && bash scripts/hot-functions.sh   # ~6 min
# Needs: valgrind (Debian: apt-get install valgrind), python3.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CARETAKER_BIN:-target/release/caretaker}
SECS=${SECS:-120}
OUT=crates/caretaker-cli/hot.ld
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "build it first: cargo build --release -p caretaker-cli" >&2; exit 1; }
BIN=$(realpath "$BIN")
W=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$W"' EXIT

profile() { # NAME DATA_DIR: runs the engine under callgrind for SECS seconds, with socket traffic
  local name=$1 data=$2
  CARETAKER_LOG=info CARETAKER_KEYCHAIN=off timeout -s INT "$SECS" valgrind --tool=callgrind \
    --callgrind-out-file="$W/$name.cg" --compress-strings=no --compress-pos=no --demangle=no \
    "$BIN" run --data-dir "$data" >"$W/$name.log" 2>&1 &
  local engine=$!
  sleep 30
  for _ in 1 2 3; do
    "$BIN" status --data-dir "$data" >/dev/null 2>&1 || true
    CARETAKER_DATA_DIR=$data "$BIN" alerts list >/dev/null 2>&1 || true
    CARETAKER_DATA_DIR=$data "$BIN" checks list >/dev/null 2>&1 || true
    [ "$name" = default ] || curl -s -o /dev/null "http://127.0.0.1:19464/metrics" || true
    sleep 20
  done
  wait "$engine" || true
  [ -s "$W/$name.cg" ] || { echo "callgrind wrote nothing for $name; see $W/$name.log" >&2; cat "$W/$name.log" >&2; exit 1; }
}

mkdir "$W/default" "$W/checks"
profile default "$W/default"

python3 -m http.server 19480 --bind 127.0.0.1 --directory "$W" >/dev/null 2>&1 &
echo '{"queue": 3}' > "$W/q.json"
cat > "$W/checks/caretaker.toml" <<TOML
[http]
enabled = true
bind = "127.0.0.1:19464"
[[checks.list]]
name = "web"
interval_secs = 5
http = { url = "http://127.0.0.1:19480/q.json", body_contains = "queue" }
[[checks.list]]
name = "gone"
interval_secs = 5
timeout_secs = 2
http = { url = "http://127.0.0.1:19481/" }
[[checks.list]]
name = "port"
interval_secs = 5
tcp = { port = 19480 }
[[checks.list]]
name = "shell"
interval_secs = 5
process = { name = "bash" }
[[checks.list]]
name = "true"
interval_secs = 5
command = { argv = ["true"] }
[[checks.list]]
name = "queue"
interval_secs = 5
json_value = { url = "http://127.0.0.1:19480/q.json", pointer = "/queue", warning_above = 2 }
TOML
chmod 600 "$W/checks/caretaker.toml"
profile checks "$W/checks"

python3 - "$W/default.cg" "$W/checks.cg" "$BIN" "$OUT" <<'PY'
import re, sys
*outs, binary, dest = sys.argv[1:]
exact, wild, seen = [], [], set()
for out in outs:
    ob = None
    for line in open(out, errors="replace"):
        m = re.match(r"^(ob|fn)=(.*)$", line.rstrip("\n"))
        if not m:
            continue
        kind, name = m.groups()
        if kind == "ob":
            ob = name
        elif ob == binary and re.fullmatch(r"[A-Za-z0-9_.$]+", name):
            name = re.sub(r"\.llvm\.\d+$", "", name)
            # Rust's legacy hash (17h + 16 hex digits + E) changes with a dependency or compiler
            # update; the wildcard keeps the function (and its other instances) near the front.
            pattern = re.sub(r"17h[0-9a-f]{16}E$", "17h*", name)
            for item, into in ((name, exact), (pattern, wild)):
                if item not in seen:
                    seen.add(item)
                    into.append(item)
engine = sum("16caretaker_engine" in name for name in exact)
if engine < 100:
    sys.exit(f"only {engine} of the engine's own functions ran under callgrind: the engine did not run as expected under valgrind")
# One output .text (tools such as valgrind read symbols within .text only), the engine's
# functions first (LLVM puts cold paths in .text.unlikely.*), then what lld places by default.
with open(dest, "w") as f:
    f.write("/* Generated by scripts/hot-functions.sh: the functions the resident engine runs, placed\n"
            "   together at the front of the code in the order first seen, then the same names with\n"
            "   any hash; the rest of .text as the linker lays it out by default. */\n"
            "SECTIONS {\n  .text : {\n")
    for name in exact + wild:
        f.write(f"    *(.text.{name} .text.unlikely.{name})\n")
    f.write("    *(.text.unlikely .text.*_unlikely .text.unlikely.*)\n"
            "    *(.text.exit .text.exit.*)\n"
            "    *(.text.startup .text.startup.*)\n"
            "    *(.text.hot .text.hot.*)\n"
            "    *(.text .stub .text.*)\n"
            "  }\n} INSERT BEFORE .init;\n")
print(f"{dest}: {len(exact)} functions, {len(wild)} patterns")
PY
