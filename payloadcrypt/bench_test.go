package payloadcrypt_test

import (
	"strings"
	"testing"

	"go.temporal.io/sdk/converter"

	"github.com/genius-nas/genius/payloadcrypt"
)

// BenchmarkRoundTrip converts a proposal-sized value (a 4 KiB prompt and a
// reply) to a payload and back, plain and encrypted; compare the two.
func BenchmarkRoundTrip(b *testing.B) {
	v := reply{Prompt: strings.Repeat("Iteration 3: [1, 0, 2, 1, 0, 0, 1, 2] accuracy 92.41. ", 75), Reply: secretText}
	r, err := payloadcrypt.ParseKeyring([]byte("k1 " + strings.Repeat("A", 43) + "=\n"))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		dc   converter.DataConverter
	}{
		{"plain", converter.GetDefaultDataConverter()},
		{"encrypted", payloadcrypt.DataConverter(payloadcrypt.NewCodec(r))},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p, err := c.dc.ToPayload(v)
				if err != nil {
					b.Fatal(err)
				}
				var back reply
				if err := c.dc.FromPayload(p, &back); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
