// Package space holds the search spaces GENIUS explores: how an architecture
// is encoded, validated, sampled, mutated, keyed and written for an LLM, and
// how an LLM's free-text reply is turned back into an architecture.
//
// An architecture is an Arch: one choice index (0-based) per position. Each
// space decides what the indices mean (an operator, a width multiple, a cell
// edge operation) and how they are shown to a model (Format) and read back
// from its reply (Parse).
package space
