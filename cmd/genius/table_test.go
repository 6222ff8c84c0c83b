package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/genius-nas/genius/bench/benchtest"
)

func benchDataDir(t *testing.T) string { return benchtest.DataDir(t) }

func r2(v float64) float64 { return math.Round(v*100) / 100 }

func TestTableCommandLookup(t *testing.T) {
	dir := benchDataDir(t)
	tests := []struct {
		args      []string
		key       string
		acc       float64
		val, test float64
		rank, of  int
	}{
		{[]string{"--benchmark", "nas-bench-macro", "--arch", "1,0,1,0,0,1,0,0"}, "10100100", 85.70, 0, 0, 6221, 6561},
		{[]string{"--benchmark", "nas-bench-macro", "--key", "22212202"}, "22212202", 93.13, 0, 0, 1, 6561},
		// Channel spaces: arch indices are width multiples minus one.
		{[]string{"--benchmark", "channel-bench-resnet", "--arch", "3,2,3,3,3,1,3"}, "4344424", 93.89, 0, 0, 1, 16384},
		{[]string{"--benchmark", "channel-bench-mobilenet", "--key", "4444342"}, "4444342", 91.89, 0, 0, 1, 16384},
		{[]string{"--benchmark", "nas-bench-201", "--dataset", "cifar100", "--arch", "3,3,3,1,3,3"},
			"|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|", 73.49, 73.49, 73.51, 1, 15625},
	}
	for _, tt := range tests {
		out, err := runGenius(t, append([]string{"table", "--data-dir", dir, "--json"}, tt.args...)...)
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		var got tableOutput
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v: %q", err, out)
		}
		if got.Key != tt.key || r2(got.Accuracy) != tt.acc || r2(got.ValAccuracy) != tt.val || r2(got.TestAccuracy) != tt.test ||
			got.Rank != tt.rank || got.Of != tt.of {
			t.Errorf("%v: %+v", tt.args, got)
		}
	}
	// The JSON field names other tools read.
	out, _ := runGenius(t, "table", "--data-dir", dir, "--json", "--benchmark", "nas-bench-201", "--key",
		"|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|")
	for _, f := range []string{`"accuracy":`, `"val_accuracy":`, `"test_accuracy":`, `"rank":`, `"of":15625`, `"percentile":`, `"dataset":"cifar10"`} {
		if !strings.Contains(out, f) {
			t.Errorf("output lacks %s: %s", f, out)
		}
	}
	out, err := runGenius(t, "table", "--data-dir", dir, "--benchmark", "nas-bench-macro", "--arch", "1,0,1,0,0,1,0,0")
	if err != nil || !strings.Contains(out, "accuracy 85.70") || !strings.Contains(out, "rank 6221 of 6561") {
		t.Errorf("text: %v %q", err, out)
	}
}

func TestTableCommandStats(t *testing.T) {
	dir := benchDataDir(t)
	tests := []struct {
		benchmark, dataset string
		optimum, baseline  float64
		key                string
	}{
		{"nas-bench-macro", "", 93.13, 92.43, "22212202"},
		{"nas-bench-201", "imagenet16-120", 47.31, 0, ""},
	}
	for _, tt := range tests {
		out, err := runGenius(t, "table", "--data-dir", dir, "--benchmark", tt.benchmark, "--dataset", tt.dataset, "--stats", "--json")
		if err != nil {
			t.Fatal(err)
		}
		var got statsOutput
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		if r2(got.Optimum) != tt.optimum || got.Samples != 10 || (tt.key != "" && got.OptimumKey != tt.key) ||
			(tt.baseline != 0 && r2(got.RandomBaseline) != tt.baseline) || got.RandomBaseline >= got.Optimum {
			t.Errorf("%s: %+v", tt.benchmark, got)
		}
	}
	// More samples, better baseline.
	out, err := runGenius(t, "table", "--data-dir", dir, "--benchmark", "nas-bench-macro", "--stats", "--samples", "100", "--json")
	var got statsOutput
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || got.Samples != 100 || got.RandomBaseline <= 92.43 {
		t.Errorf("100 samples: %v %s", err, out)
	}
}

func TestTableCommandErrors(t *testing.T) {
	dir := benchDataDir(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--benchmark", "nas-bench-macro"}, "exactly one of"},
		{[]string{"--benchmark", "nas-bench-macro", "--stats", "--key", "10100100"}, "exactly one of"},
		{[]string{"--key", "10100100"}, "--benchmark"},
		{[]string{"--benchmark", "nas-bench-macro", "--arch", "1,0,3,0,0,1,0,0"}, "position 3"},
		{[]string{"--benchmark", "nas-bench-macro", "--key", "1010"}, "8 digits"},
		{[]string{"--benchmark", "nas-bench-201", "--dataset", "svhn", "--stats"}, "cifar100"},
		{[]string{"--benchmark", "nas-bench-macro", "--stats", "--data-dir", t.TempDir()}, "genius data fetch --data-dir"},
	}
	for _, tt := range tests {
		_, err := runGenius(t, append([]string{"table", "--data-dir", dir}, tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err %v, want %q", tt.args, err, tt.want)
		}
	}
}
