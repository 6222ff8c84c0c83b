package workflows

import (
	"bufio"
	"fmt"
	"go/build"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/genius-nas/genius/testenv"
)

// moduleRoot finds the go.mod above the package directory and returns its
// directory and module path.
func moduleRoot(t *testing.T) (dir, module string) {
	t.Helper()
	dir, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return dir, strings.Trim(strings.TrimSpace(m), `"`)
		}
	}
	t.Fatalf("%s/go.mod has no module line", dir)
	return "", ""
}

// moduleDeps walks the non-test imports of pkg inside the module with
// go/build (no go command needed): module packages are read from their
// directories, anything else is a leaf. It returns every dependency with
// the chain of imports that reaches it.
func moduleDeps(t *testing.T, root, module, pkg string) map[string][]string {
	t.Helper()
	chains := map[string][]string{}
	queue := [][]string{{pkg}}
	for len(queue) > 0 {
		chain := queue[0]
		queue = queue[1:]
		path := chain[len(chain)-1]
		rel, local := strings.CutPrefix(path, module)
		if !local || (rel != "" && !strings.HasPrefix(rel, "/")) {
			continue
		}
		p, err := build.Default.ImportDir(filepath.Join(root, filepath.FromSlash(rel)), 0)
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		for _, imp := range p.Imports {
			if _, seen := chains[imp]; seen || imp == pkg {
				continue
			}
			next := append(slices.Clip(chain), imp)
			chains[imp] = next
			queue = append(queue, next)
		}
	}
	return chains
}

// forbidden reports why a workflow may not depend on path ("" if it may).
func forbidden(module, path string) string {
	under := func(p string) bool { return path == p || strings.HasPrefix(path, p+"/") }
	for _, p := range []string{"activities/searchact", "activities/trainact", "training", "storage", "bench", "prompt"} {
		if under(module + "/" + p) {
			return "an activity implementation or its dependency"
		}
	}
	if under(module+"/llm") && !under(module+"/llm/chat") {
		return "the LLM client (use package llm/chat for messages)"
	}
	for _, p := range []string{"github.com/aws", "github.com/sashabaranov"} {
		if under(p) {
			return "a client library of an activity"
		}
	}
	return ""
}

func violations(module string, deps map[string][]string) []string {
	var bad []string
	for dep, chain := range deps {
		if why := forbidden(module, dep); why != "" {
			bad = append(bad, fmt.Sprintf("%s is %s; imported via %s", dep, why, strings.Join(chain, " → ")))
		}
	}
	slices.Sort(bad)
	return bad
}

// TestWorkflowsImportNoActivityImplementations keeps the determinism
// boundary (ARCHITECTURE.md): workflows call activities by name with the typed inputs of package
// activities and never pull in the training engine, storage or clients.
func TestWorkflowsImportNoActivityImplementations(t *testing.T) {
	root, module := moduleRoot(t)
	pkg := module + "/workflows"
	deps := moduleDeps(t, root, module, pkg)
	if _, ok := deps[module+"/activities"]; !ok {
		t.Fatalf("the walk did not reach %s/activities; deps: %v", module, deps)
	}
	for _, bad := range violations(module, deps) {
		t.Errorf("%s must not depend on %s", pkg, bad)
	}
}

// TestImportWalkFindsViolations checks the walk on a package that is meant
// to import the implementations (the binary), so the test above
// cannot pass by walking nothing.
func TestImportWalkFindsViolations(t *testing.T) {
	root, module := moduleRoot(t)
	bad := violations(module, moduleDeps(t, root, module, module+"/cmd/genius"))
	for _, want := range []string{module + "/activities/searchact", module + "/activities/trainact", module + "/training", module + "/llm", "github.com/sashabaranov/go-openai"} {
		if !slices.ContainsFunc(bad, func(s string) bool { return strings.HasPrefix(s, want+" ") }) {
			t.Errorf("walking %s/cmd/genius did not flag %s; flagged: %v", module, want, bad)
		}
	}
}
