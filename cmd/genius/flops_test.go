package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// runGenius runs the root command with args and returns its output.
func runGenius(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestFlopsCommand(t *testing.T) {
	tests := []struct {
		arch            string
		extra           []string
		flopsM, paramsM float64
		flops           int64
	}{
		{"1,0,0,0,1,0,1,0,1,1,1,0,4,0,4,3,0,0,4,3,0,4,4,0,5,0,5,5,5,0", nil, 329.41, 6.97, 329412864},
		{"1,0,1,0,1,1,1,1,0,0,1,1,4,4,0,4,0,4,4,5,0,5,0,5,6,5,0,6,0,5", []string{"--input", "224", "--classes", "1000"}, 401.50, 7.45, 401495296},
	}
	for _, tt := range tests {
		out, err := runGenius(t, append([]string{"flops", "--space", "mobilenetv2-imagenet", "--arch", tt.arch, "--json"}, tt.extra...)...)
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		var got flopsOutput
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v: %q", err, out)
		}
		if got.FLOPsM != tt.flopsM || got.ParamsM != tt.paramsM || got.FLOPs != tt.flops ||
			got.Input != 224 || got.Classes != 1000 || len(got.Arch) != 30 {
			t.Errorf("%s: %+v", tt.arch, got)
		}
	}
}

func TestFlopsCommandOptionsAndText(t *testing.T) {
	arch := "1,0,0,0,1,0,1,0,1,1,1,0,4,0,4,3,0,0,4,3,0,4,4,0,5,0,5,5,5,0"
	out, err := runGenius(t, "flops", "--arch", arch, "--input", "196", "--classes", "100", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got flopsOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.Input != 196 || got.Classes != 100 || got.FLOPsM >= 329.41 || got.Params >= 6967464 {
		t.Errorf("196/100: %+v", got)
	}
	out, err = runGenius(t, "flops", "--arch", arch)
	if err != nil || !strings.Contains(out, "329.413 M") || !strings.Contains(out, "6.967 M") {
		t.Errorf("text: %v %q", err, out)
	}
}

func TestFlopsTableCommand(t *testing.T) {
	out, err := runGenius(t, "flops", "--space", "mobilenetv2-imagenet", "--table", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var tab struct {
		Input int                     `json:"input"`
		First [5][7]float64           `json:"first"`
		Rest  [5][7]float64           `json:"rest"`
		Fixed []struct{ Name string } `json:"fixed"`
	}
	if err := json.Unmarshal([]byte(out), &tab); err != nil {
		t.Fatal(err)
	}
	// Spot checks against the paper's table; the flops package
	// tests all 70 entries.
	if tab.Input != 224 || tab.First[0][1] != 23.7855 || tab.Rest[1][2] != 14.313 || tab.First[4][6] != 18.408 || len(tab.Fixed) != 7 {
		t.Errorf("table %+v", tab)
	}
	out, err = runGenius(t, "flops", "--table")
	if err != nil || !strings.Contains(out, "stage3_rest  = [0, 11.2154, 12.2189, 13.7242, 16.8301, 18.3354, 20.5933]") {
		t.Errorf("text table: %v\n%s", err, out)
	}
}

func TestFlopsCommandErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"flops", "--arch", "1,2"}, "30"},
		{[]string{"flops", "--arch", "1,0,0,0,1,0,1,0,1,1,1,0,4,0,4,3,0,0,4,3,0,4,4,0,5,0,5,5,5,9"}, "position 30 is 9"},
		{[]string{"flops", "--arch", "a,b"}, "not an integer"},
		{[]string{"flops"}, "--arch"},
		{[]string{"flops", "--space", "nas-bench-macro", "--arch", "1,0"}, "genius table"},
		{[]string{"flops", "--table", "--input", "0"}, "--input"},
		{[]string{"flops", "--table", "--classes", "-1"}, "--classes"},
	}
	for _, tt := range tests {
		if _, err := runGenius(t, tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err %v, want %q", tt.args, err, tt.want)
		}
	}
}
