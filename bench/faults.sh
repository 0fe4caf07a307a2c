#!/usr/bin/env bash
# Fault injection: the headless engine with a backup plan on a real restic repository, a
# maintenance schedule and an HTTP check against a loopback server; each round injects one fault
# at a seeded random point (kill -9 of the engine or of the backup worker, SIGSTOP of the worker,
# a full data disk, a clock jump, an invalid config edit, the repository disk unplugged, a probe
# server that never answers), restarts what it killed and checks the invariants. One line per
# fault kind at the end; exit 1 when an invariant broke, 2 when the harness itself failed.
#
#   bash bench/faults.sh                  # 50 rounds, about 15 minutes, a fresh seed (printed)
#   ROUNDS=8 SEED=1234 bash bench/faults.sh   # one round of each kind, repeatable
#
# Needs Linux, restic and libfaketime (scripts/setup-debian.sh installs both), and root for the
# tmpfs mounts (without them the full-disk and disk-removed kinds are reported as skipped).
# The round log, the engine's log and its database are kept in bench/out/faults/.
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=$(mktemp -d "${TMPDIR:-/tmp}/caretaker-faults-sh.XXXXXX")
# The harness cleans up after itself; this is for a harness that was killed outright: end the
# processes carrying its marker (by pid) and lazily unmount whatever is still mounted in $WORK.
cleanup() {
  for env in /proc/[0-9]*/environ; do
    if { tr '\0' '\n' < "$env"; } 2>/dev/null | grep -q "^CARETAKER_FAULTS_RUN=$WORK/"; then
      pid=${env#/proc/}; pid=${pid%/environ}
      kill -CONT "$pid" 2>/dev/null || true
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  awk -v w="$WORK/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    umount -l "$m" || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

export FAULTS_WORK=$WORK
status=0
cargo xtask faults || status=$?
exit $status
