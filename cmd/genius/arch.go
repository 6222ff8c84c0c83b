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

// parseArchFlagIn reads --arch and checks it against search space
// spaceName.
func parseArchFlagIn(spaceName, s string) (space.Space, space.Arch, error) {
	sp, err := space.New(spaceName)
	if err != nil {
		return nil, nil, err
	}
	a, err := parseArchFlag(s)
	if err != nil {
		return nil, nil, err
	}
	if err := sp.Validate(a); err != nil {
		return nil, nil, fmt.Errorf("--arch: %w", err)
	}
	return sp, a, nil
}
