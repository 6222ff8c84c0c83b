package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goldenExperiment = "../../integration/testdata/golden/experiment-random.json"

func TestReportInputErrors(t *testing.T) {
	csv := filepath.Join(t.TempDir(), "other.csv")
	if err := os.WriteFile(csv, []byte("benchmark,setting,trial,metric,T0,T1\nNAS-Bench-201 CIFAR-10,temperature=0,1,val_acc,90.1,90.2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		o    reportOptions
		want string
	}{
		{"nothing", reportOptions{}, "give --workflow-id ID, or history files"},
		{"both", reportOptions{workflowID: "x", files: []string{goldenExperiment}}, "not both"},
		{"not a history", reportOptions{files: []string{csv}}, "not a workflow history"},
		{"bad explicit data dir", reportOptions{files: []string{goldenExperiment}, dataDir: t.TempDir(), dataDirSet: true}, "--data-dir"},
		{"missing compare file", reportOptions{files: []string{goldenExperiment}, dataDir: t.TempDir(), compare: "nope.csv"}, "--compare: open nope.csv"},
		{"compare without matching rows", reportOptions{files: []string{goldenExperiment}, dataDir: t.TempDir(), compare: csv},
			"has no rows for nas-bench-macro; it has: NAS-Bench-201 CIFAR-10 [temperature=0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GENIUS_DATA_DIR", "")
			tc.o.out = filepath.Join(t.TempDir(), "out")
			var stdout, stderr bytes.Buffer
			err := runReport(context.Background(), tc.o, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want containing %q", err, tc.want)
			}
			if _, serr := os.Stat(tc.o.out); serr == nil {
				t.Errorf("a failed report left %s behind", tc.o.out)
			}
		})
	}
}

// TestReportBadDataDirEnv: tables missing where GENIUS_DATA_DIR points is
// an error naming the variable, not a quiet note.
func TestReportBadDataDirEnv(t *testing.T) {
	t.Setenv("GENIUS_DATA_DIR", "/nonexistent/tables")
	o := reportOptions{files: []string{goldenExperiment}, dataDir: "/nonexistent/tables", out: filepath.Join(t.TempDir(), "out")}
	err := runReport(context.Background(), o, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.HasPrefix(err.Error(), "GENIUS_DATA_DIR: ") {
		t.Fatalf("err = %v, want one naming GENIUS_DATA_DIR", err)
	}
}

// TestReportWithoutTables writes the report without the benchmark tables
// at the default place: no baseline curve, said on stderr and in the
// report, and everything else written.
func TestReportWithoutTables(t *testing.T) {
	t.Setenv("GENIUS_DATA_DIR", "")
	out := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	o := reportOptions{files: []string{goldenExperiment}, dataDir: filepath.Join(t.TempDir(), "data"), out: out}
	if err := runReport(context.Background(), o, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "genius data fetch") {
		t.Errorf("stderr does not say how to get the tables:\n%s", stderr.String())
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "No random-baseline curve") || !strings.Contains(string(md), "Random search (exact expected best of 3 uniform samples)") {
		t.Errorf("report.md lacks the note and the experiment's recorded baseline:\n%s", md)
	}
	if !strings.Contains(stdout.String(), filepath.Join(out, "report.html")) {
		t.Errorf("stdout does not say where the report is: %q", stdout.String())
	}
}
