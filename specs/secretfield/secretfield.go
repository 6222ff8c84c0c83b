// Package secretfield finds key-like fields (key, token, secret, password)
// in JSON documents that end up in workflow histories, where a secret would
// be kept, replicated and shown to everyone who can read the history.
//
// A field the schema defines is data, whatever its name (an architecture's
// "key", say); a field the schema does not define, at any depth, is checked
// by name, as is every field inside a value the schema does not describe
// (an unknown object, a map, an interface).
package secretfield

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// words are the name parts that mark a secret; a part also matches when it
// ends in one ("apikey", "authtoken", "clientsecret") or is a plural of key,
// secret or password ("tokens" is left alone: token counts are common).
var words = []string{"key", "token", "secret", "password", "passwd", "credential"}

// Is reports whether a field name looks like it holds a secret, in any
// letter case and spelling: apiKey, OPENAI_TOKEN, client-secret, Password.
func Is(name string) bool {
	for _, part := range split(name) {
		for _, w := range words {
			if strings.HasSuffix(part, w) || (w != "token" && part == w+"s") {
				return true
			}
		}
	}
	return false
}

// split breaks a name into lower-case parts at non-letters and at
// lower-to-upper case changes: "openAIApiKey" gives openai, api, key.
func split(name string) []string {
	var parts []string
	var cur []rune
	rs := []rune(name)
	flush := func() {
		if len(cur) > 0 {
			parts = append(parts, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	for i, r := range rs {
		if !unicode.IsLetter(r) {
			flush()
			continue
		}
		if unicode.IsUpper(r) && i > 0 && len(cur) > 0 {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || (unicode.IsUpper(prev) && nextLower) {
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return parts
}

// Find returns the paths (dot-separated, "[i]" for array elements, sorted)
// of the key-like fields in the JSON document data that the Go type schema
// does not define. A document that is not valid JSON has none: decoding it
// reports that.
func Find(data []byte, schema reflect.Type) []string {
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil
	}
	var found []string
	walk(doc, schema, "", &found)
	slices.Sort(found)
	return found
}

var rawMessage = reflect.TypeFor[json.RawMessage]()

// walk visits v; t is its type in the schema, nil where the schema says
// nothing (every name is then checked).
func walk(v any, t reflect.Type, path string, found *[]string) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (t == rawMessage || t.Kind() == reflect.Interface ||
		(t.Kind() == reflect.Struct && reflect.PointerTo(t).Implements(unmarshaler))) {
		t = nil // free-form, or decoded by its own rules: check every name
	}
	switch v := v.(type) {
	case []any:
		var et reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			et = t.Elem()
		}
		for i, e := range v {
			walk(e, et, path+"["+strconv.Itoa(i)+"]", found)
		}
	case map[string]any:
		for name, e := range v {
			p := name
			if path != "" {
				p = path + "." + name
			}
			var ft reflect.Type
			known := false
			switch {
			case t != nil && t.Kind() == reflect.Struct:
				ft, known = field(t, name)
			case t != nil && t.Kind() == reflect.Map:
				ft = t.Elem() // map keys are data, and may be secrets
			}
			if !known && Is(name) {
				*found = append(*found, p)
			}
			walk(e, ft, p, found)
		}
	}
}

var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

// field finds the struct field encoding/json would decode name into: an
// exact tag or field name first, else a case-insensitive match, looking
// through embedded structs.
func field(t reflect.Type, name string) (reflect.Type, bool) {
	var fold reflect.Type
	foldOK := false
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		jn, _, _ := strings.Cut(tag, ",")
		if jn == "" {
			if ft := f.Type; f.Anonymous && (ft.Kind() == reflect.Struct || ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct) {
				continue // flattened: VisibleFields lists its fields
			}
			jn = f.Name
		}
		if jn == name {
			return f.Type, true
		}
		if !foldOK && strings.EqualFold(jn, name) {
			fold, foldOK = f.Type, true
		}
	}
	return fold, foldOK
}
