package codecserver_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/genius-nas/genius/codecserver"
	"github.com/genius-nas/genius/payloadcrypt"
)

const (
	uiOrigin = "http://localhost:8233"
	token    = "codec-token-for-tests"
)

func codec(t *testing.T) *payloadcrypt.Codec {
	t.Helper()
	line, err := payloadcrypt.NewKeyLine("k1", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	r, err := payloadcrypt.ParseKeyring([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	return payloadcrypt.NewCodec(r)
}

func serve(t *testing.T, o codecserver.Options) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(codecserver.New(o))
	t.Cleanup(s.Close)
	return s
}

func post(t *testing.T, url string, body []byte, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// TestDecodeEncode: what the UI posts (protojson Payloads) comes back
// decrypted, and /encode output decodes again.
func TestDecodeEncode(t *testing.T) {
	c := codec(t)
	s := serve(t, codecserver.Options{Codec: c, AllowedOrigins: []string{uiOrigin}, Token: token})
	plain, _ := converter.GetDefaultDataConverter().ToPayload(map[string]string{"reply": "[1, 0, 2]"})
	enc, err := c.Encode([]*commonpb.Payload{plain})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := protojson.Marshal(&commonpb.Payloads{Payloads: enc})
	auth := map[string]string{"Authorization": "Bearer " + token, "Origin": uiOrigin, "X-Namespace": "default"}
	resp := post(t, s.URL+"/decode", body, auth)
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("/decode: %s %s", resp.Status, b)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != uiOrigin {
		t.Errorf("Access-Control-Allow-Origin %q, want %q", got, uiOrigin)
	}
	var out commonpb.Payloads
	b, _ := io.ReadAll(resp.Body)
	if err := protojson.Unmarshal(b, &out); err != nil {
		t.Fatalf("decode response %s: %v", b, err)
	}
	var v map[string]string
	if err := converter.GetDefaultDataConverter().FromPayload(out.Payloads[0], &v); err != nil || v["reply"] != "[1, 0, 2]" {
		t.Fatalf("decoded %v, %v", v, err)
	}

	resp = post(t, s.URL+"/encode", b, auth)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/encode: %s", resp.Status)
	}
	var reenc commonpb.Payloads
	b, _ = io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &reenc); err != nil {
		t.Fatal(err)
	}
	if id, ok := payloadcrypt.KeyID(reenc.Payloads[0]); !ok || id != "k1" {
		t.Fatalf("/encode gave a payload with key ID %q (encrypted %v)", id, ok)
	}
	if bytes.Contains(b, []byte("[1, 0, 2]")) {
		t.Error("/encode answer holds the plaintext")
	}
}

func TestAuthCORSAndErrors(t *testing.T) {
	c := codec(t)
	s := serve(t, codecserver.Options{Codec: c, AllowedOrigins: []string{uiOrigin}, Token: token, MaxBodyBytes: 1024})
	enc, _ := c.Encode(nil)
	empty, _ := protojson.Marshal(&commonpb.Payloads{Payloads: enc})

	for name, h := range map[string]map[string]string{
		"no token":    {},
		"wrong token": {"Authorization": "Bearer nope"},
		"not bearer":  {"Authorization": "Basic " + token},
	} {
		if resp := post(t, s.URL+"/decode", empty, h); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status %s, want 401", name, resp.Status)
		}
	}
	ok := map[string]string{"Authorization": "Bearer " + token}
	if resp := post(t, s.URL+"/decode", empty, ok); resp.StatusCode != http.StatusOK {
		t.Errorf("with the token: %s", resp.Status)
	}

	// Preflight: allowed origin gets the methods and headers, others 403.
	pre := func(origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, s.URL+"/decode", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := pre(uiOrigin); resp.StatusCode != http.StatusNoContent ||
		resp.Header.Get("Access-Control-Allow-Origin") != uiOrigin ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "X-Namespace") {
		t.Errorf("preflight from the UI: %s %v", resp.Status, resp.Header)
	}
	if resp := pre("http://evil.example"); resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin: %s %v", resp.Status, resp.Header)
	}
	if resp := post(t, s.URL+"/decode", empty, map[string]string{"Authorization": "Bearer " + token, "Origin": "http://evil.example"}); resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("a request from another origin got CORS headers")
	}

	// An unknown key ID is a 400 that names it; an oversized body is refused.
	other := codec(t)
	p, _ := converter.GetDefaultDataConverter().ToPayload("x")
	foreign, _ := other.Encode([]*commonpb.Payload{p})
	foreign[0].Metadata[payloadcrypt.MetadataKeyID] = []byte("k9")
	body, _ := protojson.Marshal(&commonpb.Payloads{Payloads: foreign})
	resp := post(t, s.URL+"/decode", body, ok)
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(msg), "key ID k9") {
		t.Errorf("unknown key: %s %s", resp.Status, msg)
	}
	big := append([]byte(`{"payloads":[{"data":"`), bytes.Repeat([]byte("A"), 4096)...)
	if resp := post(t, s.URL+"/decode", append(big, `"}]}`...), ok); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("oversized body: %s", resp.Status)
	}
	if resp := post(t, s.URL+"/other", empty, ok); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/other: %s", resp.Status)
	}
	if resp, err := http.Get(s.URL + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}
