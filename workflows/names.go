package workflows

import (
	"go.temporal.io/sdk/temporal"

	"github.com/genius-nas/genius/taskqueue"
)

// Registered names, task queue, query and signal.
const (
	SearchName     = "GeniusSearch"
	ExperimentName = "GeniusExperiment"
	// TaskQueue is where CPU workers run the workflows and search
	// activities.
	TaskQueue = taskqueue.CPU
	// ProgressQuery returns a Progress (GeniusSearch) or ExperimentProgress
	// (GeniusExperiment).
	ProgressQuery = "progress"
	// StopSignal ends a search after the step in flight (an activity in
	// flight is cancelled); its optional payload is a reason. Sent to an
	// experiment it stops every trial.
	StopSignal = "stop"
)

// Search attribute keys upserted by GeniusSearch (spec field
// search_attributes, default true). The namespace must have them: see
// SearchAttributes and DevServerSearchAttributeFlags.
var (
	BenchmarkAttribute    = temporal.NewSearchAttributeKeyKeyword("GeniusBenchmark")
	ProposerAttribute     = temporal.NewSearchAttributeKeyKeyword("GeniusProposer")
	BestAccuracyAttribute = temporal.NewSearchAttributeKeyFloat64("GeniusBestAccuracy")
	// LLMCostAttribute is an llm search's cost so far in US dollars.
	LLMCostAttribute = temporal.NewSearchAttributeKeyFloat64("GeniusLLMCostUSD")
)

// SearchAttribute is a custom search attribute's name and type as the
// Temporal CLI spells them (temporal operator search-attribute create
// --name N --type T; temporal server start-dev --search-attribute N=T).
type SearchAttribute struct {
	Name string
	Type string
}

// SearchAttributes lists the custom search attributes genius uses.
func SearchAttributes() []SearchAttribute {
	return []SearchAttribute{
		{Name: BenchmarkAttribute.GetName(), Type: "Keyword"},
		{Name: ProposerAttribute.GetName(), Type: "Keyword"},
		{Name: BestAccuracyAttribute.GetName(), Type: "Double"},
		{Name: LLMCostAttribute.GetName(), Type: "Double"},
	}
}

// DevServerSearchAttributeFlags returns the flags that register
// SearchAttributes on `temporal server start-dev`.
func DevServerSearchAttributeFlags() []string {
	var flags []string
	for _, a := range SearchAttributes() {
		flags = append(flags, "--search-attribute", a.Name+"="+a.Type)
	}
	return flags
}
