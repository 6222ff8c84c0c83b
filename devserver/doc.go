// Package devserver starts and stops the Temporal CLI's development server
// (`temporal server start-dev`, SQLite-backed) as a child process.
//
// `genius dev` uses it to bring up a local server when nothing answers at
// TEMPORAL_ADDRESS, and the integration tests use it (through devservertest)
// to run against a real server. The server library is deliberately not
// embedded in the genius binary: it takes many minutes to compile and pins
// the SDK; the CLI binary is installed by `make tools` into ./bin.
package devserver
