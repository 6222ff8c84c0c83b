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

var shelf = Shelf{Files: files, Kind: "retrain"}

// Names lists the ready specs (file names without .json), sorted.
func Names() []string { return shelf.Names() }

// Ready returns the ready spec with that name, defaulted and validated.
func Ready(name string) (Spec, error) { return shelf.Ready(name) }

// Shelf is a package's embedded ready specs in the retrain format; the
// transfer specs share it.
type Shelf struct {
	Files fs.FS
	Kind  string // names the specs in errors: "no ready <Kind> spec"
}

// Names lists the ready specs (file names without .json), sorted.
func (sh Shelf) Names() []string {
	entries, _ := fs.ReadDir(sh.Files, ".")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".json"))
	}
	sort.Strings(names)
	return names
}

// Ready returns the ready spec with that name, defaulted and validated.
func (sh Shelf) Ready(name string) (Spec, error) {
	data, err := fs.ReadFile(sh.Files, strings.TrimSuffix(name, ".json")+".json")
	if err != nil {
		return Spec{}, fmt.Errorf("no ready %s spec %q: use one of %s, or a file path", sh.Kind, name, strings.Join(sh.Names(), ", "))
	}
	s, err := Parse(data)
	if err != nil {
		return Spec{}, fmt.Errorf("ready %s spec %s: %w", sh.Kind, name, err)
	}
	return s, nil
}
