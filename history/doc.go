// Package history reads Temporal workflow histories as the Temporal CLI
// exports them (`temporal workflow show --output json`), replays them
// against the registered workflow code so a change that breaks determinism
// is caught, and turns a search's history into its audit trail: each
// prompt, reply, proposal check and measurement in the order they happened.
package history
