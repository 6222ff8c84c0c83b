// Package workflows holds the deterministic Temporal workflows of genius.
//
// GeniusSearch runs one GENIUS search: T iterations of propose, check
// (parse, duplicates, FLOPs window), evaluate, feed back. Every side effect
// is an activity called by its registered name (package activities), so the
// history records each prompt, reply, check and measurement and an auditor
// can replay the run. GeniusExperiment runs N searches as child workflows
// and aggregates them beside the table's exact random baseline. With spec
// option retrain, a search ends by starting GeniusRetrain for its winner as
// a child workflow "<search ID>-retrain": abandoned to outlive the search,
// or awaited (retrain.wait) with its result in the search's.
//
// The baseline proposers (random, regularized evolution) run in the same
// Propose activity as the LLM, seeded from (spec seed, iteration, attempt),
// so they share the constraint loop and the workflow code stays free of
// random numbers; a retried or replayed proposal is the same proposal.
package workflows
