package main

import (
	"os"

	"github.com/spf13/pflag"

	"github.com/genius-nas/genius/workers"
)

// defaultCheckpointStore is where checkpoints go when neither a flag nor
// GENIUS_CHECKPOINT_STORE says otherwise.
const defaultCheckpointStore = "file://./checkpoints"

// envOr returns the environment variable's value, or def when it is unset.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// addDataDirFlag registers --data-dir, defaulting to $GENIUS_DATA_DIR or ./data.
func addDataDirFlag(fs *pflag.FlagSet, p *string) {
	fs.StringVar(p, "data-dir", envOr("GENIUS_DATA_DIR", workers.DefaultDataDir),
		"directory holding the benchmark tables (env GENIUS_DATA_DIR; get them with: genius data fetch)")
}
