package main

import (
	"encoding/json"
	"io"
)

// How commands print results for scripts.

// writeJSONLine prints v as one line of JSON, for scripts and jq.
func writeJSONLine(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}

// writeJSON prints v as indented JSON, for people and jq.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
