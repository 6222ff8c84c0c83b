package history_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/genius-nas/genius/history"
	"github.com/genius-nas/genius/payloadcrypt"
	"github.com/genius-nas/genius/workers"
)

// TestDecodeEncryptedGolden encrypts every payload of a recorded search, as
// a worker with a key file would have written it, and checks that Decode
// gives back a history that replays and audits like the original.
func TestDecodeEncryptedGolden(t *testing.T) {
	ctx := context.Background()
	line, err := payloadcrypt.NewKeyLine("k1", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := payloadcrypt.ParseKeyring([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	codec := payloadcrypt.NewCodec(ring)
	data := load(t, "search-llm-fresh.json")
	plain, err := history.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := history.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	err = proxy.VisitPayloads(ctx, enc, proxy.VisitPayloadsOptions{
		SkipSearchAttributes: true,
		Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
			return codec.Encode(ps)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	encJSON, err := protojson.Marshal(enc)
	if err != nil {
		t.Fatal(err)
	}
	for _, clear := range []string{"Let me think about the stages", "nas-bench-macro", "accuracy"} {
		if strings.Contains(string(encJSON), clear) {
			t.Errorf("encrypted history holds %q", clear)
		}
	}
	if ids, err := payloadcrypt.KeyIDs(ctx, enc); err != nil || !reflect.DeepEqual(ids, []string{"k1"}) {
		t.Fatalf("KeyIDs = %v, %v; want [k1]", ids, err)
	}

	if err := history.Decode(ctx, enc, codec); err != nil {
		t.Fatal(err)
	}
	if ids, _ := payloadcrypt.KeyIDs(ctx, enc); len(ids) != 0 {
		t.Errorf("decoded history still has encrypted payloads (%v)", ids)
	}
	want, err := history.Build(plain)
	if err != nil {
		t.Fatal(err)
	}
	got, err := history.Build(enc)
	if err != nil {
		t.Fatal(err)
	}
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(got)
	if string(wj) != string(gj) {
		t.Errorf("trail of the decoded history differs from the original:\n%s\n%s", gj, wj)
	}
	if err := history.Replay(enc, workers.RegisterWorkflows, nil); err != nil {
		t.Fatal(err)
	}

	// Failure messages, and their causes', come back from the encrypted
	// attributes a failure converter moved them into.
	dc := payloadcrypt.DataConverter(codec)
	cause := &failurepb.Failure{Message: "reply was: Let me think"}
	f := &failurepb.Failure{Message: "propose: parse", StackTrace: "main.go:1", Cause: cause}
	for _, x := range []*failurepb.Failure{cause, f} {
		if err := converter.EncodeCommonFailureAttributes(dc, x); err != nil {
			t.Fatal(err)
		}
	}
	fh := &historypb.History{Events: []*historypb.HistoryEvent{{
		EventId:   1,
		EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionFailedEventAttributes{
			WorkflowExecutionFailedEventAttributes: &historypb.WorkflowExecutionFailedEventAttributes{Failure: f},
		},
	}}}
	if b, _ := protojson.Marshal(fh); strings.Contains(string(b), "Let me think") {
		t.Fatal("encoded failure holds its message in clear text")
	}
	if err := history.Decode(ctx, fh, codec); err != nil {
		t.Fatal(err)
	}
	if f.GetMessage() != "propose: parse" || f.GetStackTrace() != "main.go:1" || cause.GetMessage() != "reply was: Let me think" {
		t.Errorf("decoded failure %q (stack %q), cause %q", f.GetMessage(), f.GetStackTrace(), cause.GetMessage())
	}
}
