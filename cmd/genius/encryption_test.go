package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/genius-nas/genius/history"
	"github.com/genius-nas/genius/payloadcrypt"
	"github.com/genius-nas/genius/workers"
)

func keygen(t *testing.T, o keygenOptions) string {
	t.Helper()
	var out bytes.Buffer
	if err := runKeygen(context.Background(), o, &out, &out); err != nil {
		t.Fatalf("keygen %+v: %v", o, err)
	}
	return out.String()
}

func TestKeygenAndRotation(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	keygen(t, keygenOptions{Out: keys, ID: "first"})
	st, err := os.Stat(keys)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %o, want 600", st.Mode().Perm())
	}
	first, _ := os.ReadFile(keys)
	// Keygen never prints the key.
	secret := strings.Fields(strings.TrimSpace(string(first[strings.LastIndex(string(first), "first "):])))[1]
	if err := runKeygen(context.Background(), keygenOptions{Out: keys}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "--add") {
		t.Fatalf("keygen over an existing file: %v; want a refusal that points at --add", err)
	}
	out := keygen(t, keygenOptions{Out: keys, Add: true})
	if strings.Contains(out, secret) {
		t.Error("keygen printed key material")
	}
	ring, err := payloadcrypt.LoadKeyring(keys)
	if err != nil {
		t.Fatal(err)
	}
	ids := ring.IDs()
	if len(ids) != 2 || ids[0] != "first" || !strings.HasPrefix(ids[1], "genius-") || ring.ActiveID() != ids[1] {
		t.Fatalf("after --add: keys %v, active %s", ids, ring.ActiveID())
	}
	if st, _ := os.Stat(keys); st.Mode().Perm() != 0o600 {
		t.Errorf("rotated key file mode %o, want 600", st.Mode().Perm())
	}
	now, _ := os.ReadFile(keys)
	if !bytes.HasPrefix(now, first) {
		t.Error("--add changed the keys already in the file")
	}
	if err := runKeygen(context.Background(), keygenOptions{Out: keys, Add: true, ID: "first"}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Error("--add with an ID already in the file succeeded")
	}
	if err := runKeygen(context.Background(), keygenOptions{Out: filepath.Join(dir, "none"), Add: true}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Error("--add to a missing file succeeded")
	}
	if err := runKeygen(context.Background(), keygenOptions{Out: filepath.Join(dir, "x"), ID: "bad id"}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Error("a key ID with a space was accepted")
	}
}

// encryptedGolden writes a recorded search with every payload encrypted by
// the active key of keyFile, as workers with that key file record it.
func encryptedGolden(t *testing.T, keyFile string) string {
	t.Helper()
	h, err := history.Load(filepath.Join("..", "..", "integration", "testdata", "golden", "search-llm-fresh.json"))
	if err != nil {
		t.Fatal(err)
	}
	codec, err := loadCodec(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	err = proxy.VisitPayloads(context.Background(), h, proxy.VisitPayloadsOptions{
		SkipSearchAttributes: true,
		Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
			return codec.Encode(ps)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := protojson.Marshal(&historypb.History{Events: h.Events})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "encrypted.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAuditAndReplayEncrypted(t *testing.T) {
	dir := t.TempDir()
	keys, other := filepath.Join(dir, "keys"), filepath.Join(dir, "other")
	keygen(t, keygenOptions{Out: keys, ID: "k1"})
	keygen(t, keygenOptions{Out: other, ID: "k1"}) // same ID, different key
	file := encryptedGolden(t, keys)
	ctx := context.Background()

	var out bytes.Buffer
	f := auditOptions{files: []string{file}}
	f.client.EncryptionKeyFile = keys
	if err := runAudit(ctx, f, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Let me think about the stages first.") {
		t.Errorf("audit with the key lacks the decrypted replies:\n%s", out.String())
	}
	out.Reset()
	if err := replayFiles(ctx, &out, []string{file}, keys, workers.RegisterWorkflows); err != nil {
		t.Fatalf("replay with the key: %v\n%s", err, out.String())
	}

	tests := []struct {
		name, keyFile string
		want          []string
	}{
		{"no key file", "", []string{"encrypted with key ID k1", "--encryption-key-file", "GENIUS_ENCRYPTION_KEY_FILE"}},
		{"wrong key", other, []string{"key ID k1 does not decrypt", "holds a different key under ID k1"}},
		{"missing key file", filepath.Join(dir, "nope"), []string{"--encryption-key-file", "no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := auditOptions{files: []string{file}}
			f.client.EncryptionKeyFile = tt.keyFile
			err := runAudit(ctx, f, &bytes.Buffer{}, io.Discard)
			var replayOut bytes.Buffer
			rerr := replayFiles(ctx, &replayOut, []string{file}, tt.keyFile, workers.RegisterWorkflows)
			if rerr == nil {
				t.Error("replay succeeded")
			}
			for _, want := range tt.want {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("audit error %v lacks %q", err, want)
				}
				if !strings.Contains(replayOut.String(), want) {
					t.Errorf("replay output %q lacks %q", replayOut.String(), want)
				}
			}
		})
	}
	// After a rotation that dropped k1, the error names the missing key.
	rotated := filepath.Join(dir, "rotated")
	keygen(t, keygenOptions{Out: rotated, ID: "k2"})
	f.client.EncryptionKeyFile = rotated
	if err := runAudit(ctx, f, &bytes.Buffer{}, io.Discard); err == nil || !strings.Contains(err.Error(), "key ID k1, which is not among the keys given (k2)") {
		t.Errorf("audit with only k2: %v", err)
	}
}

func TestCodecServerBadOptions(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	keygen(t, keygenOptions{Out: keys})
	empty := filepath.Join(dir, "empty-token")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		o    codecServerOptions
		want string
	}{
		{"no key file", codecServerOptions{Listen: "127.0.0.1:0"}, "--encryption-key-file is required"},
		{"origin with a path", codecServerOptions{KeyFile: keys, Listen: "127.0.0.1:0", Origins: []string{"http://localhost:8233/"}}, "--cors-origin"},
		{"empty token file", codecServerOptions{KeyFile: keys, Listen: "127.0.0.1:0", TokenFile: empty}, "is empty"},
		{"bad listen", codecServerOptions{KeyFile: keys, Listen: "nonsense"}, "--listen nonsense"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := runCodecServer(context.Background(), tt.o, &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
