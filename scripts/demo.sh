#!/usr/bin/env bash
# One command from a fresh clone to a finished search: tools, build, the
# benchmark tables, the Temporal dev server with its Web UI and a worker
# (genius dev), a random-proposer search on NAS-Bench-Macro, its report,
# then a clean stop. `make demo` runs it.
#
# Environment (all optional):
#   BIN                 where tools and genius are built (default ./bin)
#   GENIUS_TEMPORAL_BIN the temporal CLI (default $BIN/temporal, built if missing)
#   GENIUS_DATA_DIR     benchmark tables (default ./data; fetched if missing)
#   GO                  the go command (default go)
#   GENIUS_DEMO_DIR     dev-server state, result and report (default ./.genius/demo)
#   GENIUS_DEMO_PORT    Temporal frontend port (default 7233; the Web UI is on +1000)
#   GENIUS_DEMO_ITERATIONS  iterations of the search (default 10)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
BIN="${BIN:-$ROOT/bin}"
MAKE="${MAKE:-make}"
TEMPORAL="${GENIUS_TEMPORAL_BIN:-$BIN/temporal}"
DATA="${GENIUS_DATA_DIR:-$ROOT/data}"
DEMO="${GENIUS_DEMO_DIR:-$ROOT/.genius/demo}"
PORT="${GENIUS_DEMO_PORT:-7233}"
ITERATIONS="${GENIUS_DEMO_ITERATIONS:-10}"
ADDR="127.0.0.1:$PORT"
UI="http://127.0.0.1:$((PORT + 1000))"
GENIUS="$BIN/genius"

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'demo: %s\n' "$*" >&2; exit 1; }

case "$PORT" in '' | *[!0-9]*) fail "GENIUS_DEMO_PORT=$PORT is not a port number";; esac
case "$ITERATIONS" in '' | *[!0-9]* | 0) fail "GENIUS_DEMO_ITERATIONS=$ITERATIONS is not a positive number";; esac

step "Tools: the Temporal CLI with its dev server"
if [ -x "$TEMPORAL" ]; then
	echo "using $TEMPORAL"
else
	echo "building $TEMPORAL from the Go module proxy (about 10 minutes the first time)"
	"$MAKE" -s "$BIN/temporal" BIN="$BIN"
	TEMPORAL="$BIN/temporal"
fi

step "Build: $GENIUS"
"${GO:-go}" build -o "$GENIUS" ./cmd/genius

step "Benchmark tables"
# An existing GENIUS_DATA_DIR that holds them, else ./data, fetched if
# need be (into GENIUS_DATA_DIR only if that folder exists).
verified=""
for d in "$DATA" "$ROOT/data"; do
	if "$GENIUS" data verify --data-dir "$d" >/dev/null 2>&1; then
		verified="$d"
		break
	fi
done
if [ -n "$verified" ]; then
	DATA="$verified"
	echo "present and verified in $DATA"
else
	[ -d "$DATA" ] || DATA="$ROOT/data"
	echo "fetching into $DATA"
	"$GENIUS" data fetch --data-dir "$DATA" ||
		fail "could not fetch the benchmark tables into $DATA: copy them there (or point GENIUS_DATA_DIR at a folder holding them) and run make demo again"
fi

mkdir -p "$DEMO"
LOG="$DEMO/dev.log"
step "Dev server and worker: genius dev (log $LOG)"
GENIUS_TEMPORAL_BIN="$TEMPORAL" "$GENIUS" dev --address "$ADDR" --state-dir "$DEMO/state" --data-dir "$DATA" --gpu-worker=false >"$LOG" 2>&1 &
DEV=$!
stop_dev() {
	if kill -0 "$DEV" 2>/dev/null; then
		kill -INT "$DEV"
		wait "$DEV" || true
	fi
}
trap stop_dev EXIT
for _ in $(seq 1 180); do
	grep -q "Press Ctrl-C to stop." "$LOG" && break
	kill -0 "$DEV" 2>/dev/null || { cat "$LOG" >&2; fail "genius dev exited before it was ready"; }
	sleep 1
done
grep -q "Press Ctrl-C to stop." "$LOG" || { cat "$LOG" >&2; fail "genius dev was not ready within 3 minutes"; }
grep -E "Temporal (dev server at|Web UI)|Using the Temporal server" "$LOG" || true

ID="genius-demo-$(date -u +%Y%m%d-%H%M%S)"
step "Search: $ID, random proposer, $ITERATIONS iterations on NAS-Bench-Macro"
"$GENIUS" search --address "$ADDR" --spec specs/nas-bench-macro.json --proposer random --iterations "$ITERATIONS" \
	--workflow-id "$ID" >"$DEMO/result.json"
echo "result: $DEMO/result.json"
"$GENIUS" audit --address "$ADDR" --workflow-id "$ID" >"$DEMO/audit.txt"
echo "audit trail: $DEMO/audit.txt"

REPORT="$DEMO/report"
step "Report"
if "$GENIUS" report --help >/dev/null 2>&1; then
	"$GENIUS" report --address "$ADDR" --workflow-id "$ID" --out "$REPORT"
	echo "report: $REPORT"
else
	REPORT=""
	echo "skipped: this genius has no report command yet"
fi

step "Stopping genius dev"
stop_dev
trap - EXIT

cat <<DONE

Done. Search $ID finished on the embedded Temporal dev server.
  result:       $DEMO/result.json
  audit trail:  $DEMO/audit.txt
DONE
if [ -n "$REPORT" ]; then
	echo "  report:       $REPORT (open report.html in a browser)"
fi
cat <<DONE
  Web UI:       $UI/namespaces/default/workflows/$ID
                (served while genius dev runs; the search is kept in $DEMO/state:
                 $GENIUS dev --address $ADDR --state-dir $DEMO/state --data-dir $DATA)
DONE
