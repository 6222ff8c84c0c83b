#!/bin/sh
# Side-by-side training throughput: the genius Go engine against PyTorch
# (Debian's python3-torch, CPU, 2 threads) on GENIUS-329 with 10 classes,
# 32x32 inputs and batch 64, same network definition, alternating runs on
# the same machine so both see the same background load.
#
#   training/bench/run.sh            # ROUNDS=3 STEPS=10 by default
#   ROUNDS=1 STEPS=5 PYTHON=/usr/bin/python3 training/bench/run.sh
#
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
	"$PY" training/bench/torch_ref.py --steps "$STEPS" --threads 2 | tee -a "$LOG"
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
p_wall, p_cpu = med(v["images_per_s"] for v in pt), med(v["images_per_cpu_s"] for v in pt)
print()
print("GENIUS-329, 10 classes, 32x32, batch 64, %d rounds (medians)" % len(go))
print("%-28s %12s %16s" % ("", "images/s", "images/cpu-s"))
print("%-28s %12.1f %16.1f" % ("genius Go engine", g_wall, g_cpu))
print("%-28s %12.1f %16.1f" % (pt[0]["engine"] + " (2 threads)", p_wall, p_cpu))
print("%-28s %12.2fx %15.2fx" % ("ratio Go / PyTorch", g_wall / p_wall, g_cpu / p_cpu))
print("Go achieved %.1f GFLOP/s = %.1f%% of the FMA-loop peak measured in the same run (%.1f GFLOP/s);"
      % (med(v["GFLOP/s"] for v in go), med(v["%peak"] for v in go), med(v["peak-GFLOP/s"] for v in go)))
print("Go peak RSS %.0f MiB, heap growth over the timed steps %.1f MiB; PyTorch peak RSS %.0f MiB"
      % (max(v["peakRSS-MiB"] for v in go), max(v["heap-growth-MiB"] for v in go), max(p["peak_rss_bytes"] for p in pt) / 2**20))
PYEOF
