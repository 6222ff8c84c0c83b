package training

import (
	"fmt"
	"math"
	"os"
	"reflect"
	"runtime/debug"

	"github.com/genius-nas/genius/training/networks"
	"github.com/genius-nas/genius/training/nn"
	"github.com/genius-nas/genius/training/tensor"
)

// MemoryEstimate is what training a network is expected to hold: a fixed
// part for the parameters and their optimiser state, and a part per sample
// of a micro-batch for the activations kept for the backward pass and the
// images being loaded.
type MemoryEstimate struct {
	FixedB     int64 // weights, gradients (per replica), momentum, EMA
	AccumB     int64 // the accumulated gradients, with micro-batches only
	PerSampleB int64
}

// For is the estimate for a micro-batch of micro samples out of a batch of
// batch.
func (e MemoryEstimate) For(micro, batch int) int64 {
	b := e.FixedB + int64(micro)*e.PerSampleB
	if micro < batch {
		b += e.AccumB
	}
	return b
}

// MemoryError is a batch whose training would not fit in the memory limit.
// Fits is the largest micro-batch (a divisor of Batch) that would, 0 when
// none does.
type MemoryError struct {
	Batch, Micro, Fits   int
	NeedB, FitsB, LimitB int64
}

func (e *MemoryError) Error() string {
	what := fmt.Sprintf("a batch of %d at once", e.Batch)
	if e.Micro < e.Batch {
		what = fmt.Sprintf("a batch of %d in micro-batches of %d", e.Batch, e.Micro)
	}
	msg := fmt.Sprintf("%s needs about %s, over the memory limit of %s", what, gib(e.NeedB), gib(e.LimitB))
	if e.Fits == 0 {
		return msg + ": not even a micro-batch of 1 fits; raise the limit (GOMEMLIMIT) or lower the input size"
	}
	return msg + fmt.Sprintf(": a micro-batch of %d would fit (about %s)", e.Fits, gib(e.FitsB))
}

func gib(b int64) string { return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30)) }

// probeSamples is the size of the batch whose step measures the memory per
// sample.
const probeSamples = 8

// loaderCopies is the number of micro-batches of images alive at once: the
// loader's batches in flight (data.Loader: 2 prefetched + 2 spare) and the
// network's input copy.
const loaderCopies = 5

// EstimateMemory measures what training cfg on the CPU needs: it builds a
// spare copy of the network, takes training steps on 1 and on
// probeSamples images, and counts the bytes its layers hold after each
// (they allocate their buffers on first use, or when the batch grows, and
// keep them). Counting what the network holds, rather than what the
// process allocated meanwhile, keeps other goroutines' allocations out.
func EstimateMemory(cpu *tensor.CPU, cfg Config, classes int) (MemoryEstimate, error) {
	cfg = cfg.withDefaults()
	if cfg.Classes <= 0 {
		cfg.Classes = classes
	}
	net, err := buildNetwork(cpu.Serial(), cfg)
	if err != nil {
		return MemoryEstimate{}, err
	}
	return estimateWith(net, cfg, replicaCount(cfg, cpu)), nil
}

func estimateWith(net *networks.Network, cfg Config, replicas int) MemoryEstimate {
	step := func(n int) int64 {
		x := tensor.New(3, n, cfg.Input, cfg.Input)
		for i := range x.Data {
			x.Data[i] = float32(i%17) / 17
		}
		logits := net.Forward(x, true)
		d := tensor.New(logits.C, logits.N, 1, 1)
		_, _ = nn.SoftmaxCrossEntropy(logits, make([]int, n), 0, d)
		net.Backward(d)
		return heldBytes(reflect.ValueOf(net.Body), map[uintptr]bool{})
	}
	one := step(1)
	perSample := (step(probeSamples) - one) / (probeSamples - 1)
	perSample += loaderCopies * 3 * int64(cfg.Input*cfg.Input) * 4
	params := net.NumParams() * 4
	copies := int64(2 + replicas) // weights, momentum, a gradient per replica
	if cfg.EMADecay > 0 {
		copies++
	}
	return MemoryEstimate{FixedB: copies * params, AccumB: params, PerSampleB: perSample}
}

// heldBytes is the size of the numeric slices reachable from v (a layer
// and what it points to), each backing array counted once.
func heldBytes(v reflect.Value, seen map[uintptr]bool) int64 {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return 0
		}
		seen[v.Pointer()] = true
		return heldBytes(v.Elem(), seen)
	case reflect.Interface:
		if v.IsNil() {
			return 0
		}
		return heldBytes(v.Elem(), seen)
	case reflect.Struct:
		var n int64
		for i := 0; i < v.NumField(); i++ {
			n += heldBytes(v.Field(i), seen)
		}
		return n
	case reflect.Array:
		var n int64
		for i := 0; i < v.Len(); i++ {
			n += heldBytes(v.Index(i), seen)
		}
		return n
	case reflect.Slice:
		if v.IsNil() {
			return 0
		}
		switch v.Type().Elem().Kind() {
		case reflect.Float32, reflect.Float64, reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint8, reflect.Uint32, reflect.Uint64:
			if seen[v.Pointer()] {
				return 0
			}
			seen[v.Pointer()] = true
			return int64(v.Cap()) * int64(v.Type().Elem().Size())
		}
		var n int64
		for i := 0; i < v.Len(); i++ {
			n += heldBytes(v.Index(i), seen)
		}
		return n
	}
	return 0
}

// memoryLimit is limit when > 0, none (0) when < 0, else the process's
// (GOMEMLIMIT); 0 when there is none.
func memoryLimit(limit int64) int64 {
	if limit != 0 {
		return max(limit, 0)
	}
	if l := debug.SetMemoryLimit(-1); l < math.MaxInt64 {
		return l
	}
	return 0
}

// checkMemory fails with a MemoryError (as a SettingError of MicroBatch)
// when training cfg would not fit in limit.
func checkMemory(net *networks.Network, cfg Config, replicas int, limit int64) error {
	e := estimateWith(net, cfg, replicas)
	micro := cfg.Micro()
	need := e.For(micro, cfg.Batch)
	if need <= limit {
		return nil
	}
	me := &MemoryError{Batch: cfg.Batch, Micro: micro, NeedB: need, LimitB: limit}
	for d := micro - 1; d >= 1; d-- {
		if cfg.Batch%d == 0 && e.For(d, cfg.Batch) <= limit {
			me.Fits, me.FitsB = d, e.For(d, cfg.Batch)
			break
		}
	}
	return &SettingError{Setting: "MicroBatch", Err: me}
}

// ResetPeakRSS starts a new peak for PeakRSS at the current resident
// memory, after returning freed memory to the system. It acts on the
// whole process (every reader's peak restarts): for measurements.
func ResetPeakRSS() error {
	debug.FreeOSMemory()
	// Writing 5 to clear_refs resets VmHWM (Linux 4.0 and later).
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}
