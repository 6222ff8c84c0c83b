// Package searchact implements the search activities that CPU workers run
// for GeniusSearch and GeniusExperiment: proposing architectures (LLM or
// random/evolution baseline), checking proposals (parse, duplicates,
// FLOPs window), benchmark table look-ups and the exact random baseline.
// Their names, inputs and outputs are in package activities.
package searchact
