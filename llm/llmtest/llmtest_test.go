package llmtest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/genius-nas/genius/llm/llmtest"
)

func post(t *testing.T, url string, body string, timeout time.Duration) (*http.Response, map[string]any) {
	t.Helper()
	c := &http.Client{Timeout: timeout}
	resp, err := c.Post(url+"/chat/completions", "application/json", bytes.NewBufferString(body))
	if err != nil {
		return nil, nil
	}
	defer resp.Body.Close()
	var v map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&v)
	return resp, v
}

func TestScriptRecordsAndAnswers(t *testing.T) {
	srv := llmtest.New(t, llmtest.Reply("first"), llmtest.Status(http.StatusTooManyRequests))
	srv.Push(llmtest.Reply("pushed"))
	body := `{"model":"m","messages":[{"role":"user","content":"hello there"}],"temperature":0.25}`
	resp, v := post(t, srv.URL, body, 5*time.Second)
	if resp == nil || resp.StatusCode != 200 {
		t.Fatalf("response %v", resp)
	}
	choice := v["choices"].([]any)[0].(map[string]any)
	if choice["message"].(map[string]any)["content"] != "first" {
		t.Errorf("reply %v", v)
	}
	if u := v["usage"].(map[string]any); u["prompt_tokens"].(float64) != 2 || u["completion_tokens"].(float64) != 1 {
		t.Errorf("usage %v", u)
	}
	if resp, _ := post(t, srv.URL, body, 5*time.Second); resp == nil || resp.StatusCode != 429 {
		t.Errorf("want 429, got %v", resp)
	}
	if _, v := post(t, srv.URL, body, 5*time.Second); !strings.Contains(
		v["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"].(string), "pushed") {
		t.Errorf("pushed step not used: %v", v)
	}
	reqs := srv.Requests()
	if len(reqs) != 3 || reqs[0].Model != "m" || reqs[0].Last() != "hello there" || *reqs[0].Temperature != 0.25 || srv.Remaining() != 0 {
		t.Errorf("recorded %+v", reqs)
	}
}

func TestHangReleasedByClientTimeout(t *testing.T) {
	srv := llmtest.New(t, llmtest.Step{Hang: true})
	if resp, _ := post(t, srv.URL, `{"model":"m","messages":[]}`, 100*time.Millisecond); resp != nil {
		t.Errorf("hang answered %v", resp.Status)
	}
	if len(srv.Requests()) != 1 {
		t.Error("hung request not recorded")
	}
}
