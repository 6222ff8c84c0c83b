package payloadcrypt_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/genius-nas/genius/payloadcrypt"
)

// ring builds a keyring from lines made by NewKeyLine, returning the lines
// too.
func ring(t *testing.T, ids ...string) (*payloadcrypt.Keyring, []string) {
	t.Helper()
	var lines []string
	for _, id := range ids {
		l, err := payloadcrypt.NewKeyLine(id, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	r, err := payloadcrypt.ParseKeyring([]byte(payloadcrypt.FileHeader + strings.Join(lines, "")))
	if err != nil {
		t.Fatal(err)
	}
	return r, lines
}

func parse(t *testing.T, lines ...string) *payloadcrypt.Keyring {
	t.Helper()
	r, err := payloadcrypt.ParseKeyring([]byte(strings.Join(lines, "")))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type reply struct {
	Prompt string `json:"prompt"`
	Reply  string `json:"reply"`
}

const secretText = "Let me think about the stages first: [1, 0, 2]"

func TestRoundTripHidesPlaintext(t *testing.T) {
	r, _ := ring(t, "k1")
	dc := payloadcrypt.DataConverter(payloadcrypt.NewCodec(r))
	p, err := dc.ToPayload(reply{Prompt: "propose an architecture", Reply: secretText})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(p.GetData(), []byte("stages")) || bytes.Contains(p.GetData(), []byte("propose")) {
		t.Fatal("encrypted payload holds the plaintext")
	}
	if id, ok := payloadcrypt.KeyID(p); !ok || id != "k1" {
		t.Fatalf("KeyID = %q, %v; want k1, true", id, ok)
	}
	if got := string(p.GetMetadata()[converter.MetadataEncoding]); got != payloadcrypt.Encoding {
		t.Errorf("encoding %q", got)
	}
	var back reply
	if err := dc.FromPayload(p, &back); err != nil {
		t.Fatal(err)
	}
	if back.Reply != secretText {
		t.Errorf("decoded reply %q", back.Reply)
	}
	// Same plaintext twice: different ciphertexts (fresh nonces).
	p2, _ := dc.ToPayload(reply{Prompt: "propose an architecture", Reply: secretText})
	if bytes.Equal(p.GetData(), p2.GetData()) {
		t.Error("two encryptions of one value are identical")
	}
}

func TestPlainPayloadsPassThrough(t *testing.T) {
	r, _ := ring(t, "k1")
	plain, _ := converter.GetDefaultDataConverter().ToPayload("recorded before encryption")
	out, err := payloadcrypt.NewCodec(r).Decode([]*commonpb.Payload{plain})
	if err != nil {
		t.Fatal(err)
	}
	if out[0] != plain {
		t.Error("an unencrypted payload was changed")
	}
}

func TestRotation(t *testing.T) {
	_, lines := ring(t, "old", "new")
	oldRing := parse(t, lines[0])
	both := parse(t, lines[0], lines[1])
	newOnly := parse(t, lines[1])
	if both.ActiveID() != "new" {
		t.Fatalf("active key %s, want the last one (new)", both.ActiveID())
	}

	old := payloadcrypt.NewCodec(oldRing)
	enc, err := old.Encode(payloads(t, "a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	// After rotation: new payloads use the new key, old ones still decrypt.
	rotated := payloadcrypt.NewCodec(both)
	fresh, err := rotated.Encode(payloads(t, "c"))
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := payloadcrypt.KeyID(fresh[0]); id != "new" {
		t.Errorf("after rotation a payload is encrypted with %s, want new", id)
	}
	dec, err := rotated.Decode(append(enc, fresh...))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"a", "b", "c"} {
		var s string
		if err := converter.GetDefaultDataConverter().FromPayload(dec[i], &s); err != nil || s != want {
			t.Errorf("payload %d = %q, %v; want %q", i, s, err, want)
		}
	}
	// Once the old key is dropped, its payloads name it in the error.
	_, err = payloadcrypt.NewCodec(newOnly).Decode(enc)
	var unknown *payloadcrypt.UnknownKeyError
	if !errors.As(err, &unknown) || unknown.KeyID != "old" {
		t.Fatalf("decode with the old key dropped: %v; want UnknownKeyError for old", err)
	}
	if !strings.Contains(err.Error(), "key ID old") || !strings.Contains(err.Error(), "new") {
		t.Errorf("error %q should name the missing key and the known ones", err)
	}
}

func TestTamperAndWrongKey(t *testing.T) {
	r, lines := ring(t, "k1", "k2")
	c := payloadcrypt.NewCodec(r)
	// A different secret under the same ID.
	other, _ := ring(t, "k2")
	tests := []struct {
		name   string
		codec  *payloadcrypt.Codec
		modify func(p *commonpb.Payload)
	}{
		{"flipped ciphertext bit", c, func(p *commonpb.Payload) { p.Data[len(p.Data)-20] ^= 1 }},
		{"flipped nonce bit", c, func(p *commonpb.Payload) { p.Data[0] ^= 0x80 }},
		{"truncated", c, func(p *commonpb.Payload) { p.Data = p.Data[:10] }},
		{"relabelled with another known key", c, func(p *commonpb.Payload) { p.Metadata[payloadcrypt.MetadataKeyID] = []byte("k1") }},
		{"wrong key under the same ID", payloadcrypt.NewCodec(other), func(*commonpb.Payload) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := c.Encode(payloads(t, secretText))
			if err != nil {
				t.Fatal(err)
			}
			tt.modify(enc[0])
			_, err = tt.codec.Decode(enc)
			var de *payloadcrypt.DecryptError
			if !errors.As(err, &de) {
				t.Fatalf("Decode = %v, want a DecryptError", err)
			}
			if strings.Contains(err.Error(), secretText) {
				t.Error("error quotes the plaintext")
			}
		})
	}
	for _, l := range lines {
		secret := strings.Fields(l)[1]
		if strings.Contains(fmt.Sprintf("%v %+v %#v %s", r, r, r, c.Keyring()), secret) {
			t.Error("fmt prints key material")
		}
	}
}

func TestParseKeyringErrors(t *testing.T) {
	_, lines := ring(t, "good")
	secret := strings.Fields(lines[0])[1]
	short := "c2hvcnQ=" // "short"
	tests := []struct{ name, data, want string }{
		{"empty", "# only a comment\n\n", "holds no key"},
		{"one field", "lonely\n", "found 1 fields"},
		{"bad id", "bad/id " + secret + "\n", "bad key ID"},
		{"not base64", "k1 " + secret[:10] + "!!!\n", "not standard base64"},
		{"wrong length", "k1 " + short + "\n", "5 bytes, want 32"},
		{"duplicate", lines[0] + lines[0], "appears twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := payloadcrypt.ParseKeyring([]byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret[:10]) {
				t.Error("error quotes key material")
			}
		})
	}
}

func TestLoadKeyringAndKeyID(t *testing.T) {
	p := filepath.Join(t.TempDir(), "keys")
	id, err := payloadcrypt.NewKeyID(time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "genius-20260102T150405Z-") || !payloadcrypt.ValidKeyID(id) {
		t.Errorf("key ID %q", id)
	}
	l, _ := payloadcrypt.NewKeyLine(id, rand.Reader)
	if err := os.WriteFile(p, []byte(payloadcrypt.FileHeader+l), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := payloadcrypt.LoadKeyring(p)
	if err != nil {
		t.Fatal(err)
	}
	if r.ActiveID() != id {
		t.Errorf("active %s, want %s", r.ActiveID(), id)
	}
	if _, err := payloadcrypt.LoadKeyring(p + ".missing"); err == nil {
		t.Error("missing file loaded")
	}
}

func payloads(t *testing.T, values ...string) []*commonpb.Payload {
	t.Helper()
	var out []*commonpb.Payload
	for _, v := range values {
		p, err := converter.GetDefaultDataConverter().ToPayload(v)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}
