package space

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Arch is an architecture: one choice index (0-based) per position of a space.
type Arch []int

// String writes the architecture as a comma-separated list, the form the
// command line accepts with --arch.
func (a Arch) String() string {
	parts := make([]string, len(a))
	for i, v := range a {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ",")
}

// Equal reports whether a and b hold the same choices.
func (a Arch) Equal(b Arch) bool { return slices.Equal(a, b) }

// Clone returns a copy of a that shares no memory with it.
func (a Arch) Clone() Arch { return append(Arch(nil), a...) }

// Space is one search space. Implementations are stateless and safe for
// concurrent use; every method is deterministic given its inputs, so
// workflow code may call them.
type Space interface {
	// Name is the space's identifier in specs and on the command line,
	// for example "nas-bench-macro".
	Name() string
	// Positions is the number of choices an architecture makes.
	Positions() int
	// Options is the number of choices at position i.
	Options(i int) int
	// Validate reports a *ValidationError naming the first bad position.
	Validate(a Arch) error
	// Key is the architecture's key in the benchmark table of this space
	// (for mobilenetv2-imagenet, which has no table, the canonical key).
	Key(a Arch) string
	// Canonical is a key shared by every architecture that builds the same
	// network; two proposals with the same canonical key are duplicates.
	Canonical(a Arch) string
	// Decode is the inverse of Key.
	Decode(key string) (Arch, error)
	// Sample draws an architecture uniformly at random.
	Sample(r *rand.Rand) Arch
	// Neighbours lists the architectures that differ from a in one
	// position, in a fixed order.
	Neighbours(a Arch) []Arch
	// Format writes a as the model sees it in prompts and feedback.
	Format(a Arch) string
	// Parse reads an architecture from a model's reply; failures are
	// *ParseError (or *ValidationError for a well-formed but out-of-range
	// answer), whose Correction is fit to send back to the model.
	Parse(reply string) (Arch, error)
}

// Corrector is implemented by errors whose text can be sent back to the LLM
// to ask for a fixed answer.
type Corrector interface {
	error
	Correction() string
}

// ValidationError says which position of an architecture is out of range.
type ValidationError struct {
	Space    string
	Position int    // 0-based; -1 when the length is wrong
	Value    string // what was given
	Allowed  string // what is allowed there, for example "0, 1 or 2"
	Reason   string // optional extra explanation
}

func (e *ValidationError) Error() string {
	if e.Position < 0 {
		return fmt.Sprintf("%s: %s", e.Space, e.Reason)
	}
	msg := fmt.Sprintf("%s: position %d is %s, allowed %s", e.Space, e.Position+1, e.Value, e.Allowed)
	if e.Reason != "" {
		msg += " (" + e.Reason + ")"
	}
	return msg
}

// Correction is the message to send back to a model that gave this answer.
func (e *ValidationError) Correction() string {
	if e.Position < 0 {
		return "Your answer is not valid: " + e.Reason + ". Please answer again in the requested format."
	}
	where := fmt.Sprintf("entry %d", e.Position+1)
	if e.Reason != "" {
		where += " (" + e.Reason + ")"
	}
	return fmt.Sprintf("Your answer is not valid: %s is %s, but it must be one of %s. Please answer again in the requested format.",
		where, e.Value, e.Allowed)
}

// ParseError says why a reply could not be read as an architecture.
type ParseError struct {
	Space  string
	Reason string // what was wrong, in words a model understands
	Want   string // the expected answer format
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s: cannot read an architecture from the reply: %s", e.Space, e.Reason)
}

// Correction is the message to send back to a model that gave this answer.
func (e *ParseError) Correction() string {
	msg := "I could not read an architecture from your reply: " + e.Reason + "."
	if e.Want != "" {
		msg += " " + e.Want
	}
	return msg
}

// registry maps names to spaces; built per call so there is no mutable
// package state.
func registry() map[string]Space {
	return map[string]Space{
		NASBenchMacroName:    newNASBenchMacro(),
		ChannelResNetName:    newChannelResNet(),
		ChannelMobileNetName: newChannelMobileNet(),
		NB201Name:            newNB201(),
		ImageNetName:         newImageNet(),
	}
}

// Names lists the known spaces in sorted order.
func Names() []string {
	r := registry()
	names := make([]string, 0, len(r))
	for n := range r {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// New returns the space with the given name.
func New(name string) (Space, error) {
	if s, ok := registry()[name]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("unknown search space %q: use one of %s", name, strings.Join(Names(), ", "))
}

// ParseList reads a comma-separated list of integers, as given to --arch.
func ParseList(s string) (Arch, error) {
	s = strings.Trim(strings.TrimSpace(s), "[]")
	if s == "" {
		return nil, fmt.Errorf("empty architecture: give comma-separated choices, for example 1,0,2")
	}
	fields := strings.Split(s, ",")
	a := make(Arch, 0, len(fields))
	for i, f := range fields {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("architecture entry %d %q is not an integer: give comma-separated integers, for example 1,0,2", i+1, strings.TrimSpace(f))
		}
		a = append(a, v)
	}
	return a, nil
}
