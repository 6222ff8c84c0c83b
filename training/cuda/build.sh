#!/bin/sh
# Builds the cuda-tagged packages (and the GPU check binary) against the
# CUDA build inputs: CUDA 11.8's cuda.h first on the include path (what
# gorgonia.org/cu v0.9.6 compiles against), CUDA 13's headers for cuBLAS,
# and CUDA 13's link stubs. No GPU or CUDA toolkit is needed here.
#
#   GENIUS_CUDA_DIR  folder with cuda11.8-driver-headers.tgz and
#                    cuda13-headers-stubs.tgz (default ../shared/cuda,
#                    relative to the repository root)
#
# Output: dist/genius-devicecheck (run it on the GPU machine through
# training/cuda/devicecheck.sh) and dist/genius-cuda, genius with the CUDA
# backend (it starts only where libcuda.so.1 and a GPU are present).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
src=${GENIUS_CUDA_DIR:-../shared/cuda}
for f in cuda11.8-driver-headers.tgz cuda13-headers-stubs.tgz; do
	if [ ! -f "$src/$f" ]; then
		echo "build.sh: $src/$f not found; set GENIUS_CUDA_DIR to the folder holding the CUDA build inputs" >&2
		exit 1
	fi
done
out=$root/.cache/cuda
rm -rf "$out"
mkdir -p "$out/11.8" "$out/13"
tar -xzf "$src/cuda11.8-driver-headers.tgz" -C "$out/11.8"
tar -xzf "$src/cuda13-headers-stubs.tgz" -C "$out/13"
export CGO_ENABLED=1
export CGO_CFLAGS="-I$out/11.8/include -I$out/13/include"
export CGO_LDFLAGS="-L$out/13/lib/stubs"
go=${GO:-go}
$go build -tags cuda ./...
$go vet -tags cuda ./training/cuda/...
mkdir -p dist
$go build -tags cuda -o dist/genius-devicecheck ./training/cuda/devicecheck
$go build -tags cuda -o dist/genius-cuda ./cmd/genius
echo "build.sh: built the cuda-tagged packages, dist/genius-devicecheck and dist/genius-cuda"
