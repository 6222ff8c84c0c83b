package specs

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.json
var files embed.FS

// SchemaFile is the name of the JSON Schema among the embedded files.
const SchemaFile = "schema.json"

// Names lists the ready specs (file names without .json), sorted.
func Names() []string {
	entries, _ := fs.ReadDir(files, ".")
	var names []string
	for _, e := range entries {
		if e.Name() == SchemaFile || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		names = append(names, strings.TrimSuffix(e.Name(), ".json"))
	}
	sort.Strings(names)
	return names
}

// Ready returns the ready spec with the given name (see Names), defaulted
// and validated.
func Ready(name string) (Spec, error) {
	data, err := ReadyJSON(name)
	if err != nil {
		return Spec{}, err
	}
	s, err := Parse(data)
	if err != nil {
		return Spec{}, fmt.Errorf("ready spec %s: %w", name, err)
	}
	return s, nil
}

// ReadyJSON returns the ready spec file's bytes as committed.
func ReadyJSON(name string) ([]byte, error) {
	data, err := files.ReadFile(strings.TrimSuffix(name, ".json") + ".json")
	if err != nil || name == strings.TrimSuffix(SchemaFile, ".json") {
		return nil, fmt.Errorf("no ready spec %q: use one of %s", name, strings.Join(Names(), ", "))
	}
	return data, nil
}

// Schema returns schema.json.
func Schema() []byte {
	data, _ := files.ReadFile(SchemaFile)
	return data
}
