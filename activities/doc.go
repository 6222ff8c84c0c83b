// Package activities holds what workflows and activities agree on: the
// registered activity names, their typed inputs and outputs, heartbeat
// details and application error types. It has no implementations, so
// workflows can import it without the LLM client, the training engine or
// the checkpoint store; those live in activities/searchact and
// activities/trainact, which the workers register.
package activities
