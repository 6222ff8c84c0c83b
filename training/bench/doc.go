// Package bench measures the training engine: BenchmarkGenius329 trains
// GENIUS-329 (10 classes, 32x32, batch 64) and reports images/s, achieved
// GFLOP/s against this CPU's peak, and memory; torch_ref.py trains the same
// network definition with PyTorch; run.sh runs both back to back.
//
//	go test -run '^$' -bench Genius329 -benchtime 20x ./training/bench/
//	training/bench/run.sh   # side by side with PyTorch (python3-torch)
//
// BenchmarkMicroBatch compares batch 256 at once with 4 micro-batches of
// 64 (images/s and their ratio, alternating in one run);
// BenchmarkMicroBatchMemory the peak memory of a batch of 2048 in
// micro-batches of 64 and of 256, measured and estimated.
//
// GENIUS_BENCH_WORKERS=1 runs the engine on one core (no data-parallel
// replicas) for comparison.
//
// FLOP convention: a training step costs 3x the forward multiply-
// accumulates (forward, input gradient, weight gradient) as counted by
// package flops (thop rules), times 2 FLOPs per multiply-accumulate.
package bench
