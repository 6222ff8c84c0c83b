package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// parseReply runs `genius parse` with reply on stdin.
func parseReply(t *testing.T, reply string, args ...string) (stdout string, err error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(reply))
	root.SetArgs(append([]string{"parse"}, args...))
	err = root.Execute()
	return out.String(), err
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		space, reply string
		want         parseOutput
	}{
		{"nas-bench-macro", "Previous best [1, 0, 1, 0, 0, 1, 0, 0]. I suggest:\n```\n[1, 2, 0, 0, 1, 2, 0, 2]\n```\n",
			parseOutput{Space: "nas-bench-macro", Arch: []int{1, 2, 0, 0, 1, 2, 0, 2}, Key: "12001202", Canonical: "12010220", Text: "[1, 2, 0, 0, 1, 2, 0, 2]"}},
		{"channel-bench-resnet", "[256, 192, 256, 512, 512, 256, 512]",
			parseOutput{Space: "channel-bench-resnet", Arch: []int{3, 2, 3, 3, 3, 1, 3}, Key: "4344424", Canonical: "4344424", Text: "[256, 192, 256, 512, 512, 256, 512]"}},
		{"nas-bench-201", "['nor_conv_3x3', 'nor_conv_3x3', 'nor_conv_3x3', 'skip_connect', 'nor_conv_3x3', 'nor_conv_3x3']",
			parseOutput{Space: "nas-bench-201", Arch: []int{3, 3, 3, 1, 3, 3},
				Key:       "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
				Canonical: "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
				Text:      "[3, 3, 3, 1, 3, 3]"}},
		{"mobilenetv2-imagenet", "Stage 1: [1,0,0,0,1,0]\nStage 2: [1,0,1,1,1,0]\nStage 3: [4,0,4,3,0,0]\nStage 4: [4,3,0,4,4,0]\nStage 5: [5,0,5,5,5,0]",
			parseOutput{Space: "mobilenetv2-imagenet", Arch: []int{1, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 4, 0, 4, 3, 0, 0, 4, 3, 0, 4, 4, 0, 5, 0, 5, 5, 5, 0},
				Key: "110000-111100-443000-434400-555500", Canonical: "110000-111100-443000-434400-555500",
				Text: "Stage 1 (Layer 1 to Layer 6): [1, 0, 0, 0, 1, 0]\nStage 2 (Layer 7 to Layer 12): [1, 0, 1, 1, 1, 0]\n" +
					"Stage 3 (Layer 13 to Layer 18): [4, 0, 4, 3, 0, 0]\nStage 4 (Layer 19 to Layer 24): [4, 3, 0, 4, 4, 0]\n" +
					"Stage 5 (Layer 25 to Layer 30): [5, 0, 5, 5, 5, 0]"}},
		{"nas-bench-macro", "[2, 2, 2, 1, 2, 2, 2, 0]. I believe this is optimal.",
			parseOutput{Space: "nas-bench-macro", Arch: []int{2, 2, 2, 1, 2, 2, 2, 0}, Key: "22212220", Canonical: "22212220", Text: "[2, 2, 2, 1, 2, 2, 2, 0]", GiveUp: true}},
	}
	for _, tt := range tests {
		t.Run(tt.space, func(t *testing.T) {
			out, err := parseReply(t, tt.reply, "--space", tt.space)
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			var got parseOutput
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v: %q", err, out)
			}
			if g, w := mustJSON(t, got), mustJSON(t, tt.want); g != w {
				t.Errorf("got  %s\nwant %s", g, w)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseCommandErrors(t *testing.T) {
	tests := []struct {
		name, space, reply string
		exit               bool // an exitError carrying a correction
		want               string
	}{
		{"out of range", "nas-bench-macro", "[2, 2, 2, 1, 2, 2, 2, 3]", true, "entry 8 is 3, but it must be one of 0, 1 or 2"},
		{"garbage", "nas-bench-201", "I would rather not answer.", true, "no list of 6 entries"},
		{"bad channel", "channel-bench-mobilenet", "[32, 192, 192, 192, 64, 384, 300]", true, "256, 512, 768 or 1024"},
		{"unknown space", "nas-bench-101", "[1]", false, "unknown search space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := parseReply(t, tt.reply, "--space", tt.space)
			if err == nil {
				t.Fatalf("succeeded: %s", out)
			}
			var ee *exitError
			if errors.As(err, &ee) != tt.exit {
				t.Fatalf("error %T %v, exitError = %v", err, err, !tt.exit)
			}
			if tt.exit && ee.code != 1 {
				t.Errorf("exit code %d, want 1", ee.code)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
			if out != "" && tt.exit {
				t.Errorf("stdout should be empty on failure, got %q", out)
			}
		})
	}
	if _, err := parseReply(t, "[1]"); err == nil || !strings.Contains(err.Error(), "space") {
		t.Errorf("missing --space: %v", err)
	}
}

func TestParseCommandFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "reply.txt")
	if err := os.WriteFile(p, []byte("```\n[0, 0, 0, 0, 0, 0, 0, 0]\n```"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := parseReply(t, "ignored stdin", "--space", "nas-bench-macro", "--file", p)
	if err != nil || !strings.Contains(out, `"key": "00000000"`) {
		t.Errorf("--file: %v %s", err, out)
	}
}
