package kernels

import (
	"math"
	"testing"
)

func TestBF16Rounding(t *testing.T) {
	for _, c := range []struct {
		in   uint32
		want uint16
	}{
		{0x3f800000, 0x3f80}, // 1
		{0x3f808000, 0x3f80}, // halfway, even stays
		{0x3f818000, 0x3f82}, // halfway, odd rounds up
		{0x3f808001, 0x3f81}, // above halfway
		{0x7f7fffff, 0x7f80}, // largest float rounds to infinity
		{0xff800000, 0xff80}, // -inf
		{0x7fc00001, 0x7fc0}, // NaN stays NaN
		{0x7f800001, 0x7fc0}, // signalling NaN becomes quiet
	} {
		if got := ToBF16(math.Float32frombits(c.in)); got != c.want {
			t.Errorf("ToBF16(%#08x) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	v := []float32{1.5, -2.25, 3e-3}
	for _, dt := range []DType{F32, BF16} {
		got := Decode(dt, Encode(dt, v))
		for i := range v {
			want := v[i]
			if dt == BF16 {
				want = RoundBF16(want)
			}
			if got[i] != want {
				t.Errorf("%s round trip of %g = %g, want %g", dt, v[i], got[i], want)
			}
		}
	}
}

func TestChunks(t *testing.T) {
	for _, c := range []struct{ c, m, want int }{
		{1, 10, 1},
		{3, 6144, 3},
		{16, 256 * 112 * 112, MaxChunks},
		{1280, 256 * 49, 1},
	} {
		if got := chunks(c.c, c.m); got != c.want {
			t.Errorf("chunks(%d, %d) = %d, want %d", c.c, c.m, got, c.want)
		}
	}
}
