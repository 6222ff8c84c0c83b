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

// TestParseLargeReply guards against quadratic scans: a 1 MB reply of
// brackets and numbers must parse (or fail) quickly enough for a test.
func TestParseLargeReply(t *testing.T) {
	big := strings.Repeat("[", 200000) + strings.Repeat("1, ", 100000) + strings.Repeat("]", 200000) +
		strings.Repeat("(1, 2) ", 50000) + "[2, 2, 2, 1, 2, 2, 2, 0]"
	for _, name := range Names() {
		s := mustNew(t, name)
		a, err := s.Parse(big)
		if name == NASBenchMacroName && (err != nil || !a.Equal(Arch{2, 2, 2, 1, 2, 2, 2, 0})) {
			t.Errorf("%s: Parse = %v, %v", name, a, err)
		}
	}
}
