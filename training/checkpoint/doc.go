// Package checkpoint holds the training checkpoint format: a versioned
// header (what network, how far training got, RNG and schedule state), the
// named float32 tensors (weights, batch-norm statistics, optimiser momentum,
// EMA), and a SHA-256 checksum over everything, written to an io.Writer and
// read from an io.Reader so any store (a local folder, S3) can hold it.
//
// Layout: "GENIUSCK", uint32 version, uint32 header length, JSON header,
// then each tensor's float32 values little-endian in header order, then the
// 32-byte SHA-256 of all preceding bytes.
package checkpoint
