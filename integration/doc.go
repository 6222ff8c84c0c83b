// Package integration holds genius's end-to-end tests and benchmarks: they
// run searches on the real Temporal dev server (the Temporal CLI binary,
// found through GENIUS_TEMPORAL_BIN or bin/temporal), submit and export
// them with the temporal CLI, replay the exported histories, kill a worker
// process mid-search, and replay the golden histories under testdata/golden
// (that test needs no server). The LLM is an OpenAI-compatible HTTP server
// inside the test (llm/llmtest).
//
// Regenerate the golden histories after an intended workflow change:
//
//	go test ./integration -run TestGoldenHistories -update
package integration
