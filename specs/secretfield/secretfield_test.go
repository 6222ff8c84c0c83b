package secretfield

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
)

func TestIs(t *testing.T) {
	for name, want := range map[string]bool{
		"key": true, "KEY": true, "api_key": true, "apiKey": true, "APIKey": true, "apikey": true,
		"OPENAI_TOKEN": true, "authToken": true, "client-secret": true, "Password": true, "db.passwd": true,
		"accessKeys": true, "secrets": true, "aws_credentials": true,
		"max_tokens": false, "prompt_tokens": false, "name": false, "keyword": false, "seed": false,
		"monkeying": false, "": false, "tokenizer": false,
	} {
		if got := Is(name); got != want {
			t.Errorf("Is(%q) = %v, want %v (parts %q)", name, got, want, split(name))
		}
	}
}

type inner struct {
	Key   string `json:"key"` // an architecture key: data, not a secret
	Model string `json:"model,omitempty"`
}

type embedded struct {
	Space string `json:"space"`
	Inner inner  `json:"inner"`
}

type doc struct {
	embedded
	Items  []inner            `json:"items"`
	Labels map[string]string  `json:"labels,omitempty"`
	Extra  json.RawMessage    `json:"extra,omitempty"`
	Any    any                `json:"any,omitempty"`
	Ptr    *inner             `json:"ptr,omitempty"`
	Named  map[string]*inner  `json:"named,omitempty"`
	Skip   string             `json:"-"`
	Tagged map[string][]inner `json:"tagged,omitempty"`
}

func TestFind(t *testing.T) {
	schema := reflect.TypeFor[doc]()
	for _, tc := range []struct {
		name, json string
		want       []string
	}{
		{"clean", `{"space":"x","inner":{"key":"k","model":"m"},"items":[{"key":"a"}],"ptr":{"KEY":"b"}}`, nil},
		{"top level", `{"space":"x","apiKey":"sk-1"}`, []string{"apiKey"}},
		{"any case", `{"OPENAI_TOKEN":"t","Password":"p"}`, []string{"OPENAI_TOKEN", "Password"}},
		{"nested unknown", `{"llm":{"Password":"p","url":"u"}}`, []string{"llm.Password"}},
		{"deep unknown", `{"a":[{"b":{"client_secret":1}}]}`, []string{"a[0].b.client_secret"}},
		{"in a known struct", `{"inner":{"key":"k","token":"t"}}`, []string{"inner.token"}},
		{"in an array element", `{"items":[{"key":"k"},{"secret":"s"}]}`, []string{"items[1].secret"}},
		{"map keys are data", `{"labels":{"api_key":"x","team":"y"}}`, []string{"labels.api_key"}},
		{"map of structs", `{"named":{"a":{"key":"k","password":"p"}}}`, []string{"named.a.password"}},
		{"raw message", `{"extra":{"key":"k"}}`, []string{"extra.key"}},
		{"interface", `{"any":[{"Token":"k"}]}`, []string{"any[0].Token"}},
		{"ignored field", `{"Skip":{"secret":"s"}}`, []string{"Skip.secret"}},
		{"map of slices", `{"tagged":{"x":[{"key":"k","apikey":"s"}]}}`, []string{"tagged.x[0].apikey"}},
		{"not json", `{"apiKey":`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Find([]byte(tc.json), schema)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("Find(%s) = %q, want %q", tc.json, got, want)
			}
		})
	}
}
