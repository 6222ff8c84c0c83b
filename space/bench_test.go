package space

import (
	"strings"
	"testing"
)

func BenchmarkParse(b *testing.B) {
	cases := []struct{ space, reply string }{
		{"nas-bench-macro", "The best so far, [1, 0, 1, 0, 0, 1, 0, 0], reached 85.70%. I suggest:\n```\n[2, 2, 1, 2, 1, 2, 2, 2]\n```"},
		{"mobilenetv2-imagenet", "To stay under the budget:\n```\n" + genius329Lines + "\n```"},
		{"nas-bench-201", "I recommend |nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|."},
	}
	for _, c := range cases {
		s, err := New(c.space)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.space, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Parse(c.reply); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestParseLargeReply guards against quadratic scans: a reply near the size
// limit, deeply nested, must parse quickly enough for a test; one over the
// limit is refused.
func TestParseLargeReply(t *testing.T) {
	big := strings.Repeat("[", 50000) + strings.Repeat("1, ", 25000) + strings.Repeat("]", 50000) +
		strings.Repeat("(1, 2) ", 40000) + "[2, 2, 2, 1, 2, 2, 2, 0]"
	if len(big) > maxReply {
		t.Fatalf("test reply %d bytes is over the limit", len(big))
	}
	if _, err := mustNew(t, NASBenchMacroName).Parse(strings.Repeat(" ", maxReply) + "[2, 2, 2, 1, 2, 2, 2, 0]"); err == nil ||
		!strings.Contains(err.Error(), "bytes long") {
		t.Errorf("an oversized reply gave %v", err)
	}
	for _, name := range Names() {
		s := mustNew(t, name)
		a, err := s.Parse(big)
		if name == NASBenchMacroName && (err != nil || !a.Equal(Arch{2, 2, 2, 1, 2, 2, 2, 0})) {
			t.Errorf("%s: Parse = %v, %v", name, a, err)
		}
	}
}
