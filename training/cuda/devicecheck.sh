#!/bin/sh
# The GPU check: run on a machine with an NVIDIA GPU (driver 580 or newer,
# cuBLAS 13) from the repository root, after training/cuda/build.sh built
# dist/genius-devicecheck on any machine. It prints every kernel and cuBLAS
# product against the CPU engine (float32 and bf16), an out-of-memory
# check, and GEMM/elementwise throughput; it exits non-zero on a mismatch.
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
exec timeout 480 "$bin" "$@"
