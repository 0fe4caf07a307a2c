#!/usr/bin/env bash
# Backup benchmark: Caretaker's backup worker (rustic_core) against the restic CLI, in the same run,
# on the same generated tree, one step after the other. For each tool: init a fresh repository,
# first backup, (change 1 % of the tree, once, for both tools), incremental backup, restore of the
# latest snapshot to a fresh folder. Wall time and peak RSS of every step come from GNU time.
# Each repository kind is measured in turn: a local folder, and a REST server on loopback
# (`rclone serve restic`, Debian's rclone) that both tools reach over HTTP, each its own repository.
#
# Targets (from the issue), as Caretaker / restic, for every kind:
#   first backup <= 1.0 x, incremental backup <= 1.0 x, restore <= 1.0 x, restore peak RSS <= 1.5 x.
#
#   ROUNDS=3 bash bench/backup_vs_restic.sh                         # ~1 GiB: 30k small files + 8 x 100 MiB, best of three
#   SMALL_FILES=2000 BIG_FILES=2 BIG_MB=20 bash bench/backup_vs_restic.sh   # quick smoke run
#   KINDS=rest bash bench/backup_vs_restic.sh                       # only the REST server (default: "local rest")
#
# Other knobs: CARGO_TARGET_DIR (where the release build goes, default target), CARETAKER_BIN (skip
# the build and use this binary), RESTIC_BIN (default restic), BENCH_TMPDIR (parent of the scratch
# folder, default /var/tmp; it must be a real disk, not tmpfs, with ~6 GiB free at full size).
# The page cache is dropped before every step when running as root; otherwise the table says the
# cache was warm. The restic side runs with --no-cache, as Caretaker's worker keeps no cache.
set -euo pipefail
cd "$(dirname "$0")/.."

SMALL_FILES=${SMALL_FILES:-30000}
BIG_FILES=${BIG_FILES:-8}
BIG_MB=${BIG_MB:-100}
ROUNDS=${ROUNDS:-1}
KINDS=${KINDS:-local rest}
RESTIC=${RESTIC_BIN:-restic}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
OUT=bench/out
PASSWORD='bench-password-not-secret'
HOST=bench
mkdir -p "$OUT"

# --- prerequisites -------------------------------------------------------------------------------
die() { echo "error: $*" >&2; exit 1; }
if ! /usr/bin/time -f '%e %M' -o /dev/null true 2>/dev/null; then
  die "GNU time is needed at /usr/bin/time (Debian: apt-get install time)"
fi
command -v "$RESTIC" >/dev/null || die "restic not found (Debian: apt-get install restic), or set RESTIC_BIN"
command -v python3 >/dev/null || die "python3 is needed to generate the test tree"
case " $KINDS " in *" rest "*) command -v rclone >/dev/null || die "rclone is needed for the REST rows (Debian: apt-get install rclone)" ;; esac

if [ -n "${CARETAKER_BIN:-}" ]; then
  CARETAKER=$CARETAKER_BIN
else
  echo "building caretaker (release) into $TARGET_DIR ..."
  cargo build --release -p caretaker-cli
  CARETAKER=$TARGET_DIR/release/caretaker
fi
[ -x "$CARETAKER" ] || die "no caretaker binary at $CARETAKER"
CARETAKER=$(realpath "$CARETAKER")

WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/caretaker-bench.XXXXXX")
REST_PID=""
trap '[ -n "$REST_PID" ] && kill "$REST_PID" 2>/dev/null; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
if [ "$(stat -f -c %T "$WORK")" = tmpfs ]; then
  echo "warning: $WORK is on tmpfs; disk speed will not count (set BENCH_TMPDIR to a real disk)" >&2
fi
SRC=$WORK/src
LOGS=$WORK/logs
RESULTS=$WORK/results   # lines: round kind tool step seconds peak_kib
mkdir -p "$LOGS"
: > "$RESULTS"

# Dropping the page cache needs root; without it every step runs with a warm cache (both tools alike).
if [ "$(id -u)" = 0 ] && (sync && echo 3 > /proc/sys/vm/drop_caches) 2>/dev/null; then
  CACHE="dropped before every step"
  drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }
else
  CACHE="WARM (not root: cannot drop the page cache)"
  drop_caches() { sync; }
fi

# --- the test tree -------------------------------------------------------------------------------
# Deterministic (fixed seeds). Small files: 1-16 KiB, 30 a folder in three levels of folders; a third
# log-like text (compresses well), a third random, a third half and half. Big files: even ones
# random, odd ones 1 MiB blocks of half text, half random (partly compressible). No two chunks are
# equal, so deduplication plays no part in the first backup.
cat > "$WORK/tree.py" <<'PY'
import os, random, sys

mode, root, n_small, n_big, big_mb = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
MiB = 1 << 20
WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut "
         "labore et dolore magna aliqua backup restore snapshot worker request status ok warn").split()
pool_rng = random.Random(7)
POOL = "".join("%08d %s\n" % (i, " ".join(pool_rng.choice(WORDS) for _ in range(9))) for i in range(60000)).encode()

def text(rng, n):
    """Log-like text: a slice of the shared pool at a random offset."""
    at = rng.randrange(0, len(POOL) - n)
    return POOL[at:at + n]

def small_path(i):
    d = i // 30
    return os.path.join(root, "p%02d" % (d // 100), "q%d" % (d // 10 % 10), "r%d" % (d % 10),
                        "f%05d.%s" % (i, ("txt", "dat", "log", "bin")[i % 4]))

def small_content(rng, i):
    size = rng.randint(1024, 16 * 1024)
    head = b"file %d\n" % i   # makes every file unique
    kind = i % 3
    if kind == 0:
        body = text(rng, size)
    elif kind == 1:
        body = rng.randbytes(size)
    else:
        body = text(rng, size // 2) + rng.randbytes(size - size // 2)
    return head + body

def big_path(i):
    return os.path.join(root, "big", "blob%02d.%s" % (i, "bin" if i % 2 == 0 else "img"))

def write_big(rng, f, i, mib):
    for b in range(mib):
        if i % 2 == 0:
            f.write(rng.randbytes(MiB))
        else:
            f.write(text(rng, MiB // 2))
            f.write(rng.randbytes(MiB // 2))

if mode == "generate":
    for i in range(n_small):
        rng = random.Random(i)
        p = small_path(i)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(small_content(rng, i))
    os.makedirs(os.path.join(root, "big"), exist_ok=True)
    for i in range(n_big):
        with open(big_path(i), "wb") as f:
            write_big(random.Random(1_000_000 + i), f, i, big_mb)
elif mode == "change":
    # 1 % of the small files: overwrite their first 256 bytes and append 512; plus about 1 % of the
    # big data appended to the first big file.
    rng = random.Random(424242)
    changed = 0
    for i in range(50, n_small, 100):
        with open(small_path(i), "r+b") as f:
            f.write(rng.randbytes(256))
            f.seek(0, 2)
            f.write(rng.randbytes(512))
        changed += 1
    appended = 0
    if n_big > 0:
        appended = max(1, n_big * big_mb // 100)
        with open(big_path(0), "ab") as f:
            write_big(rng, f, 1, appended)
    print("%d small files modified, %d MiB appended to %s" % (changed, appended, "one big file" if n_big else "nothing"))
PY

echo "generating the tree: $SMALL_FILES small files, $BIG_FILES x $BIG_MB MiB big files in $SRC ..."
python3 "$WORK/tree.py" generate "$SRC" "$SMALL_FILES" "$BIG_FILES" "$BIG_MB"
FILES=$(find "$SRC" -type f | wc -l)
BYTES=$(du -sb "$SRC" | cut -f1)
echo "tree: $FILES files, $((BYTES / 1048576)) MiB"

# --- running and timing one step -----------------------------------------------------------------
# measure ROUND TOOL STEP STDIN CMD...: drops the cache, times CMD (the tool's own process, not a
# shell around it) and appends "round tool step seconds peak_kib" to $RESULTS.
measure() {
  local round=$1 tool=$2 step=$3 stdin=$4
  shift 4
  local log=$LOGS/$round-$KIND-$tool-$step.log tf=$LOGS/$round-$KIND-$tool-$step.time
  drop_caches
  # The worker stops when its stdin closes (its engine is gone), as the app's engine keeps it
  # open for the whole job: so does this, with a sleep that is ended afterwards.
  local ok=1
  if [ "$tool" = caretaker ]; then
    /usr/bin/time -f '%e %M' -o "$tf" "$@" \
      < <(echo "$BASHPID" > "$WORK/feeder.pid"; cat "$stdin"; exec sleep 86400 2>/dev/null) > "$log" 2>&1 || ok=0
    kill "$(cat "$WORK/feeder.pid")" 2>/dev/null || true   # the sleep that kept stdin open
  else
    /usr/bin/time -f '%e %M' -o "$tf" "$@" < "$stdin" > "$log" 2>&1 || ok=0
  fi
  if [ "$ok" = 0 ]; then
    tail -5 "$log" >&2
    die "$tool $step failed (round $round)"
  fi
  if [ "$tool" = caretaker ] && ! tail -1 "$log" | grep -q '"event":"done"'; then
    tail -5 "$log" >&2
    die "caretaker $step did not finish with a done event (round $round)"
  fi
  read -r secs kib < <(tail -1 "$tf")
  echo "$round $KIND $tool $step $secs $kib" >> "$RESULTS"
  printf '  %-5s %-9s %-12s %7.2f s %7d MiB\n' "$KIND" "$tool" "$step" "$secs" "$((kib / 1024))"
}

# One JSON request line for the worker; paths come from mktemp and need no escaping.
# The app's engine keeps a repository's master key in memory once it has it (from creating the
# repository, or from the first job that opened it with the password), so later jobs skip the
# deliberately slow password derivation (restic pays it on every command). The bench does the same.
CT_KEY=""
request() {  # request FILE OP-FIELDS-JSON-WITHOUT-BRACES
  local key=""
  [ -n "$CT_KEY" ] && key=",\"key\":$CT_KEY"
  printf '{"repository":"%s","password":"%s"%s,%s}\n' "$CT_REPO" "$PASSWORD" "$key" "$2" > "$1"
}

# The key the worker handed over during STEP's run, as a JSON string literal.
key_from() {  # key_from LOGFILE
  python3 -c 'import json,sys
for line in open(sys.argv[1]):
    e = json.loads(line) if line.startswith("{") else {}
    if e.get("event") == "key": print(json.dumps(e["key"])); break' "$1"
}

restic_step() {  # restic_step ROUND STEP
  local round=$1 step=$2
  local -a r=(env "RESTIC_PASSWORD=$PASSWORD" "$RESTIC" -r "$RS_REPO" --no-cache)
  case $step in
    init) measure "$round" restic init /dev/null "${r[@]}" init ;;
    first|incremental) measure "$round" restic "$step" /dev/null "${r[@]}" backup --host "$HOST" "$SRC" ;;
    restore) measure "$round" restic restore /dev/null "${r[@]}" restore latest --target "$RS_DEST" ;;
  esac
}

caretaker_step() {  # caretaker_step ROUND STEP
  local round=$1 step=$2 req=$WORK/request.json
  case $step in
    init) request "$req" '"op":"init"' ;;
    first|incremental)
      request "$req" "\"op\":\"backup\",\"sources\":[\"$SRC\"],\"excludes\":[],\"host\":\"$HOST\",\"tags\":[],\"label\":\"bench\"" ;;
    restore)
      local snap
      snap=$(tail -1 "$LOGS/$round-$KIND-caretaker-incremental.log" | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["snapshot_id"])')
      request "$req" "\"op\":\"restore\",\"snapshot\":\"$snap\",\"path\":\"\",\"destination\":\"$CT_DEST\",\"on_conflict\":null,\"host\":\"$HOST\"" ;;
  esac
  measure "$round" caretaker "$step" "$req" "$CARETAKER" __backup-worker
  # Creating the repository hands over its key (as the app's plan wizard does); a repository
  # opened with the password hands it over on its first job.
  if [ -z "$CT_KEY" ] || [ "$step" = init ]; then
    CT_KEY=$(key_from "$LOGS/$round-$KIND-caretaker-$step.log")
  fi
  return 0
}

# Both tools restore the snapshot's absolute source path below the target folder.
verify() {  # verify TOOL DEST
  local restored=$2$SRC
  [ -d "$restored" ] || die "$1: nothing restored at $restored"
  if ! diff -r -q "$SRC" "$restored" > "$LOGS/diff-$1.txt" 2>&1; then
    head -20 "$LOGS/diff-$1.txt" >&2
    die "$1: the restored tree differs from the source"
  fi
  echo "  $1: restored tree identical to the source ($(find "$restored" -type f | wc -l) files)"
}

# --- the run -------------------------------------------------------------------------------------
# Which tool goes first alternates from step to step (and from round to round), so neither
# profits from always running second.
pair() {  # pair ROUND STEP INDEX
  if [ $(( ($1 + $3) % 2 )) -eq 0 ]; then restic_step "$1" "$2"; caretaker_step "$1" "$2"
  else caretaker_step "$1" "$2"; restic_step "$1" "$2"; fi
}

# The REST server: one rclone process for the whole run, its store on the same disk as the rest.
start_rest() {
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$WORK/rest-store"
  RCLONE_CONFIG=$WORK/rclone.conf rclone serve restic --addr "127.0.0.1:$port" "$WORK/rest-store" > "$LOGS/rclone.log" 2>&1 &
  REST_PID=$!
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then REST_URL=http://127.0.0.1:$port; return 0; fi
    sleep 0.1
  done
  die "rclone serve restic did not start"
}
case " $KINDS " in *" rest "*) start_rest ;; esac

declare -A RS_SIZE CT_SIZE
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round of $ROUNDS (page cache: $CACHE)"
  for KIND in $KINDS; do
    CT_KEY=""
    RS_DEST=$WORK/restore-restic CT_DEST=$WORK/restore-caretaker
    case $KIND in
      local) RS_REPO=$WORK/repo-restic CT_REPO=$WORK/repo-caretaker RS_DIR=$RS_REPO CT_DIR=$CT_REPO ;;
      # A new path each round: rclone caches what it listed, so files removed under it linger.
      rest) RS_REPO=rest:$REST_URL/restic-$round CT_REPO=rest:$REST_URL/caretaker-$round
            RS_DIR=$WORK/rest-store/restic-$round CT_DIR=$WORK/rest-store/caretaker-$round ;;
      *) die "unknown repository kind $KIND (KINDS takes local and rest)" ;;
    esac
    rm -rf "$RS_DIR" "$CT_DIR" "$RS_DEST" "$CT_DEST"
    pair "$round" init 0
    pair "$round" first 1
    # The tree changes once per round, between the kinds' first and incremental steps alike:
    # every kind starts from the original tree (regenerated when a later kind needs it).
    echo "  change: $(python3 "$WORK/tree.py" change "$SRC" "$SMALL_FILES" "$BIG_FILES" "$BIG_MB")"
    pair "$round" incremental 0
    pair "$round" restore 1
    verify restic "$RS_DEST"
    verify caretaker "$CT_DEST"
    RS_SIZE[$KIND]=$(du -sb "$RS_DIR" | cut -f1) CT_SIZE[$KIND]=$(du -sb "$CT_DIR" | cut -f1)
    rm -rf "$RS_DEST" "$CT_DEST"
    [ "$KIND" = rest ] && rm -rf "$RS_DIR" "$CT_DIR"   # disk space; never listed again
    FILES_AFTER=$(find "$SRC" -type f | wc -l)
    BYTES_AFTER=$(du -sb "$SRC" | cut -f1)
    # Back to the original tree for the next kind or round.
    rm -rf "$SRC"
    python3 "$WORK/tree.py" generate "$SRC" "$SMALL_FILES" "$BIG_FILES" "$BIG_MB"
  done
done

# --- the table -----------------------------------------------------------------------------------
{
  echo
  echo "Caretaker $("$CARETAKER" --version 2>/dev/null | head -1) vs $("$RESTIC" version | cut -d' ' -f1-2), $(nproc) cores, $ROUNDS round(s), best time per tool"
  echo "data: $FILES files, $((BYTES / 1048576)) MiB (after the change: $FILES_AFTER files, $((BYTES_AFTER / 1048576)) MiB)"
  for KIND in $KINDS; do
    echo "repository size ($KIND): restic $((RS_SIZE[$KIND] / 1048576)) MiB, caretaker $((CT_SIZE[$KIND] / 1048576)) MiB"
  done
  echo "page cache: $CACHE"
  for KIND in $KINDS; do
  echo
  echo "== $KIND repository$([ "$KIND" = rest ] && echo " (rclone serve restic on loopback)")"
  awk -v kind="$KIND" -v targets="first=1.0 incremental=1.0 restore=1.0" '
    BEGIN { n = split(targets, t, " "); for (i = 1; i <= n; i++) { split(t[i], kv, "="); target[kv[1]] = kv[2] } }
    $2 == kind {
      k = $3 SUBSEP $4
      if (!(k in secs) || $5 < secs[k]) secs[k] = $5
      if ($6 > kib[k]) kib[k] = $6
    }
    END {
      split("init first incremental restore", steps, " ")
      printf "%-13s %10s %12s %7s %8s %5s\n", "step", "restic s", "caretaker s", "ratio", "target", "met?"
      for (i = 1; i <= 4; i++) {
        s = steps[i]; r = secs["restic", s]; c = secs["caretaker", s]
        ratio = r > 0 ? c / r : 0
        tg = (s in target) ? sprintf("<= %.1f", target[s]) : "-"
        met = (s in target) ? (ratio <= target[s] + 1e-9 ? "yes" : "NO") : "-"
        printf "%-13s %10.2f %12.2f %7.2f %8s %5s\n", s, r, c, ratio, tg, met
      }
      printf "\n%-13s %10s %12s %7s %8s %5s\n", "peak RSS", "restic MiB", "caretaker MiB", "ratio", "target", "met?"
      for (i = 1; i <= 4; i++) {
        s = steps[i]; r = kib["restic", s] / 1024; c = kib["caretaker", s] / 1024
        ratio = r > 0 ? c / r : 0
        tg = s == "restore" ? "<= 1.5" : "-"
        met = s == "restore" ? (ratio <= 1.5 ? "yes" : "NO") : "-"
        printf "%-13s %10.1f %12.1f %7.2f %8s %5s\n", s, r, c, ratio, tg, met
      }
    }' "$RESULTS"
  done
} | tee "$OUT/backup_vs_restic.txt"
