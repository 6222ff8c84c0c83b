package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func sample() *Checkpoint {
	c := &Checkpoint{Header: Header{Space: "nas-bench-macro", Arch: []int{1, 0, 2}, Classes: 10, Epoch: 3, Step: 120, RNG: []byte{1, 2, 3}}}
	c.Add("000.conv.weight", []float32{1.5, -2, 3e-8})
	c.Add("velocity/000.conv.weight", []float32{})
	c.Add("ema/000.conv.weight", []float32{0.25})
	return c
}

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	got, err := Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if got.Header.Step != 120 || got.Header.Space != "nas-bench-macro" || !bytes.Equal(got.Header.RNG, []byte{1, 2, 3}) {
		t.Errorf("header %+v", got.Header)
	}
	if v, ok := got.Lookup("000.conv.weight"); !ok || v[0] != 1.5 || v[2] != 3e-8 {
		t.Errorf("weights %v %v", v, ok)
	}
	if v, ok := got.Lookup("ema/000.conv.weight"); !ok || v[0] != 0.25 {
		t.Errorf("ema %v", v)
	}
}

func TestDamageIsReported(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	flip := append([]byte(nil), good...)
	flip[len(flip)-40] ^= 1
	version := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(version[8:], 99)
	cases := map[string]struct {
		b    []byte
		want string
	}{
		"truncated":   {good[:len(good)-5], "checksum"},
		"bit flip":    {flip, "checksum"},
		"not ours":    {[]byte("hello world, this is not a checkpoint at all......"), "magic"},
		"empty":       {nil, "too short"},
		"new version": {version, "checksum"}, // the checksum covers the version too
	}
	for name, tc := range cases {
		_, err := Read(bytes.NewReader(tc.b))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: error %v, want ErrCorrupt mentioning %q", name, err, tc.want)
		}
	}
}

func TestCopyTo(t *testing.T) {
	c := &Checkpoint{}
	c.Add("w", []float32{1, 2, 3})
	dst := make([]float32, 3)
	if err := c.CopyTo("w", dst); err != nil || dst[0] != 1 || dst[2] != 3 {
		t.Fatalf("CopyTo: %v, %v", err, dst)
	}
	if err := c.CopyTo("missing", dst); err == nil || !strings.Contains(err.Error(), "lacks tensor missing") {
		t.Errorf("missing tensor: %v", err)
	}
	if err := c.CopyTo("w", make([]float32, 2)); err == nil || !strings.Contains(err.Error(), "has 3 values, want 2") {
		t.Errorf("wrong size: %v", err)
	}
}
