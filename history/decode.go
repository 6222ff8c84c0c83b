package history

import (
	"context"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/converter"
)

// Decode runs every payload of h through codec's Decode in place, as a
// codec server does for the Web UI, and puts back the failure messages a
// failure converter moved into encoded attributes. Afterwards h reads and
// replays like a history recorded without the codec.
func Decode(ctx context.Context, h *historypb.History, codec converter.PayloadCodec) error {
	info := Describe(h)
	err := proxy.VisitPayloads(ctx, h, proxy.VisitPayloadsOptions{
		// The SDK writes search attributes without the codec.
		SkipSearchAttributes: true,
		Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
			return codec.Decode(ps)
		},
	})
	if err != nil {
		return fmt.Errorf("decode the payloads of %s: %w", info.Name(), err)
	}
	dc := converter.GetDefaultDataConverter()
	return proxy.VisitFailures(ctx, h, proxy.VisitFailuresOptions{
		Visitor: func(_ *proxy.VisitFailuresContext, f *failurepb.Failure) error {
			if f.GetEncodedAttributes() != nil {
				converter.DecodeCommonFailureAttributes(dc, f)
				f.EncodedAttributes = nil
			}
			return nil
		},
	})
}
