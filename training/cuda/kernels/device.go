package kernels

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Ptr is an address in a Device's memory.
type Ptr uint64

// Add returns p advanced by n bytes.
func (p Ptr) Add(n int) Ptr { return p + Ptr(n) }

// ErrOutOfMemory is matched (errors.Is) by a Device's error when Alloc
// found too little free memory.
var ErrOutOfMemory = errors.New("out of device memory")

// Device runs the kernels: the GPU (training/cuda, build tag cuda) or the
// host emulator (training/cuda/hostemu).
type Device interface {
	// Alloc returns n bytes of zeroed device memory.
	Alloc(n int) (Ptr, error)
	// Free releases memory from Alloc.
	Free(p Ptr) error
	// Write copies src to device memory at dst.
	Write(dst Ptr, src []byte) error
	// Read copies device memory at src into dst.
	Read(dst []byte, src Ptr) error
	// Launch runs a kernel over grid blocks of block threads. Arguments
	// are Ptr, int (passed as a C int) or float32, in the kernel's order.
	// A launch may return before the kernel has run; Sync reports its
	// failure.
	Launch(kernel string, grid, block int, args ...any) error
	// Sync waits for the launched work and reports a failure in it.
	Sync() error
}

// AsyncWriter is implemented by a Device that copies to its memory while
// kernels run (the GPU: a copy stream fed from page-locked staging
// buffers). WriteAsync returns once src may be reused; kernels launched
// after it see the data. The copy waits only for the work launched before
// the previous WriteAsync, so it may overlap the kernels launched since:
// a caller alternates between two destinations, and the kernels reading
// one are launched before the other is written.
type AsyncWriter interface {
	WriteAsync(dst Ptr, src []byte) error
}

// PeakMeter is implemented by a Device that tracks its memory: the GPU and
// the host emulator count what Alloc handed out and Free took back.
type PeakMeter interface {
	// PeakBytes is the most memory allocated at once since the device
	// opened or the last ResetPeak.
	PeakBytes() int64
	// ResetPeak starts the high-water mark again from what is allocated
	// now.
	ResetPeak()
}

// DType is the storage type of activations.
type DType int

// Storage types.
const (
	F32 DType = iota
	BF16
)

func (t DType) String() string {
	if t == BF16 {
		return "bf16"
	}
	return "f32"
}

// Size is the bytes per element.
func (t DType) Size() int {
	if t == BF16 {
		return 2
	}
	return 4
}

func (t DType) suffix(name string) string { return name + "_" + t.String() }

// ToBF16 rounds v to bf16 (nearest, ties to even; NaN stays NaN) as the
// GPU's cvt.rn.bf16.f32 does.
func ToBF16(v float32) uint16 {
	u := math.Float32bits(v)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 0x40
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}

// FromBF16 widens a bf16 value.
func FromBF16(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }

// RoundBF16 is v rounded to the nearest bf16 value.
func RoundBF16(v float32) float32 { return FromBF16(ToBF16(v)) }

// Encode returns v as dt's bytes.
func Encode(dt DType, v []float32) []byte {
	b := make([]byte, len(v)*dt.Size())
	EncodeTo(dt, b, v)
	return b
}

// EncodeTo writes v as dt's bytes to b, which holds at least
// len(v)*dt.Size() bytes.
func EncodeTo(dt DType, b []byte, v []float32) {
	for i, x := range v {
		if dt == BF16 {
			binary.LittleEndian.PutUint16(b[2*i:], ToBF16(x))
		} else {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
		}
	}
}

// Decode reads dt's bytes as float32 values.
func Decode(dt DType, b []byte) []float32 {
	v := make([]float32, len(b)/dt.Size())
	for i := range v {
		if dt == BF16 {
			v[i] = FromBF16(binary.LittleEndian.Uint16(b[2*i:]))
		} else {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	}
	return v
}

// Upload allocates device memory holding v stored as dt.
func Upload(d Device, dt DType, v []float32) (Ptr, error) {
	p, err := d.Alloc(max(len(v)*dt.Size(), 1))
	if err != nil {
		return 0, err
	}
	if len(v) > 0 {
		if err := d.Write(p, Encode(dt, v)); err != nil {
			d.Free(p)
			return 0, err
		}
	}
	return p, nil
}

// Download reads n values stored as dt at p.
func Download(d Device, dt DType, p Ptr, n int) ([]float32, error) {
	b := make([]byte, n*dt.Size())
	if err := d.Read(b, p); err != nil {
		return nil, err
	}
	return Decode(dt, b), nil
}

// UploadInts allocates device memory holding v as C ints.
func UploadInts(d Device, v []int) (Ptr, error) {
	b := make([]byte, 4*max(len(v), 1))
	for i, x := range v {
		if x < math.MinInt32 || x > math.MaxInt32 {
			return 0, fmt.Errorf("kernels: value %d at %d does not fit a C int", x, i)
		}
		binary.LittleEndian.PutUint32(b[4*i:], uint32(int32(x)))
	}
	p, err := d.Alloc(len(b))
	if err != nil {
		return 0, err
	}
	if err := d.Write(p, b); err != nil {
		d.Free(p)
		return 0, err
	}
	return p, nil
}

// DownloadInts reads n C ints at p.
func DownloadInts(d Device, p Ptr, n int) ([]int, error) {
	b := make([]byte, 4*n)
	if err := d.Read(b, p); err != nil {
		return nil, err
	}
	v := make([]int, n)
	for i := range v {
		v[i] = int(int32(binary.LittleEndian.Uint32(b[4*i:])))
	}
	return v, nil
}
