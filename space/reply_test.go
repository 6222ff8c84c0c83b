package space

import (
	"errors"
	"strings"
	"testing"
)

const genius329Lines = `Stage 1 (Layer 1 to Layer 6): [1, 0, 0, 0, 1, 0]
Stage 2 (Layer 7 to Layer 12): [1, 0, 1, 1, 1, 0]
Stage 3 (Layer 13 to Layer 18): [4, 0, 4, 3, 0, 0]
Stage 4 (Layer 19 to Layer 24): [4, 3, 0, 4, 4, 0]
Stage 5 (Layer 25 to Layer 30): [5, 0, 5, 5, 5, 0]`

var genius329 = Arch{1, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 4, 0, 4, 3, 0, 0, 4, 3, 0, 4, 4, 0, 5, 0, 5, 5, 5, 0}

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		space string
		reply string
		want  Arch
	}{
		{"bare list", "nas-bench-macro", "[2, 2, 2, 1, 2, 2, 2, 0]", Arch{2, 2, 2, 1, 2, 2, 2, 0}},
		{"no spaces", "nas-bench-macro", "[2,2,2,1,2,2,2,0]", Arch{2, 2, 2, 1, 2, 2, 2, 0}},
		{"space separated", "nas-bench-macro", "[2 2 2 1 2 2 2 0]", Arch{2, 2, 2, 1, 2, 2, 2, 0}},
		{"trailing comma and newlines", "nas-bench-macro", "[\n  2,\n  1,\n  2,\n  1,\n  2,\n  2,\n  0,\n  1,\n]", Arch{2, 1, 2, 1, 2, 2, 0, 1}},
		{"prose with history echo", "nas-bench-macro",
			"The best so far, [1, 0, 1, 0, 0, 1, 0, 0], reached 85.70%. Deeper blocks in the last stage should help, so I suggest [2, 2, 1, 2, 1, 2, 2, 2] for the next experiment.",
			Arch{2, 2, 1, 2, 1, 2, 2, 2}},
		{"code fence wins over later prose", "nas-bench-macro",
			"Here is my proposal:\n```python\n[2, 1, 2, 2, 1, 2, 2, 1]\n```\nCompared with [1, 0, 1, 0, 0, 1, 0, 0] it adds capacity.",
			Arch{2, 1, 2, 2, 1, 2, 2, 1}},
		{"last of several fences", "nas-bench-macro",
			"Before:\n```\n[1, 0, 1, 0, 0, 1, 0, 0]\n```\nAfter:\n```\n[2, 2, 2, 2, 2, 2, 2, 2]\n```\n",
			Arch{2, 2, 2, 2, 2, 2, 2, 2}},
		{"fence with a comment and assignment", "nas-bench-macro",
			"```python\nop_list = [2,  # layer2\n           2,  # layer3\n           1, 2, 2, 1, 2, 0]\n```",
			Arch{2, 2, 1, 2, 2, 1, 2, 0}},
		{"example echo skipped", "nas-bench-macro",
			"Following your format [1, 2, ..., 0], my answer is [0, 2, 1, 1, 2, 2, 1, 0].", Arch{0, 2, 1, 1, 2, 2, 1, 0}},
		{"bare comma run", "nas-bench-macro", "Answer: 2, 2, 1, 2, 2, 2, 1, 2", Arch{2, 2, 1, 2, 2, 2, 1, 2}},
		{"only a key", "nas-bench-macro", "`22212202`", Arch{2, 2, 2, 1, 2, 2, 0, 2}},
		{"tuple", "nas-bench-macro", "I propose (2, 2, 2, 1, 2, 2, 0, 2).", Arch{2, 2, 2, 1, 2, 2, 0, 2}},
		{"json object", "nas-bench-macro", `{"architecture": [1, 2, 2, 2, 1, 2, 2, 2], "reason": "more depth"}`, Arch{1, 2, 2, 2, 1, 2, 2, 2}},
		{"unicode quotes and fullwidth", "nas-bench-macro", "［2，2，2，1，2，2，0，2］", Arch{2, 2, 2, 1, 2, 2, 0, 2}},
		{"crlf", "nas-bench-macro", "Sure.\r\n```\r\n[1, 1, 1, 1, 1, 1, 1, 1]\r\n```\r\n", Arch{1, 1, 1, 1, 1, 1, 1, 1}},

		{"channels bare", "channel-bench-resnet", "[256, 192, 256, 512, 512, 256, 512]", Arch{3, 2, 3, 3, 3, 1, 3}},
		{"channels in prose", "channel-bench-resnet",
			"Since [64, 128, 128, 256, 384, 256, 384] gives 92.67%, widening helps: [256, 192, 256, 512, 512, 256, 512].",
			Arch{3, 2, 3, 3, 3, 1, 3}},
		{"channels mobilenet fenced", "channel-bench-mobilenet",
			"```\nchannels = [128, 768, 768, 768, 192, 1536, 512]\n```", Arch{3, 3, 3, 3, 2, 3, 1}},
		{"channels quoted", "channel-bench-mobilenet", `["32", "192", "384", "576", "64", "384", "256"]`, Arch{0, 0, 1, 2, 0, 0, 0}},

		{"nb201 ids", "nas-bench-201", "[3, 3, 3, 1, 3, 3]", Arch{3, 3, 3, 1, 3, 3}},
		{"nb201 names", "nas-bench-201", "op_list = ['nor_conv_3x3', 'nor_conv_3x3', 'nor_conv_3x3', 'skip_connect', 'nor_conv_3x3', 'nor_conv_3x3']", Arch{3, 3, 3, 1, 3, 3}},
		{"nb201 paper names", "nas-bench-201", "[nn.Identity(), Zeroize(), conv_1x1, avg_pool_3x3, none, skip_connect]", Arch{1, 0, 2, 4, 0, 1}},
		{"nb201 cell string", "nas-bench-201",
			"I recommend |nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2| because convolutions dominate.",
			Arch{3, 3, 3, 1, 3, 3}},
		{"nb201 rationale after list", "nas-bench-201",
			"Based on the result of 91.55%, I suggest:\n\n```\n[3, 3, 2, 1, 3, 3]\n```\n\nRationale: op3 = 1 keeps a residual path [s0 -> s3] which eases gradient flow.",
			Arch{3, 3, 2, 1, 3, 3}},

		{"stage lines", "mobilenetv2-imagenet", genius329Lines, genius329},
		{"stage lines in fence with prose", "mobilenetv2-imagenet",
			"To stay under the 330M budget I shrink stage 3.\n\n```\n" + genius329Lines + "\n```\nThis keeps 6.97M parameters.", genius329},
		{"stage lines markdown", "mobilenetv2-imagenet",
			"**Stage 1** (Layer 1 to Layer 6): `[1, 0, 0, 0, 1, 0]`\n**Stage 2** (Layer 7 to Layer 12): `[1, 0, 1, 1, 1, 0]`\n" +
				"**Stage 3** (Layer 13 to Layer 18): `[4, 0, 4, 3, 0, 0]`\n**Stage 4** (Layer 19 to Layer 24): `[4, 3, 0, 4, 4, 0]`\n" +
				"**Stage 5** (Layer 25 to Layer 30): `[5, 0, 5, 5, 5, 0]`", genius329},
		{"stage lines list on next line", "mobilenetv2-imagenet",
			"Stage 1 (Layer 1 to Layer 6):\n[1, 0, 0, 0, 1, 0]\nStage 2 (Layer 7 to Layer 12):\n[1, 0, 1, 1, 1, 0]\n" +
				"Stage 3 (Layer 13 to Layer 18):\n[4, 0, 4, 3, 0, 0]\nStage 4 (Layer 19 to Layer 24):\n[4, 3, 0, 4, 4, 0]\n" +
				"Stage 5 (Layer 25 to Layer 30):\n[5, 0, 5, 5, 5, 0]", genius329},
		{"stage lines without brackets", "mobilenetv2-imagenet",
			"Stage 1: 1, 0, 0, 0, 1, 0\nStage 2: 1, 0, 1, 1, 1, 0\nStage 3: 4, 0, 4, 3, 0, 0\nStage 4: 4, 3, 0, 4, 4, 0\nStage 5: 5, 0, 5, 5, 5, 0", genius329},
		{"second set of stage lines wins", "mobilenetv2-imagenet",
			"Previous:\n" + strings.ReplaceAll(genius329Lines, "[5, 0, 5, 5, 5, 0]", "[6, 6, 6, 6, 6, 6]") + "\nNew:\n" + genius329Lines, genius329},
		{"flat 30 list", "mobilenetv2-imagenet", "[1,0,0,0,1,0, 1,0,1,1,1,0, 4,0,4,3,0,0, 4,3,0,4,4,0, 5,0,5,5,5,0]", genius329},
		{"nested 5x6 list", "mobilenetv2-imagenet",
			"arch = [\n  [1, 0, 0, 0, 1, 0],\n  [1, 0, 1, 1, 1, 0],\n  [4, 0, 4, 3, 0, 0],\n  [4, 3, 0, 4, 4, 0],\n  [5, 0, 5, 5, 5, 0],\n]", genius329},
	}
	for _, tt := range tests {
		t.Run(tt.space+"/"+tt.name, func(t *testing.T) {
			got, err := mustNew(t, tt.space).Parse(tt.reply)
			if err != nil {
				t.Fatalf("Parse error: %v", err)
			}
			if !got.Equal(tt.want) {
				t.Fatalf("Parse = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name       string
		space      string
		reply      string
		validation bool // *ValidationError rather than *ParseError
		position   int
		want       []string // in Correction()
	}{
		{"empty", "nas-bench-macro", "  \n ", false, 0, []string{"empty", "8 operation IDs"}},
		{"garbage", "nas-bench-macro", "I think deeper networks are better in general.", false, 0, []string{"no list of 8 entries", "Please answer with one list of 8"}},
		{"wrong length", "nas-bench-macro", "[2, 2, 2, 1, 2, 2, 2]", false, 0, []string{"[2, 2, 2, 1, 2, 2, 2] has 7 entries, but 8 are needed"}},
		{"out of range", "nas-bench-macro", "[2, 2, 2, 1, 2, 3, 2, 0]", true, 5, []string{"entry 6 is 3", "0, 1 or 2"}},
		{"negative", "nas-bench-macro", "[2, 2, -1, 1, 2, 2, 2, 0]", true, 2, []string{"entry 3 is -1"}},
		{"float list", "nas-bench-macro", "[2.0, 2.0, 2.0, 1.0, 2.0, 2.0, 2.0, 0.0]", false, 0, []string{"no list of 8"}},
		{"ellipsis only", "nas-bench-macro", "[1, 2, ..., 0]", false, 0, []string{"no list of 8"}},
		{"bad channel", "channel-bench-resnet", "[256, 192, 200, 512, 512, 256, 512]", true, 2, []string{"entry 3 is 200", "64, 128, 192 or 256"}},
		{"multiples instead of channels", "channel-bench-mobilenet", "[4, 4, 4, 4, 3, 4, 2]", true, 0, []string{"entry 1 is 4", "32, 64, 96 or 128"}},
		{"channel too wide", "channel-bench-mobilenet", "[128, 768, 768, 768, 192, 1920, 512]", true, 5, []string{"entry 6 is 1920", "384, 768, 1152 or 1536"}},
		{"nb201 unknown op", "nas-bench-201", "['nor_conv_3x3', 'nor_conv_3x3', 'nor_conv_3x3', 'skip_connect', 'nor_conv_3x3', 'nor_conv_5x5']", true, 5, []string{"entry 6 (edge 2->3) is \"nor_conv_5x5\"", "avg_pool_3x3"}},
		{"nb201 prompt echo", "nas-bench-201", "op_list = [op0, op1, op2, op3, op4, op5]", false, 0, []string{"no list of 6"}},
		{"nb201 id out of range", "nas-bench-201", "[3, 3, 3, 1, 5, 3]", true, 4, []string{"entry 5 (edge 1->3) is 5", "0, 1, 2, 3 or 4"}},
		{"nb201 cell bad op", "nas-bench-201", "|nor_conv_3x3~0|+|nor_conv_3x3~0|conv_7x7~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
			true, 2, []string{"entry 3 (edge 1->2)", "conv_7x7", "nor_conv_3x3"}},
		{"nb201 malformed cell", "nas-bench-201", "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|", false, 0, []string{"malformed", "3 node groups"}},
		{"imagenet stage too short", "mobilenetv2-imagenet", strings.Replace(genius329Lines, "[4, 0, 4, 3, 0, 0]", "[4, 0, 4, 3, 0]", 1),
			false, 0, []string{"Stage 3 has 5 entries", "6 slots"}},
		{"imagenet stage missing", "mobilenetv2-imagenet", strings.Replace(genius329Lines, "Stage 4 (Layer 19 to Layer 24): [4, 3, 0, 4, 4, 0]\n", "", 1),
			false, 0, []string{"leave out stage 4"}},
		{"imagenet op 7", "mobilenetv2-imagenet", strings.Replace(genius329Lines, "[4, 3, 0, 4, 4, 0]", "[4, 3, 0, 7, 4, 0]", 1),
			true, 21, []string{"entry 22 (Stage 4, Layer 22) is 7", "0, 1, 2, 3, 4, 5 or 6"}},
		{"imagenet single stage line", "mobilenetv2-imagenet", "Stage 1: [1, 0, 0, 0, 1, 0]", false, 0, []string{"leave out stages 2, 3, 4 and 5", "[x, x, x, x, x, x]"}},
		{"imagenet stage 6", "mobilenetv2-imagenet", genius329Lines + "\nStage 6 (Layer 31 to Layer 36): [1, 0, 0, 0, 0, 0]", false, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.space+"/"+tt.name, func(t *testing.T) {
			a, err := mustNew(t, tt.space).Parse(tt.reply)
			if tt.name == "imagenet stage 6" {
				// A sixth stage line after a complete set does not spoil it.
				if err != nil || !a.Equal(genius329) {
					t.Fatalf("Parse = %v, %v; want GENIUS-329", a, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse = %v, want an error", a)
			}
			var c Corrector
			if !errors.As(err, &c) {
				t.Fatalf("error %T does not offer a correction", err)
			}
			var ve *ValidationError
			var pe *ParseError
			if tt.validation {
				if !errors.As(err, &ve) {
					t.Fatalf("error %T %v, want *ValidationError", err, err)
				}
				if ve.Position != tt.position {
					t.Errorf("Position = %d, want %d", ve.Position, tt.position)
				}
			} else if !errors.As(err, &pe) {
				t.Fatalf("error %T %v, want *ParseError", err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(c.Correction(), w) {
					t.Errorf("Correction() = %q, want it to contain %q", c.Correction(), w)
				}
			}
		})
	}
}

func TestCodeFences(t *testing.T) {
	text := "a\n```go\nx\n```\nb\n~~~\ny\n"
	got := codeFences(text)
	if len(got) != 2 {
		t.Fatalf("codeFences = %v, want 2 ranges", got)
	}
	if !strings.Contains(text[got[0][0]:got[0][1]], "x") || strings.Contains(text[got[0][0]:got[0][1]], "b") {
		t.Errorf("first fence = %q", text[got[0][0]:got[0][1]])
	}
	if got[1][1] != len(text) {
		t.Errorf("unclosed fence should run to the end: %v", got[1])
	}
}
