package main

import (
	"fmt"

	"github.com/genius-nas/genius/space"
)

// parseArchFlag reads --arch: comma-separated choices, brackets allowed.
func parseArchFlag(s string) (space.Arch, error) {
	a, err := space.ParseList(s)
	if err != nil {
		return nil, fmt.Errorf("--arch: %w", err)
	}
	return a, nil
}

// parseArchFlagIn reads --arch and checks it against search space sp.
func parseArchFlagIn(sp space.Space, s string) (space.Arch, error) {
	a, err := parseArchFlag(s)
	if err != nil {
		return nil, err
	}
	if err := sp.Validate(a); err != nil {
		return nil, fmt.Errorf("--arch: %w", err)
	}
	return a, nil
}
