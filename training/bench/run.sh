#!/bin/sh
# Side-by-side training throughput: the genius Go engine against PyTorch
# (Debian's python3-torch, CPU, 2 threads) on GENIUS-329 with 10 classes,
# 32x32 inputs and batch 64, same network definition, alternating runs on
# the same machine so both see the same background load.
#
#   training/bench/run.sh            # ROUNDS=3 STEPS=10 by default
#   ROUNDS=1 STEPS=5 PYTHON=/usr/bin/python3 training/bench/run.sh
#
# PyTorch runs twice per round: 2 threads with OMP_WAIT_POLICY=PASSIVE
# (OpenMP's default busy-waiting collapses when the 2 cores are shared with
# other work) and 1 thread; the comparison uses the better of the two.
# Prints each run, then medians and the Go/PyTorch ratios of images/s
# (wall clock) and images per CPU-second (robust to other load).
set -eu
cd "$(dirname "$0")/../.."
PY=${PYTHON:-/usr/bin/python3}
STEPS=${STEPS:-10}
ROUNDS=${ROUNDS:-3}
BIN=$(mktemp -d)/bench.test
trap 'rm -rf "$(dirname "$BIN")"' EXIT
go test -c -o "$BIN" ./training/bench/
LOG=$(dirname "$BIN")/log
: >"$LOG"
i=0
while [ "$i" -lt "$ROUNDS" ]; do
	i=$((i + 1))
	"$BIN" -test.run '^$' -test.bench 'Genius329$' -test.benchtime "${STEPS}x" | grep '^BenchmarkGenius329' | tee -a "$LOG"
	OMP_WAIT_POLICY=PASSIVE "$PY" training/bench/torch_ref.py --steps "$STEPS" --threads 2 | tee -a "$LOG"
	"$PY" training/bench/torch_ref.py --steps "$STEPS" --threads 1 | tee -a "$LOG"
done
"$PY" - "$LOG" <<'PYEOF'
import json, re, statistics, sys
go, pt = [], []
for line in open(sys.argv[1]):
    if line.startswith("{"):
        pt.append(json.loads(line))
    elif line.startswith("Benchmark"):
        vals = dict((k, float(v)) for v, k in re.findall(r"([-\d.]+) (\S+)", line.split(None, 2)[2]))
        go.append(vals)
med = statistics.median
g_wall, g_cpu = med(v["images/s"] for v in go), med(v["images/cpu-s"] for v in go)
print()
print("GENIUS-329, 10 classes, 32x32, batch 64, %d rounds (medians)" % len(go))
print("%-34s %12s %16s" % ("", "images/s", "images/cpu-s"))
print("%-34s %12.1f %16.1f" % ("genius Go engine (2 workers)", g_wall, g_cpu))
best_wall = best_cpu = 0
for th in sorted({p["threads"] for p in pt}, reverse=True):
    runs = [p for p in pt if p["threads"] == th]
    w, c = med(p["images_per_s"] for p in runs), med(p["images_per_cpu_s"] for p in runs)
    best_wall, best_cpu = max(best_wall, w), max(best_cpu, c)
    print("%-34s %12.1f %16.1f" % ("%s (%d thread%s)" % (runs[0]["engine"], th, "s" if th > 1 else ""), w, c))
print("%-34s %12.2fx %15.2fx" % ("ratio Go / best PyTorch", g_wall / best_wall, g_cpu / best_cpu))
print("Go achieved %.1f GFLOP/s (3 x forward MACs x 2) = %.1f%% of the FMA-loop peak measured in the same run (%.1f GFLOP/s),"
      % (med(v["GFLOP/s"] for v in go), med(v["%peak"] for v in go), med(v["peak-GFLOP/s"] for v in go)))
if "nominal-GFLOP/s" in go[0]:
    print("  %.1f%% of the nominal peak (%.0f GFLOP/s: cores x 64 FLOPs/cycle x base clock);"
          % (med(v["%nominal"] for v in go), go[0]["nominal-GFLOP/s"]))
print("Go peak RSS %.0f MiB, heap growth over the timed steps %.1f MiB; PyTorch peak RSS %.0f MiB"
      % (max(v["peakRSS-MiB"] for v in go), max(v["heap-growth-MiB"] for v in go), max(p["peak_rss_bytes"] for p in pt) / 2**20))
PYEOF
