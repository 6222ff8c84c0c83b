// Package workers builds every kind of genius worker, so commands only
// configure and start them: a CPU worker (queue "genius": GeniusSearch,
// GeniusExperiment and GeniusRetrain, LLM proposals, proposal checks, table
// look-ups) and a GPU worker (queue "genius-gpu": proxy training of
// candidates and the chunks of a final retraining, with their checkpoint
// store). cmd/genius turns flags and environment into a
// Config and calls these; ARCHITECTURE.md shows what runs where.
package workers
