package llm_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/genius-nas/genius/llm"
)

// OPENAI_BASE_URL can carry credentials in its user info or query; neither
// may reach a log line (Config.String) or an error.
func TestBaseURLCredentialsHidden(t *testing.T) {
	const user, pass, query = "proxyuser-7f3a", "proxypass-91c2", "qsecret-5d1e"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // a refused connection: net/http quotes the URL in its error
	base := "http://" + user + ":" + pass + "@" + addr + "/v1?api-key=" + query + "#frag"

	s := llm.Config{BaseURL: base}.String()
	if !strings.Contains(s, addr+"/v1") {
		t.Errorf("String() = %q, want the host and path", s)
	}
	c := llm.New(llm.Config{APIKey: testKey, BaseURL: base, Timeout: 5 * time.Second})
	_, chatErr := c.Chat(context.Background(), simple())
	if chatErr == nil {
		t.Fatal("chat with a closed port succeeded")
	}
	for what, text := range map[string]string{"String()": s, "error": chatErr.Error()} {
		for _, secret := range []string{user, pass, query, "frag", testKey} {
			if strings.Contains(text, secret) {
				t.Errorf("%s %q holds %q", what, text, secret)
			}
		}
	}
	bad := "http://user:" + pass + "%zz@" + addr + "/v1"
	if got := (llm.Config{BaseURL: bad}).String(); strings.Contains(got, pass) {
		t.Errorf("an unparseable base URL is shown: %q", got)
	}
	_, err = llm.New(llm.Config{BaseURL: bad, Timeout: 5 * time.Second}).Chat(context.Background(), simple())
	if err == nil || strings.Contains(err.Error(), pass) {
		t.Errorf("chat with an unparseable base URL: error %v, want one without the password", err)
	}
}
