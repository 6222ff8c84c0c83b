package space

import (
	"fmt"
	"strings"
)

// The MobileNetV2-style ImageNet space of the paper ("ImageNet search
// space"): five searched stages of six slots, seven operators each.
const (
	ImageNetName       = "mobilenetv2-imagenet"
	ImageNetStageCount = 5
	ImageNetSlots      = 6
	ImageNetOps        = 7

	// Fixed layers around the searched stages.
	ImageNetStemChannels    = 16   // stem conv3x3 stride 2, 3→16, and the 16→16 depthwise-separable block
	ImageNetHeadChannels    = 320  // conv1x1 from the last stage's output
	ImageNetFeatureChannels = 1280 // conv1x1 with bias after global pooling, before dropout and the classifier
)

// Stage describes one searched stage of the ImageNet space.
type Stage struct {
	Index  int // 1-based stage number, as prompts show it
	In     int // input channels of slot 0
	Out    int // output channels of every slot
	Stride int // stride of slot 0; slots 1..5 have stride 1
}

// FirstPosition is the Arch position of the stage's slot 0.
func (s Stage) FirstPosition() int { return (s.Index - 1) * ImageNetSlots }

// ImageNetStages returns the five searched stages in network order.
func ImageNetStages() []Stage {
	return []Stage{
		{Index: 1, In: 16, Out: 24, Stride: 2},
		{Index: 2, In: 24, Out: 40, Stride: 2},
		{Index: 3, In: 40, Out: 80, Stride: 2},
		{Index: 4, In: 80, Out: 96, Stride: 1},
		{Index: 5, In: 96, Out: 192, Stride: 2},
	}
}

// ImageNetOp returns the depthwise kernel size and expansion ratio of
// operator op. ok is false for op 0 (no inverted residual: a 1x1 conv + BN
// projection in slot 0, no layer elsewhere) and for ids out of range.
func ImageNetOp(op int) (kernel, expansion int, ok bool) {
	switch op {
	case 1:
		return 3, 4, true
	case 2:
		return 5, 4, true
	case 3:
		return 7, 4, true
	case 4:
		return 3, 6, true
	case 5:
		return 5, 6, true
	case 6:
		return 7, 6, true
	}
	return 0, 0, false
}

// Layer is one layer the searched stages build.
type Layer struct {
	Stage     int // 1-based
	Slot      int // 0-based slot within the stage
	In, Out   int
	Stride    int
	Op        int // 0 only in slot 0: 1x1 conv + BN projection
	Kernel    int // 0 for a projection
	Expansion int // 0 for a projection
}

// ImageNetLayers lists the layers a built: every stage's slot 0, then its
// non-zero slots 1..5 in order. Architectures with the same canonical key
// give the same list.
func ImageNetLayers(a Arch) ([]Layer, error) {
	if err := newImageNet().Validate(a); err != nil {
		return nil, err
	}
	layers := make([]Layer, 0, len(a))
	for _, st := range ImageNetStages() {
		p := st.FirstPosition()
		for slot := 0; slot < ImageNetSlots; slot++ {
			op := a[p+slot]
			if slot > 0 && op == 0 {
				continue
			}
			l := Layer{Stage: st.Index, Slot: slot, In: st.Out, Out: st.Out, Stride: 1, Op: op}
			if slot == 0 {
				l.In, l.Stride = st.In, st.Stride
			}
			l.Kernel, l.Expansion, _ = ImageNetOp(op)
			layers = append(layers, l)
		}
	}
	return layers, nil
}

// imageNet is the mobilenetv2-imagenet space. It has no benchmark table, so
// Key is the canonical key. Sample draws the 30 slots uniformly, so layouts
// (not distinct networks) are uniform.
type imageNet struct{ grid }

func newImageNet() imageNet {
	opts := make([]int, ImageNetStageCount*ImageNetSlots)
	for i := range opts {
		opts[i] = ImageNetOps
	}
	return imageNet{grid{name: ImageNetName, opts: opts}}
}

var _ Space = imageNet{}

func (s imageNet) Validate(a Arch) error {
	return s.check(a, func(int) string { return intRange(ImageNetOps) }, slotName)
}

// slotName says where position i is, in the words of the stage lines.
func slotName(i int) string {
	return fmt.Sprintf("Stage %d, Layer %d", i/ImageNetSlots+1, i+1)
}

// CanonicalArch returns the layout that represents a's network: per stage,
// slot 0's op, then the non-zero ops of slots 1..5 in order, zeros last.
func (imageNet) CanonicalArch(a Arch) Arch {
	c := make(Arch, len(a))
	copy(c, a)
	for st := 0; st+ImageNetSlots <= len(a); st += ImageNetSlots {
		moveZerosToEnd(c[st+1 : st+ImageNetSlots])
	}
	return c
}

// moveZerosToEnd keeps the non-zero values of s in order and zeros after them.
func moveZerosToEnd(s []int) {
	j := 0
	for _, v := range s {
		if v != 0 {
			s[j] = v
			j++
		}
	}
	for ; j < len(s); j++ {
		s[j] = 0
	}
}

// Key is the canonical key: five groups of six digits, one group per stage,
// joined by "-", for example "100100-110100-440300-434400-555500".
func (s imageNet) Key(a Arch) string { return s.Canonical(a) }

func (s imageNet) Canonical(a Arch) string {
	c := s.CanonicalArch(a)
	groups := make([]string, 0, ImageNetStageCount)
	for st := 0; st+ImageNetSlots <= len(c); st += ImageNetSlots {
		groups = append(groups, digits(c[st:st+ImageNetSlots], 0))
	}
	return strings.Join(groups, "-")
}

// Decode reads a key (the "-" separators are optional). A key written by Key
// decodes to the canonical layout.
func (s imageNet) Decode(key string) (Arch, error) {
	return s.undigits(strings.ReplaceAll(strings.TrimSpace(key), "-", ""), 0)
}

// Format writes the five stage lines the prompt asks for, for example
// "Stage 1 (Layer 1 to Layer 6): [1, 0, 0, 0, 1, 0]".
func (s imageNet) Format(a Arch) string {
	var b strings.Builder
	for st := 0; st < ImageNetStageCount; st++ {
		lo, hi := st*ImageNetSlots, (st+1)*ImageNetSlots
		if hi > len(a) {
			break
		}
		if st > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "Stage %d (Layer %d to Layer %d): %s", st+1, lo+1, hi, listString(a[lo:hi]))
	}
	return b.String()
}

func (s imageNet) Parse(reply string) (Arch, error) {
	r := replyParser{
		space: ImageNetName,
		n:     s.Positions(),
		item:  isInt,
		want: "Please answer with exactly five lines, one per stage, each holding 6 operation IDs from 0 to 6:\n" +
			"Stage 1 (Layer 1 to Layer 6): [x, x, x, x, x, x]\n" +
			"Stage 2 (Layer 7 to Layer 12): [x, x, x, x, x, x]\n" +
			"Stage 3 (Layer 13 to Layer 18): [x, x, x, x, x, x]\n" +
			"Stage 4 (Layer 19 to Layer 24): [x, x, x, x, x, x]\n" +
			"Stage 5 (Layer 25 to Layer 30): [x, x, x, x, x, x]",
		convert: func(items []string) (Arch, error) { return intsInRange(s, items) },
		extra:   stageGroups,
	}
	return r.parse(reply)
}
