package workflows

import (
	"encoding/json"
	"reflect"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/genius-nas/genius/specs"
	"github.com/genius-nas/genius/specs/secretfield"
)

// secretFieldsChange versions the refusal of inputs with key-like fields:
// a history from before it ran such an input, and must still replay.
const secretFieldsChange = "refuse-secret-fields"

// refuseSecrets fails the workflow when its input held key-like fields
// (paths from package secretfield), reported by describe. An input without
// any records no version marker.
func refuseSecrets(ctx workflow.Context, paths []string, describe func([]string) error) error {
	if len(paths) == 0 || workflow.GetVersion(ctx, secretFieldsChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	return temporal.NewNonRetryableApplicationError("invalid workflow input: "+describe(paths).Error(), ErrInvalidSpec, nil)
}

// ExperimentInput is GeniusExperiment's input: a spec as it stands in its
// file.
type ExperimentInput struct {
	specs.Spec

	// secretFields are the key-like fields the input held that the schema
	// does not define: the experiment refuses to start.
	secretFields []string
}

// UnmarshalJSON decodes the input as encoding/json would and notes its
// key-like fields.
func (in *ExperimentInput) UnmarshalJSON(data []byte) error {
	type plain ExperimentInput // without this method
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	p.secretFields = secretfield.Find(data, reflect.TypeFor[plain]())
	*in = ExperimentInput(p)
	return nil
}
