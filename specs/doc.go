// Package specs defines the search spec, the single JSON document that
// starts a GENIUS search (workflow GeniusSearch) or a multi-trial experiment
// (workflow GeniusExperiment), and embeds ready specs for every benchmark and
// budget of the paper. schema.json documents every field.
//
// A spec never holds secrets: the LLM endpoint's key comes from the worker's
// environment (OPENAI_API_KEY).
package specs
