package space

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// grid is the shape every space here shares: a fixed number of positions,
// each taking a choice index 0..options-1. Spaces embed it for Name,
// Positions, Options, Sample and Neighbours.
type grid struct {
	name string
	opts []int // number of options per position
}

func (g grid) Name() string   { return g.name }
func (g grid) Positions() int { return len(g.opts) }

func (g grid) Options(i int) int {
	if i < 0 || i >= len(g.opts) {
		return 0
	}
	return g.opts[i]
}

// check validates a against the grid; allowed and shown describe position i
// and a value there in the words of the space (channel numbers, op names).
func (g grid) check(a Arch, allowed func(i int) string, reason func(i int) string) error {
	if len(a) != len(g.opts) {
		return &ValidationError{Space: g.name, Position: -1,
			Reason: fmt.Sprintf("the architecture has %d entries, but %s needs %d", len(a), g.name, len(g.opts))}
	}
	for i, v := range a {
		if v < 0 || v >= g.opts[i] {
			e := &ValidationError{Space: g.name, Position: i, Value: strconv.Itoa(v), Allowed: allowed(i)}
			if reason != nil {
				e.Reason = reason(i)
			}
			return e
		}
	}
	return nil
}

// Sample draws each position independently and uniformly, which is uniform
// over the grid.
func (g grid) Sample(r *rand.Rand) Arch {
	a := make(Arch, len(g.opts))
	for i, n := range g.opts {
		a[i] = r.IntN(n)
	}
	return a
}

// Neighbours lists every architecture that differs from a in exactly one
// position: positions in ascending order, and at each the other values in
// ascending order. An architecture of the wrong length has none.
func (g grid) Neighbours(a Arch) []Arch {
	if len(a) != len(g.opts) {
		return nil
	}
	total := 0
	for _, n := range g.opts {
		total += n - 1
	}
	out := make([]Arch, 0, total)
	for i, n := range g.opts {
		for v := 0; v < n; v++ {
			if v == a[i] {
				continue
			}
			b := a.Clone()
			b[i] = v
			out = append(out, b)
		}
	}
	return out
}

// digits writes a as one decimal digit per position, each plus offset.
func digits(a Arch, offset int) string {
	var b strings.Builder
	b.Grow(len(a))
	for _, v := range a {
		b.WriteByte(byte('0' + v + offset))
	}
	return b.String()
}

// undigits is the inverse of digits for a grid; it checks the length and
// every digit's range.
func (g grid) undigits(key string, offset int) (Arch, error) {
	if len(key) != len(g.opts) {
		return nil, fmt.Errorf("%s: key %q has %d characters, want %d digits %s",
			g.name, key, len(key), len(g.opts), digitRange(offset, g.opts[0]))
	}
	a := make(Arch, len(key))
	for i := 0; i < len(key); i++ {
		c := key[i]
		v := int(c) - '0' - offset
		if c < '0' || c > '9' || v < 0 || v >= g.opts[i] {
			return nil, fmt.Errorf("%s: key %q: character %d is %q, want a digit %s",
				g.name, key, i+1, c, digitRange(offset, g.opts[i]))
		}
		a[i] = v
	}
	return a, nil
}

func digitRange(offset, n int) string {
	return fmt.Sprintf("%d to %d", offset, offset+n-1)
}

// orList writes values as "a, b or c", the form corrections use.
func orList(vals []string) string {
	switch len(vals) {
	case 0:
		return ""
	case 1:
		return vals[0]
	}
	return strings.Join(vals[:len(vals)-1], ", ") + " or " + vals[len(vals)-1]
}

// intRange lists 0..n-1 as "0, 1 or 2".
func intRange(n int) string {
	vals := make([]string, n)
	for i := range vals {
		vals[i] = strconv.Itoa(i)
	}
	return orList(vals)
}

// listString writes integers as "[1, 0, 2]", the way prompts show lists.
func listString(vals []int) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = strconv.Itoa(v)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
