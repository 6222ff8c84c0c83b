package workflows_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/genius-nas/genius/workflows"
)

// cliPayload is what `temporal workflow start --input-file F` sends: the
// file's bytes as one json/plain payload.
func cliPayload(data []byte) *commonpb.Payload {
	return &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: data}
}

// TestSpecFileIsWorkflowInput decodes every ready spec file the way the
// workflow receives it from the Temporal CLI and runs one of them.
func TestSpecFileIsWorkflowInput(t *testing.T) {
	files, err := filepath.Glob("../specs/*.json")
	if err != nil || len(files) < 9 {
		t.Fatalf("spec files: %v %v", files, err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "schema.json") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var in workflows.SearchInput
		if err := converter.GetDefaultDataConverter().FromPayload(cliPayload(data), &in); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if in.Space == "" || in.Iterations == 0 || in.State != nil {
			t.Errorf("%s decoded to %+v", f, in)
		}
		if err := in.Spec.WithDefaults().Validate(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}

	data, err := os.ReadFile("../specs/nas-bench-macro.json")
	if err != nil {
		t.Fatal(err)
	}
	var in workflows.SearchInput
	if err := converter.GetDefaultDataConverter().FromPayload(cliPayload([]byte(strings.Replace(string(data), `"kind": "llm"`, `"kind": "random"`, 1))), &in); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	res, err := h.run(in.Spec, nil)
	if err != nil || len(res.Iterations) != 10 || res.Proposer != "random" {
		t.Fatalf("%v %+v", err, res)
	}
}

func TestKeyInSpecIsRefused(t *testing.T) {
	h := newHarness(t)
	h.env.ExecuteWorkflow(workflows.SearchName, workflows.SearchInput{Spec: randomSpec(1), APIKey: "sk-pasted"})
	err := h.env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "OPENAI_API_KEY") || strings.Contains(err.Error(), "sk-pasted") {
		t.Errorf("err = %v", err)
	}
}
