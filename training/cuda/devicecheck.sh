#!/bin/sh
# The GPU check: run on a machine with an NVIDIA GPU (driver 580 or newer,
# cuBLAS 13) from the repository root, after training/cuda/build.sh built
# dist/genius-devicecheck on any machine. In under 8 minutes it prints:
#   - every kernel and cuBLAS product against the CPU engine (float32 and
#     bf16 tolerances), an out-of-memory check, GEMM/elementwise throughput;
#   - a 300-step synthetic training on the GPU (bf16) and on the CPU, same
#     seed and batches: loss curves at a few steps and whether the GPU
#     converges like the CPU (mean losses within 10% of the starting loss of
#     each other at every printed step, both ending below half of it);
#   - the GPU-trained run's checkpoint (dist/gpucheck.ckpt and its .json),
#     resumed on the CPU at once; bring both files back and run
#     GENIUS_GPU_CHECKPOINT=dist/gpucheck.ckpt go test ./training/cuda/gpucheck
#     to resume it on the CPU machine too;
#   - GENIUS-329 training throughput (images/s after warm-up) and peak GPU
#     memory at 224 and 196 px, batch 256, bf16;
#   - `genius train --backend cuda` (dist/genius-cuda, when built): 20 steps
#     of GENIUS-329 at 224 px, batch 2048 in micro-batches of 256, on random
#     images, with its JSON result (backend, images/s, peak memory);
#   - when PyTorch with CUDA is importable (python3, or $PYTHON), the same
#     network in PyTorch (training/bench/torch_ref.py: channels-last, bf16
#     autocast, SGD step) at the same sizes, and our/PyTorch ratio.
# Arguments go to genius-devicecheck (-h lists them, e.g.
# -throughput-micro-batch 64). It exits non-zero when anything differs
# beyond tolerance or fails.
set -eu
bin=${GENIUS_DEVICECHECK_BIN:-dist/genius-devicecheck}
if [ ! -x "$bin" ]; then
	echo "devicecheck.sh: $bin not found; build it with training/cuda/build.sh" >&2
	exit 1
fi
# Where the driver and CUDA 13 usually put their libraries.
for dir in /usr/local/nvidia/lib64 /usr/local/cuda-13.0/targets/x86_64-linux/lib /usr/local/cuda/lib64; do
	[ -d "$dir" ] && LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
done
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}"
has_lib() {
	ldconfig -p 2>/dev/null | grep -q "$1" && return 0
	IFS=:
	for dir in $LD_LIBRARY_PATH; do
		[ -e "$dir/$1" ] && { unset IFS; return 0; }
	done
	unset IFS
	return 1
}
if ! has_lib libcuda.so.1; then
	echo "devicecheck.sh: no libcuda.so.1: this machine has no NVIDIA driver (or its libraries are not on LD_LIBRARY_PATH)" >&2
	exit 1
fi
if ! has_lib libcublas.so.13; then
	echo "devicecheck.sh: no libcublas.so.13: install CUDA 13's cuBLAS or add its lib folder to LD_LIBRARY_PATH" >&2
	exit 1
fi
if [ ! -e /dev/nvidia0 ] && ! ls /dev/nvidia[0-9]* >/dev/null 2>&1; then
	echo "devicecheck.sh: no /dev/nvidia*: no GPU is visible here" >&2
	exit 1
fi

# Time budget, seconds: the whole script stays under 8 minutes.
budget=470
ours_limit=330
start=$(date +%s)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The check's output goes to the terminal and to a log the comparison
# reads; its exit status is kept past the pipe.
{
	rc=0
	timeout -k 10 "$ours_limit" "$bin" "$@" || rc=$?
	echo "$rc" >"$tmp/rc"
} | tee "$tmp/log"
rc=$(cat "$tmp/rc")
[ "$rc" = 124 ] && echo "devicecheck.sh: genius-devicecheck stopped after ${ours_limit}s" >&2

# The command users run, on the GPU, with the paper's batch in micro-batches.
genius=${GENIUS_CUDA_BIN:-dist/genius-cuda}
if [ -x "$genius" ]; then
	echo "genius train --backend cuda: GENIUS-329, 224 px, batch 2048 in micro-batches of 256, 20 steps"
	timeout -k 10 60 "$genius" train --backend cuda --space mobilenetv2-imagenet \
		--arch 1,0,0,0,1,0,1,0,1,1,1,0,4,0,4,3,0,0,4,3,0,4,4,0,5,0,5,5,5,0 --classes 1000 --input 224 \
		--batch 2048 --micro-batch 256 --steps 20 --json || { echo "genius train --backend cuda: failed" >&2; rc=1; }
else
	echo "genius train --backend cuda: $genius not found (training/cuda/build.sh builds it): skipped"
fi

py=${PYTHON:-python3}
if ! "$py" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
	echo "pytorch: not importable with CUDA by $py here: no comparison"
	exit "$rc"
fi
# The sizes our throughput lines report ("throughput ... input=224 batch=256
# ... images/s=N"), or the defaults when there are none.
sizes=$(sed -n 's/^throughput .* input=\([0-9]*\) batch=\([0-9]*\) .*/\1:\2/p' "$tmp/log")
[ -n "$sizes" ] || sizes="224:256 196:256"
for s in $sizes; do
	px=${s%:*}
	batch=${s#*:}
	left=$((budget - ($(date +%s) - start)))
	if [ "$left" -lt 20 ]; then
		echo "pytorch input=$px: skipped, the 8-minute budget is spent"
		continue
	fi
	if ! timeout -k 10 "$left" "$py" training/bench/torch_ref.py --device cuda --bf16 --channels-last --input "$px" \
		--batch "$batch" --classes 1000 --warmup 3 --steps 10 >"$tmp/torch" 2>"$tmp/torch.err"; then
		echo "pytorch input=$px: failed:"
		tail -n 5 "$tmp/torch.err"
		continue
	fi
	line=$(tail -n 1 "$tmp/torch")
	theirs=$(echo "$line" | sed -n 's/.*"images_per_s": \([0-9.eE+-]*\).*/\1/p')
	peak=$(echo "$line" | sed -n 's/.*"peak_device_bytes": \([0-9]*\).*/\1/p')
	engine=$(echo "$line" | sed -n 's/.*"engine": "\([^"]*\)".*/\1/p')
	ours=$(sed -n "s/^throughput .* input=$px batch=$batch .*images\/s=\([0-9.]*\).*/\1/p" "$tmp/log" | head -n 1)
	awk -v px="$px" -v b="$batch" -v e="$engine" -v t="$theirs" -v o="$ours" -v p="${peak:-0}" 'BEGIN {
		printf "pytorch %s input=%d batch=%d bf16 channels-last images/s=%.1f peak %.2f GiB", e, px, b, t, p / 2^30
		if (o != "" && t > 0) printf "; genius/pytorch = %.2f\n", o / t
		else printf "; genius/pytorch: n/a (no figure of ours)\n"
	}'
done
exit "$rc"
