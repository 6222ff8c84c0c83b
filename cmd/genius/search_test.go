package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/genius-nas/genius/specs"
)

func TestLoadSearchSpec(t *testing.T) {
	spec := filepath.Join("..", "..", "specs", "nas-bench-macro.json")
	tests := []struct {
		name       string
		proposer   string
		iterations int
		wantKind   string
		wantIters  int
		wantErr    string
	}{
		{name: "as written", wantKind: specs.ProposerLLM, wantIters: 10},
		{name: "baseline override", proposer: "random", iterations: 3, wantKind: specs.ProposerRandom, wantIters: 3},
		{name: "bad proposer", proposer: "oracle", wantErr: `"proposer.kind"`},
		{name: "bad iterations", iterations: -1, wantErr: `"iterations"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := loadSearchSpec(spec, tt.proposer, tt.iterations)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Proposer.Kind != tt.wantKind || s.Iterations != tt.wantIters {
				t.Errorf("kind %q iterations %d; want %q %d", s.Proposer.Kind, s.Iterations, tt.wantKind, tt.wantIters)
			}
			// Submitted as written: defaults the file leaves out stay unset.
			if s.MaxAttempts != 10 || s.Proposer.TimeoutS != 0 {
				t.Errorf("spec was defaulted before submission: max_attempts %d timeout_s %d", s.MaxAttempts, s.Proposer.TimeoutS)
			}
		})
	}
	t.Run("secret field", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "s.json")
		if err := os.WriteFile(p, []byte(`{"space":"nas-bench-macro","api_key":"sk-x"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := loadSearchSpec(p, "", 0); err == nil || !strings.Contains(err.Error(), "OPENAI_API_KEY") {
			t.Fatalf("error %v, want one pointing at OPENAI_API_KEY", err)
		}
	})
}

// TestSearchLLMWithoutKey checks the fail-fast message: no server is
// contacted (the address is unroutable), and the message says how to run a
// baseline instead.
func TestSearchLLMWithoutKey(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OPENAI_BASE_URL", "")
	spec := filepath.Join("..", "..", "specs", "nas-bench-macro.json")
	var stdout, stderr bytes.Buffer
	err := runSearch(context.Background(), searchOptions{client: clientFlags{Address: "192.0.2.1:1"}, spec: spec, wait: true}, &stdout, &stderr)
	if err == nil {
		t.Fatal("search with the llm proposer and no key did not fail")
	}
	for _, want := range []string{"needs an API key", "OPENAI_API_KEY", "--proposer random"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout: %q", stdout.String())
	}
}

func TestOpenTraining(t *testing.T) {
	dir := t.TempDir()
	tr, err := openTraining(context.Background(), "file://"+dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Proxy.Store != tr.Store || tr.Store.String() != "file://"+dir {
		t.Errorf("store %s, proxy-training checkpoints in %s; want both in %s", tr.Store, tr.Proxy.Store, dir)
	}
	if _, err := openTraining(context.Background(), "gs://bucket", ""); err == nil || !strings.Contains(err.Error(), "--checkpoint-store") {
		t.Errorf("unknown scheme: error %v", err)
	}
}

func TestClientFlagsTLS(t *testing.T) {
	t.Setenv("TEMPORAL_API_KEY", "")
	tests := []struct {
		name    string
		f       clientFlags
		wantTLS bool
		wantErr string
	}{
		{name: "plain dev server", f: clientFlags{Address: "127.0.0.1:7233"}},
		{name: "api key implies TLS", f: clientFlags{APIKey: "k"}, wantTLS: true},
		{name: "server name only", f: clientFlags{TLSServerName: "x.tmprl.cloud"}, wantTLS: true},
		{name: "cert without key", f: clientFlags{TLSCert: "c.pem"}, wantErr: "--tls-cert and --tls-key go together"},
		{name: "missing CA file", f: clientFlags{TLSCA: filepath.Join(t.TempDir(), "none.pem")}, wantErr: "--tls-ca"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := tt.f.options(nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (o.ConnectionOptions.TLS != nil) != tt.wantTLS {
				t.Errorf("TLS config %v, want TLS %v", o.ConnectionOptions.TLS, tt.wantTLS)
			}
			if (o.Credentials != nil) != (tt.f.APIKey != "") {
				t.Errorf("credentials %v for api key %q", o.Credentials, tt.f.APIKey)
			}
		})
	}
}

func TestReplayCommandErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"events": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runGenius(t, "replay", bad)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("genius replay of an empty history: %v; want exit 1", err)
	}
	if !strings.Contains(out, "FAIL "+bad) || !strings.Contains(out, "no events") {
		t.Errorf("output:\n%s", out)
	}
}

func TestAuditCommandGolden(t *testing.T) {
	file := filepath.Join("..", "..", "integration", "testdata", "golden", "search-llm-give-up.json")
	out, err := runGenius(t, "audit", file)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"GeniusSearch golden-search-llm-give-up", "check: give-up", "stopped: give-up"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit output lacks %q:\n%s", want, out)
		}
	}
	if _, err := runGenius(t, "audit"); err == nil {
		t.Error("genius audit without a file or --workflow-id did not fail")
	}
}
