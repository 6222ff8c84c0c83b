package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"github.com/genius-nas/genius/llm"
	"github.com/genius-nas/genius/specs"
)

// What the commands that submit workflows (search, experiment, retrain)
// share: workflow IDs and the check that workers can reach an LLM.

// searchName names a search in its generated workflow ID: the spec's name,
// else its space.
func searchName(s specs.Spec) string {
	if s.Name != "" {
		return s.Name
	}
	return s.Space
}

// newWorkflowID returns genius-KIND-TIME-RANDOM, unique enough for IDs
// nobody chose.
func newWorkflowID(kind string) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("genius-%s-%s-%s", kind, time.Now().UTC().Format("20060102-150405"), hex.EncodeToString(b[:]))
}

// checkLLMEndpoint fails fast when the spec asks for the llm proposer and
// this command's environment names no endpoint: the workers would fail on
// the first proposal. verb is the command that suggests a baseline instead.
func checkLLMEndpoint(s specs.Spec, verb, specPath string) error {
	if s.WithDefaults().Proposer.Kind != specs.ProposerLLM || os.Getenv(llm.EnvAPIKey) != "" || os.Getenv(llm.EnvBaseURL) != "" {
		return nil
	}
	return fmt.Errorf(`the llm proposer needs an API key: set %s (and %s for an OpenAI-compatible server other than OpenAI's) in the environment of the workers and of this command.
To run a baseline %s on the same machinery instead:
  genius %s --spec %s --proposer random     (or --proposer evolution)`, llm.EnvAPIKey, llm.EnvBaseURL, verb, verb, specPath)
}
