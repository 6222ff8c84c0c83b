#!/bin/sh
# Entrypoint of the genius CUDA image (Dockerfile.cuda). The CUDA build of
# genius links the NVIDIA driver's libcuda.so.1, which the NVIDIA container
# toolkit mounts only into containers given a GPU, and initialises CUDA as
# it starts: without the library or a GPU it cannot even print its help.
# So check both first and say what to change, then run genius (next to
# this script) with the arguments.
set -eu

has_lib() {
	if command -v ldconfig >/dev/null 2>&1 && ldconfig -p 2>/dev/null | grep -q "[[:space:]]$1 "; then
		return 0
	fi
	old_ifs=$IFS
	IFS=:
	for dir in ${LD_LIBRARY_PATH:-} /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/local/cuda/lib64; do
		if [ -n "$dir" ] && [ -e "$dir/$1" ]; then
			IFS=$old_ifs
			return 0
		fi
	done
	IFS=$old_ifs
	return 1
}

fail() {
	echo "genius (CUDA image): $*" >&2
	exit 1
}

if ! has_lib libcuda.so.1; then
	fail "libcuda.so.1, the NVIDIA driver's library, is not in this container, and the CUDA build of genius cannot start without it. The NVIDIA container toolkit mounts it when the container is given a GPU: docker run --gpus all ..., or on Kubernetes a pod that requests nvidia.com/gpu and runs with the NVIDIA runtime class (the chart's gpu.runtimeClassName). To run genius without a GPU, use the plain genius image."
fi
if ! has_lib libcublas.so.13; then
	fail "libcublas.so.13 (CUDA 13's cuBLAS) is not in this container: build the image on a CUDA 13 runtime base (Dockerfile.cuda's CUDA_RUNTIME_IMAGE)."
fi
if ! ls /dev/nvidia[0-9]* >/dev/null 2>&1; then
	fail "no NVIDIA GPU is visible in this container (no /dev/nvidia0, ...): give it one (docker run --gpus all; on Kubernetes request nvidia.com/gpu), check NVIDIA_VISIBLE_DEVICES, or use the plain genius image to run without a GPU."
fi
exec "$(dirname "$0")/genius" "$@"
