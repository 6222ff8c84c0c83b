package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/client"

	"github.com/genius-nas/genius/workers"
)

// What a CPU worker does about genius's search attributes at start
// (--search-attributes).
const (
	// attrsRegister registers missing ones where the server allows it, and
	// otherwise exits with the commands that create them.
	attrsRegister = "register"
	// attrsCheck exits with the commands when any is missing.
	attrsCheck = "check"
	// attrsSkip does not look (every search sets search_attributes false).
	attrsSkip = "skip"
)

const searchAttributesUsage = `what a cpu worker does at start about the namespace's search attributes GeniusBenchmark, GeniusProposer and GeniusBestAccuracy: ` +
	`register (create missing ones where the server allows it, else exit with the commands that do), check (exit with the commands if any is missing), ` +
	`or skip (every search sets "search_attributes": false) (env GENIUS_SEARCH_ATTRIBUTES)`

// checkSearchAttributesMode rejects an unknown --search-attributes value.
func checkSearchAttributesMode(mode string) error {
	switch mode {
	case attrsRegister, attrsCheck, attrsSkip:
		return nil
	}
	return fmt.Errorf("--search-attributes is %q: use register, check or skip (env GENIUS_SEARCH_ATTRIBUTES)", mode)
}

// ensureSearchAttributes applies mode to the client's namespace (a search
// would otherwise fail its first workflow task over and over) and returns
// the names it registered.
func ensureSearchAttributes(ctx context.Context, c client.Client, namespace, mode string) ([]string, error) {
	if err := checkSearchAttributesMode(mode); err != nil || mode == attrsSkip {
		return nil, err
	}
	added, err := workers.EnsureSearchAttributes(ctx, c, namespace, mode == attrsRegister)
	var missing *workers.MissingSearchAttributesError
	if errors.As(err, &missing) {
		var b strings.Builder
		fmt.Fprintf(&b, "%v.\nSearches need these search attributes.", err)
		if cmds := missing.Commands(); len(cmds) > 0 {
			b.WriteString(" Create them (an operator of the namespace can), then start the worker again:\n")
			for _, c := range cmds {
				b.WriteString("  " + c + "\n")
			}
		}
		if len(missing.WrongType) > 0 {
			b.WriteString("\nAn attribute of the wrong type must be removed first (temporal operator search-attribute remove) or the namespace changed.\n")
		}
		b.WriteString(`Or, if every search sets "search_attributes": false, start the worker with --search-attributes skip.`)
		return added, errors.New(b.String())
	}
	if err != nil {
		return added, fmt.Errorf("%w; where this worker may not read them, start it with --search-attributes skip and make sure the namespace has them", err)
	}
	return added, nil
}
