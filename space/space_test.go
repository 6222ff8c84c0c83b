package space

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/genius-nas/genius/bench/benchtest"
)

func dataDir(t testing.TB) string { return benchtest.DataDir(t) }

func mustNew(t testing.TB, name string) Space {
	t.Helper()
	s, err := New(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNamesAndNew(t *testing.T) {
	want := []string{"channel-bench-mobilenet", "channel-bench-resnet", "mobilenetv2-imagenet", "nas-bench-201", "nas-bench-macro"}
	if got := Names(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for _, n := range want {
		if s := mustNew(t, n); s.Name() != n {
			t.Errorf("New(%q).Name() = %q", n, s.Name())
		}
	}
	_, err := New("nas-bench-101")
	if err == nil || !strings.Contains(err.Error(), "nas-bench-macro") {
		t.Errorf("New(unknown) error = %v, want one listing the known spaces", err)
	}
}

func TestShape(t *testing.T) {
	tests := []struct {
		space     string
		positions int
		options   int
		neigh     int
	}{
		{"nas-bench-macro", 8, 3, 16},
		{"channel-bench-resnet", 7, 4, 21},
		{"channel-bench-mobilenet", 7, 4, 21},
		{"nas-bench-201", 6, 5, 24},
		{"mobilenetv2-imagenet", 30, 7, 180},
	}
	for _, tt := range tests {
		t.Run(tt.space, func(t *testing.T) {
			s := mustNew(t, tt.space)
			if s.Positions() != tt.positions {
				t.Fatalf("Positions = %d, want %d", s.Positions(), tt.positions)
			}
			for i := 0; i < tt.positions; i++ {
				if s.Options(i) != tt.options {
					t.Fatalf("Options(%d) = %d, want %d", i, s.Options(i), tt.options)
				}
			}
			if s.Options(-1) != 0 || s.Options(tt.positions) != 0 {
				t.Errorf("Options out of range should be 0")
			}
			a := s.Sample(rand.New(rand.NewPCG(1, 2)))
			nb := s.Neighbours(a)
			if len(nb) != tt.neigh {
				t.Fatalf("Neighbours count = %d, want %d", len(nb), tt.neigh)
			}
			seen := map[string]bool{}
			for _, b := range nb {
				if err := s.Validate(b); err != nil {
					t.Fatalf("neighbour %v invalid: %v", b, err)
				}
				diff := 0
				for i := range a {
					if a[i] != b[i] {
						diff++
					}
				}
				if diff != 1 {
					t.Fatalf("neighbour %v differs from %v in %d positions", b, a, diff)
				}
				if seen[b.String()] {
					t.Fatalf("duplicate neighbour %v", b)
				}
				seen[b.String()] = true
			}
			// Fixed order: the same call gives the same list, first change at position 0.
			if !reflect.DeepEqual(nb, s.Neighbours(a)) {
				t.Errorf("Neighbours not deterministic")
			}
			if nb[0][0] == a[0] {
				t.Errorf("first neighbour %v should change position 1 of %v", nb[0], a)
			}
			if s.Neighbours(Arch{0}) != nil {
				t.Errorf("Neighbours of a wrong-length arch should be nil")
			}
		})
	}
}

func TestKeyDecodeRoundTrip(t *testing.T) {
	tests := []struct {
		space string
		arch  Arch
		key   string
	}{
		{"nas-bench-macro", Arch{1, 0, 1, 0, 0, 1, 0, 0}, "10100100"},
		{"channel-bench-resnet", Arch{3, 2, 3, 3, 3, 1, 3}, "4344424"},
		{"channel-bench-mobilenet", Arch{3, 3, 3, 3, 2, 3, 1}, "4444342"},
		{"nas-bench-201", Arch{3, 3, 3, 1, 3, 3},
			"|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"},
		{"nas-bench-201", Arch{0, 1, 2, 3, 4, 0},
			"|none~0|+|skip_connect~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|none~2|"},
		{"mobilenetv2-imagenet", Arch{1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 4, 4, 3, 0, 0, 0, 4, 3, 4, 4, 0, 0, 5, 5, 5, 5, 0, 0},
			"110000-111100-443000-434400-555500"},
	}
	for _, tt := range tests {
		t.Run(tt.space+"/"+tt.key, func(t *testing.T) {
			s := mustNew(t, tt.space)
			if got := s.Key(tt.arch); got != tt.key {
				t.Fatalf("Key = %q, want %q", got, tt.key)
			}
			got, err := s.Decode(tt.key)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tt.arch) {
				t.Fatalf("Decode = %v, want %v", got, tt.arch)
			}
		})
	}
	// Random round trips for every space.
	for _, name := range Names() {
		s := mustNew(t, name)
		r := rand.New(rand.NewPCG(7, 7))
		for i := 0; i < 500; i++ {
			a := s.Sample(r)
			key := s.Key(a)
			b, err := s.Decode(key)
			if err != nil {
				t.Fatalf("%s: Decode(Key(%v)=%q): %v", name, a, key, err)
			}
			if s.Key(b) != key {
				t.Fatalf("%s: Key(Decode(%q)) = %q", name, key, s.Key(b))
			}
			// Canonical keys decode to a representative of the same group.
			c, err := s.Decode(s.Canonical(a))
			if err != nil {
				t.Fatalf("%s: Decode(Canonical(%v)): %v", name, a, err)
			}
			if s.Canonical(c) != s.Canonical(a) {
				t.Fatalf("%s: canonical not idempotent for %v", name, a)
			}
			if name != "mobilenetv2-imagenet" && !b.Equal(a) {
				t.Fatalf("%s: Decode(Key(%v)) = %v", name, a, b)
			}
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		space, key, want string
	}{
		{"nas-bench-macro", "1010010", "want 8 digits"},
		{"nas-bench-macro", "10100103", "character 8"},
		{"channel-bench-resnet", "4344420", "character 7"},
		{"channel-bench-resnet", "43x4424", "character 3"},
		{"nas-bench-201", "|nor_conv_3x3~0|+|nor_conv_3x3~0|", "3 node groups"},
		{"nas-bench-201", "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", `op "conv"`},
		{"nas-bench-201", "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "must be op~0"},
		{"mobilenetv2-imagenet", "110000-111100-443000-434400-55550", "want 30 digits"},
		{"mobilenetv2-imagenet", "110000-111100-443000-434400-555570", "character 29"},
	}
	for _, tt := range tests {
		t.Run(tt.space+"/"+tt.key, func(t *testing.T) {
			_, err := mustNew(t, tt.space).Decode(tt.key)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Decode(%q) error = %v, want it to contain %q", tt.key, err, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		space    string
		arch     Arch
		position int // -1 for a length error
		want     []string
	}{
		{"nas-bench-macro", Arch{1, 0, 1, 0, 0, 1, 0, 3}, 7, []string{"position 8 is 3", "allowed 0, 1 or 2"}},
		{"nas-bench-macro", Arch{1, 0, 1}, -1, []string{"3 entries", "needs 8"}},
		{"channel-bench-resnet", Arch{0, 4, 0, 0, 0, 0, 0}, 1, []string{"position 2 is 4", "0, 1, 2 or 3", "64, 128, 192 or 256 channels"}},
		{"channel-bench-mobilenet", Arch{0, 0, 0, 0, 0, -1, 0}, 5, []string{"position 6 is -1", "384, 768, 1152 or 1536"}},
		{"nas-bench-201", Arch{0, 0, 5, 0, 0, 0}, 2, []string{"position 3 is 5", "0, 1, 2, 3 or 4", "edge 1->2"}},
		{"mobilenetv2-imagenet", func() Arch { a := make(Arch, 30); a[13] = 7; return a }(), 13,
			[]string{"position 14 is 7", "0, 1, 2, 3, 4, 5 or 6", "Stage 3, Layer 14"}},
	}
	for _, tt := range tests {
		t.Run(tt.space, func(t *testing.T) {
			err := mustNew(t, tt.space).Validate(tt.arch)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate(%v) = %v, want *ValidationError", tt.arch, err)
			}
			if ve.Position != tt.position {
				t.Errorf("Position = %d, want %d", ve.Position, tt.position)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if ve.Correction() == "" || !strings.Contains(ve.Correction(), "answer again") {
				t.Errorf("Correction() = %q", ve.Correction())
			}
		})
	}
	for _, name := range Names() {
		s := mustNew(t, name)
		if err := s.Validate(make(Arch, s.Positions())); err != nil {
			t.Errorf("%s: all-zero arch invalid: %v", name, err)
		}
	}
}

func TestSample(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			s := mustNew(t, name)
			r1 := rand.New(rand.NewPCG(42, 1))
			r2 := rand.New(rand.NewPCG(42, 1))
			const n = 3000
			counts := make([][]int, s.Positions())
			for i := range counts {
				counts[i] = make([]int, s.Options(i))
			}
			for k := 0; k < n; k++ {
				a, b := s.Sample(r1), s.Sample(r2)
				if !a.Equal(b) {
					t.Fatalf("same seed gave %v and %v", a, b)
				}
				if err := s.Validate(a); err != nil {
					t.Fatalf("sample %v invalid: %v", a, err)
				}
				for i, v := range a {
					counts[i][v]++
				}
			}
			// Every option appears, and none is far from n/options
			// (6 standard deviations: a broken sampler fails, chance does not).
			for i, row := range counts {
				exp := float64(n) / float64(len(row))
				for v, c := range row {
					if d := float64(c) - exp; d*d > 36*exp {
						t.Errorf("position %d option %d drawn %d times, expected about %.0f", i, v, c, exp)
					}
				}
			}
			other := s.Sample(rand.New(rand.NewPCG(43, 1)))
			same := 0
			r := rand.New(rand.NewPCG(42, 1))
			for k := 0; k < 20; k++ {
				if s.Sample(r).Equal(other) {
					same++
				}
			}
			if same == 20 {
				t.Errorf("different seeds give the same samples")
			}
		})
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		space string
		arch  Arch
		want  string
	}{
		{"nas-bench-macro", Arch{1, 0, 1, 0, 0, 1, 0, 0}, "[1, 0, 1, 0, 0, 1, 0, 0]"},
		{"channel-bench-resnet", Arch{3, 2, 3, 3, 3, 1, 3}, "[256, 192, 256, 512, 512, 256, 512]"},
		{"channel-bench-mobilenet", Arch{3, 3, 3, 3, 2, 3, 1}, "[128, 768, 768, 768, 192, 1536, 512]"},
		{"nas-bench-201", Arch{3, 3, 3, 1, 3, 3}, "[3, 3, 3, 1, 3, 3]"},
		{"mobilenetv2-imagenet", Arch{1, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 4, 0, 4, 3, 0, 0, 4, 3, 0, 4, 4, 0, 5, 0, 5, 5, 5, 0},
			"Stage 1 (Layer 1 to Layer 6): [1, 0, 0, 0, 1, 0]\n" +
				"Stage 2 (Layer 7 to Layer 12): [1, 0, 1, 1, 1, 0]\n" +
				"Stage 3 (Layer 13 to Layer 18): [4, 0, 4, 3, 0, 0]\n" +
				"Stage 4 (Layer 19 to Layer 24): [4, 3, 0, 4, 4, 0]\n" +
				"Stage 5 (Layer 25 to Layer 30): [5, 0, 5, 5, 5, 0]"},
	}
	for _, tt := range tests {
		t.Run(tt.space, func(t *testing.T) {
			s := mustNew(t, tt.space)
			got := s.Format(tt.arch)
			if got != tt.want {
				t.Fatalf("Format = %q, want %q", got, tt.want)
			}
			back, err := s.Parse(got)
			if err != nil {
				t.Fatalf("Parse(Format) error: %v", err)
			}
			if !back.Equal(tt.arch) {
				t.Fatalf("Parse(Format) = %v, want %v", back, tt.arch)
			}
		})
	}
	// Every space reads back what it writes.
	for _, name := range Names() {
		s := mustNew(t, name)
		r := rand.New(rand.NewPCG(3, 4))
		for i := 0; i < 200; i++ {
			a := s.Sample(r)
			b, err := s.Parse(s.Format(a))
			if err != nil || !b.Equal(a) {
				t.Fatalf("%s: Parse(Format(%v)) = %v, %v", name, a, b, err)
			}
		}
	}
}
