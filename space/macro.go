package space

// nasBenchMacro is NAS-Bench-Macro: 8 searched layers in three stages of
// 2, 3 and 3 layers, each layer one of 0 identity (a 1x1 conv + BN where the
// layer downsamples), 1 inverted residual k3 e3, 2 inverted residual k5 e6.
type nasBenchMacro struct{ grid }

// NASBenchMacroName is the space's name in specs and on the command line.
const NASBenchMacroName = "nas-bench-macro"

func newNASBenchMacro() nasBenchMacro {
	return nasBenchMacro{grid{name: NASBenchMacroName, opts: []int{3, 3, 3, 3, 3, 3, 3, 3}}}
}

var _ Space = nasBenchMacro{}

func (s nasBenchMacro) Validate(a Arch) error {
	return s.check(a, func(int) string { return intRange(3) }, nil)
}

// Key is the table key: one digit per layer, for example "10100100".
func (s nasBenchMacro) Key(a Arch) string { return digits(a, 0) }

// Canonical follows the benchmark's own deduplication: within each stage the
// identity layers after the stage's first layer move to the end of the stage
// (an identity there is a no-op, so only the order of the others matters).
// Keys with the same canonical key share one trained network in the table.
func (s nasBenchMacro) Canonical(a Arch) string {
	c := a.Clone()
	p := 0
	// Stages of 2, 3 and 3 layers; each stage's first layer downsamples.
	for _, n := range [...]int{2, 3, 3} {
		if p+n > len(c) {
			break
		}
		moveZerosToEnd(c[p+1 : p+n])
		p += n
	}
	return digits(c, 0)
}

func (s nasBenchMacro) Decode(key string) (Arch, error) { return s.undigits(key, 0) }

// Format writes the operation ID list, for example "[1, 0, 1, 0, 0, 1, 0, 0]".
func (s nasBenchMacro) Format(a Arch) string { return listString(a) }

func (s nasBenchMacro) Parse(reply string) (Arch, error) {
	r := replyParser{
		space:   s.name,
		n:       s.Positions(),
		item:    isInt,
		want:    "Please answer with one list of 8 operation IDs, [x, x, x, x, x, x, x, x] with each x being 0, 1 or 2.",
		convert: func(items []string) (Arch, error) { return intsInRange(s, items) },
		key:     s.Decode,
	}
	return r.parse(reply)
}
