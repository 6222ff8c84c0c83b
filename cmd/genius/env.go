package main

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

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

// envDefaults reads flag defaults from the environment and remembers the
// values that do not parse, so a command can fail naming the variable
// unless the flag overrides it.
type envDefaults struct {
	bad map[string]error // flag name → what is wrong with its variable
}

func (e *envDefaults) fail(flag string, err error) {
	if e.bad == nil {
		e.bad = map[string]error{}
	}
	e.bad[flag] = err
}

// Int is the integer in variable name, def when it is unset.
func (e *envDefaults) Int(flag, name string, def int) int {
	v := envOr(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		e.fail(flag, fmt.Errorf("%s=%q is not an integer: give a whole number such as 1, or unset it", name, v))
		return def
	}
	return n
}

// Duration is the Go duration ("3540s", "55m") in variable name, 0 when it
// is unset.
func (e *envDefaults) Duration(flag, name string) time.Duration {
	v := envOr(name, "")
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		e.fail(flag, fmt.Errorf("%s=%q is not a duration: use a Go duration such as 3540s or 55m", name, v))
		return 0
	}
	return d
}

// check returns the error of a variable that did not parse, unless the
// command line set its flag.
func (e *envDefaults) check(fs *pflag.FlagSet) error {
	for _, f := range slices.Sorted(maps.Keys(e.bad)) {
		if !fs.Changed(f) {
			return e.bad[f]
		}
	}
	return nil
}

// addDataDirFlag registers --data-dir, defaulting to $GENIUS_DATA_DIR or ./data.
func addDataDirFlag(fs *pflag.FlagSet, p *string) {
	fs.StringVar(p, "data-dir", envOr("GENIUS_DATA_DIR", workers.DefaultDataDir),
		"directory holding the benchmark tables (env GENIUS_DATA_DIR; get them with: genius data fetch)")
}

// addStoreFlag registers --store, defaulting to $GENIUS_CHECKPOINT_STORE or ./checkpoints.
func addStoreFlag(fs *pflag.FlagSet, p *string) {
	fs.StringVar(p, "store", envOr("GENIUS_CHECKPOINT_STORE", defaultCheckpointStore),
		"checkpoint store: file:///path or s3://bucket/prefix (env GENIUS_CHECKPOINT_STORE; S3 settings from GENIUS_S3_ENDPOINT, GENIUS_S3_REGION, GENIUS_S3_PATH_STYLE, credentials from the AWS chain)")
}

// Choice is the value of variable name, one of allowed, def when it is
// unset.
func (e *envDefaults) Choice(flag, name, def string, allowed ...string) string {
	v := envOr(name, "")
	if v == "" {
		return def
	}
	if !slices.Contains(allowed, v) {
		e.fail(flag, fmt.Errorf("%s=%q is not one of %s: use one of them, or unset it", name, v, strings.Join(allowed, ", ")))
		return def
	}
	return v
}
