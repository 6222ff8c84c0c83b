// Package workers wires genius's workflows and activities onto Temporal
// workers: a CPU worker (queue "genius": GeniusSearch, GeniusExperiment,
// LLM proposals, proposal checks, table look-ups) and a GPU worker (queue
// "genius-gpu": proxy training and validation). cmd/genius builds the
// client and flags (see ARCHITECTURE.md) and calls these.
package workers
