package workflows_test

import (
	"context"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"go.temporal.io/sdk/activity"

	"github.com/genius-nas/genius/activities"
)

// fakeProxyTrain stands in for the GPU worker's proxy training in these
// CPU-only workflow tests (the training engine has its own tests): a
// deterministic accuracy from the architecture, so results can be checked.
func fakeProxyTrain(ctx context.Context, in activities.ProxyTrainInput) (activities.TrainResult, error) {
	sum := 0
	for _, v := range in.Arch {
		sum += v
	}
	return activities.TrainResult{Top1: 0.5 + float64(sum)/1000, Steps: in.Steps}, nil
}

var proxyTrainOptions = activity.RegisterOptions{Name: activities.ProxyTrainName}

type (
	workflowInfo  = workflow.Info
	ctxType       = workflow.Context
	encodedValues = converter.EncodedValues
)
