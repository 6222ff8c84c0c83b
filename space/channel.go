package space

import (
	"fmt"
	"strconv"
	"strings"
)

// Channel-Bench-Macro: 7 positions, each a width multiple 1..4 of a
// per-position base (bench README). Arch index i means multiple i+1, so the
// layer has (i+1)×base channels. The table is keyed by multiples, the model
// answers in channel numbers.
const (
	ChannelResNetName    = "channel-bench-resnet"
	ChannelMobileNetName = "channel-bench-mobilenet"
	channelWidths        = 4
)

type channelBench struct {
	grid
	base []int
}

func newChannelBench(name string, base []int) channelBench {
	opts := make([]int, len(base))
	for i := range opts {
		opts[i] = channelWidths
	}
	return channelBench{grid: grid{name: name, opts: opts}, base: base}
}

func newChannelResNet() channelBench {
	return newChannelBench(ChannelResNetName, []int{64, 64, 64, 128, 128, 128, 128})
}

func newChannelMobileNet() channelBench {
	return newChannelBench(ChannelMobileNetName, []int{32, 192, 192, 192, 64, 384, 256})
}

var _ Space = channelBench{}

// ChannelChoices returns the channel numbers allowed at each position of a
// Channel-Bench-Macro space (index i of a row is Arch value i), or false for
// another space.
func ChannelChoices(s Space) ([][]int, bool) {
	c, ok := s.(channelBench)
	if !ok {
		return nil, false
	}
	out := make([][]int, len(c.base))
	for i, b := range c.base {
		for m := 1; m <= channelWidths; m++ {
			out[i] = append(out[i], m*b)
		}
	}
	return out, true
}

// Channels converts an Arch to channel numbers.
func (s channelBench) Channels(a Arch) []int {
	out := make([]int, len(a))
	for i, v := range a {
		if i < len(s.base) {
			out[i] = (v + 1) * s.base[i]
		}
	}
	return out
}

// allowedChannels lists position i's channel numbers as "64, 128, 192 or 256".
func (s channelBench) allowedChannels(i int) string {
	vals := make([]string, channelWidths)
	for m := range vals {
		vals[m] = strconv.Itoa((m + 1) * s.base[i])
	}
	return orList(vals)
}

func (s channelBench) Validate(a Arch) error {
	return s.check(a, func(i int) string {
		return intRange(channelWidths) + " (width indexes for " + s.allowedChannels(i) + " channels)"
	}, nil)
}

// Key is the table key: one width multiple 1..4 per position, "4344424".
func (s channelBench) Key(a Arch) string { return digits(a, 1) }

// Canonical equals Key: every key is its own trained network.
func (s channelBench) Canonical(a Arch) string { return s.Key(a) }

func (s channelBench) Decode(key string) (Arch, error) { return s.undigits(key, 1) }

// Format writes channel numbers, for example "[256, 192, 256, 512, 512, 256, 512]".
func (s channelBench) Format(a Arch) string { return listString(s.Channels(a)) }

func (s channelBench) Parse(reply string) (Arch, error) {
	r := replyParser{
		space: s.name,
		n:     s.Positions(),
		item:  isInt,
		want: fmt.Sprintf("Please answer with one list of %d channel numbers [C1, C2, ..., C%d], each chosen from the options given for its position.",
			s.Positions(), s.Positions()),
		convert: s.fromChannels,
		key:     s.Decode,
	}
	return r.parse(reply)
}

// fromChannels maps channel numbers to width indexes.
func (s channelBench) fromChannels(items []string) (Arch, error) {
	a := make(Arch, len(items))
	for i, it := range items {
		c, err := strconv.Atoi(strings.TrimPrefix(it, "+"))
		found := false
		if err == nil && c > 0 && c%s.base[i] == 0 && c/s.base[i] <= channelWidths {
			a[i], found = c/s.base[i]-1, true
		}
		if !found {
			return nil, &ValidationError{Space: s.name, Position: i, Value: it,
				Allowed: s.allowedChannels(i)}
		}
	}
	return a, nil
}
