package space

import (
	"errors"
	"testing"
)

// FuzzParse checks that no reply panics the parser, that every accepted
// architecture validates, and that every failure offers a correction.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"[2, 2, 2, 1, 2, 2, 2, 0]", "```\n[1,0]\n```", genius329Lines, "[[1,2],[3,[4]]]", "(((", "]]][[[",
		"|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", "Stage 1: [1,0,0,0,0,0]\nStage 9: [1]",
		"[256, 192, 256, 512, 512, 256, 512]", "1, 2, 3, 4, 5, 6, 7, 8", "['skip', 'none', 'conv3x3', 'avgpool', 1, 2]",
		"[99999999999999999999, 1, 1, 1, 1, 1, 1, 1]", "~~~\n[0,0,0,0,0,0,0,0]",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	var spaces []Space
	for _, n := range Names() {
		s, err := New(n)
		if err != nil {
			f.Fatal(err)
		}
		spaces = append(spaces, s)
	}
	f.Fuzz(func(t *testing.T, reply string) {
		for _, s := range spaces {
			a, err := s.Parse(reply)
			if err != nil {
				var c Corrector
				if !errors.As(err, &c) || c.Correction() == "" {
					t.Fatalf("%s: error %v offers no correction", s.Name(), err)
				}
				continue
			}
			if verr := s.Validate(a); verr != nil {
				t.Fatalf("%s: Parse(%q) = %v, which does not validate: %v", s.Name(), reply, a, verr)
			}
		}
		_ = IsGiveUp(reply)
	})
}
