// Package activities holds the Temporal activities of genius: structs that
// carry their dependencies (LLM client, benchmark tables, trainer, checkpoint
// store) as fields, with one method per activity and typed inputs/outputs.
package activities
