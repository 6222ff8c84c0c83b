// Package storage holds checkpoints and other large artefacts (weights,
// optimiser state, EMA) outside Temporal histories, which only carry their
// keys.
//
// One interface, [Store], has two implementations: [Dir], a local directory,
// and [S3], an S3-compatible bucket reached through aws-sdk-go-v2. [Open]
// picks one from a URL: "file:///path" or "s3://bucket/prefix".
//
// Guarantees common to both:
//   - Writes are atomic from a reader's view: an object is listed and readable
//     only once it is complete (temp file + fsync + rename locally; a single
//     PUT or a completed multipart upload on S3). A write that is cancelled or
//     crashes leaves nothing a reader picks up.
//   - Every object carries the SHA-256 of its content, written together with
//     it (a sidecar renamed before the data locally; object metadata on S3).
//     [Store.Get] verifies it while reading: a reader that reaches EOF on
//     corrupted content gets a [*ChecksumError] instead of io.EOF, so callers
//     must read to the end and check the error before trusting the bytes.
//
// [WriteBack] layers a local directory in front of a remote store: Put returns
// once the local copy is durable and the upload runs in the background,
// retrying with backoff while the remote is down, so training never waits on
// S3. Its [WriteBack.Status] reports pending uploads and the last error.
//
// Credentials come from the standard AWS chain (environment, shared config,
// web identity) and never appear in errors or logs.
package storage
