package retrain

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.json
var files embed.FS

// Names lists the ready specs (file names without .json), sorted.
func Names() []string {
	entries, _ := fs.ReadDir(files, ".")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".json"))
	}
	sort.Strings(names)
	return names
}

// Ready returns the ready spec with that name, defaulted and validated.
func Ready(name string) (Spec, error) {
	data, err := files.ReadFile(strings.TrimSuffix(name, ".json") + ".json")
	if err != nil {
		return Spec{}, fmt.Errorf("no ready retrain spec %q: use one of %s, or a file path", name, strings.Join(Names(), ", "))
	}
	s, err := Parse(data)
	if err != nil {
		return Spec{}, fmt.Errorf("ready retrain spec %s: %w", name, err)
	}
	return s, nil
}
