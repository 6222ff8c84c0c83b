//go:build cgo

package trainact

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/specs/transfer"
	"github.com/genius-nas/genius/storage"
	"github.com/genius-nas/genius/training"
	"github.com/genius-nas/genius/training/coco"
	"github.com/genius-nas/genius/training/cuda/hostemu"
	"github.com/genius-nas/genius/training/cuda/kernels"
)

// A GPU worker trains COCO detection on its device (here the host
// emulator of the GPU kernels): its chunk trains, evaluates and
// checkpoints as the CPU's does, with the same losses, and the next chunk
// resumes from its checkpoint on a CPU worker.
func TestDetectionTransferOnDevice(t *testing.T) {
	st, _ := storage.NewDir(t.TempDir())
	cpu := &RetrainActivities{Store: st}
	src := tinyRetrainSpec(t)
	src.Epochs = 1
	from := runChunks(t, cpu, src, "source")[0].Best.Checkpoint

	dir := t.TempDir()
	if _, err := coco.WriteSynthetic(dir, coco.SyntheticOptions{Train: 8, Val: 2, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	s, err := transfer.Ready("coco-cpu-demo")
	if err != nil {
		t.Fatal(err)
	}
	// The emulator is slow: small images and pyramid, two steps an epoch.
	s.Arch, s.Data.Dir, s.FromCheckpoint = src.Arch, dir, from
	s.Detector.MaxSize, s.Detector.Channels = [2]int{64, 48}, 8
	s.Epochs, s.ChunkEpochs, s.CheckpointEverySteps = 2, 1, 2
	if err := transfer.Validate(s); err != nil {
		t.Fatal(err)
	}
	emu := hostemu.New()
	defer emu.Close()
	gpu := &RetrainActivities{Store: st, Device: &training.Device{Kernels: emu, DType: kernels.F32, Name: "hostemu"}}
	ctx := context.Background()
	chunk := func(a *RetrainActivities, run string, from int, resume string, best *activities.RetrainBest) activities.RetrainChunkResult {
		t.Helper()
		res, err := a.RetrainChunk(ctx, activities.RetrainChunkInput{Spec: s, CheckpointRun: run, FromEpoch: from, UntilEpoch: from + 1,
			Resume: resume, Best: best})
		if err != nil {
			t.Fatalf("chunk %d on %s: %v", from+1, run, err)
		}
		return res
	}
	onCPU := chunk(cpu, "coco-cpu", 0, "", nil)
	onDev := chunk(gpu, "coco-device", 0, "", nil)
	if len(onDev.Epochs) != 1 || onDev.Epochs[0].COCO == nil || onDev.Checkpoint == "" {
		t.Fatalf("device chunk: %+v, want an epoch with COCO stats and a checkpoint", onDev)
	}
	if onDev.Epochs[0].DevicePeakB <= 0 || onCPU.Epochs[0].DevicePeakB != 0 {
		t.Errorf("device peak memory %d on the device, %d on the CPU: want it reported for the device only", onDev.Epochs[0].DevicePeakB, onCPU.Epochs[0].DevicePeakB)
	}
	lc, ld := onCPU.Epochs[0].TrainLoss, onDev.Epochs[0].TrainLoss
	t.Logf("epoch 1 train loss: cpu %v, device %v; device AP %v", lc, ld, onDev.Epochs[0].COCO.AP)
	if math.Abs(lc-ld) > 1e-3*math.Abs(lc) {
		t.Errorf("epoch 1 train loss %v on the device, %v on the CPU", ld, lc)
	}
	next := chunk(cpu, "coco-device", 1, onDev.Checkpoint, onDev.Best)
	if !next.Done || next.Step != onDev.Step*2 {
		t.Errorf("the CPU chunk after the device's: %+v, want the transfer done at step %d", next, onDev.Step*2)
	}
}

// cappedDevice is the emulator with little memory.
type cappedDevice struct {
	*hostemu.Device
	left int
}

func (c *cappedDevice) Alloc(n int) (kernels.Ptr, error) {
	if n > c.left {
		return 0, fmt.Errorf("capped: %d bytes: %w", n, kernels.ErrOutOfMemory)
	}
	c.left -= n
	return c.Device.Alloc(n)
}

// A GPU without the memory for the detector's largest batch fails the
// chunk for good, naming what to lower (detection has no micro-batches).
func TestDetectionOutOfDeviceMemory(t *testing.T) {
	st, _ := storage.NewDir(t.TempDir())
	dir := t.TempDir()
	if _, err := coco.WriteSynthetic(dir, coco.SyntheticOptions{Train: 8, Val: 2, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	s, err := transfer.Ready("coco-cpu-demo")
	if err != nil {
		t.Fatal(err)
	}
	s.Arch, s.Data.Dir = make([]int, 30), dir
	emu := hostemu.New()
	defer emu.Close()
	dev := &cappedDevice{Device: emu, left: 8 << 20}
	a := &RetrainActivities{Store: st, Device: &training.Device{Kernels: dev, DType: kernels.BF16, Name: "small gpu"}}
	_, err = a.RetrainChunk(context.Background(), activities.RetrainChunkInput{Spec: s, CheckpointRun: "oom", FromEpoch: 0, UntilEpoch: 1})
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != activities.ErrDeviceOutOfMemory || !ae.NonRetryable() ||
		!strings.Contains(ae.Error(), "detector.max_size") || !strings.Contains(ae.Error(), "small gpu") {
		t.Fatalf("err = %v, want a non-retryable %s naming the device, batch and detector.max_size", err, activities.ErrDeviceOutOfMemory)
	}
	t.Log(ae.Error())
}

// A GPU without the memory for a classifier's micro-batch fails the chunk
// for good, naming micro_batch and a micro-batch to try.
func TestRetrainOutOfDeviceMemory(t *testing.T) {
	st, _ := storage.NewDir(t.TempDir())
	s := tinyRetrainSpec(t)
	emu := hostemu.New()
	defer emu.Close()
	dev := &cappedDevice{Device: emu, left: 8 << 20}
	a := &RetrainActivities{Store: st, Device: &training.Device{Kernels: dev, DType: kernels.BF16, Name: "small gpu"}}
	_, err := a.RetrainChunk(context.Background(), activities.RetrainChunkInput{Spec: s, CheckpointRun: "oom", FromEpoch: 0, UntilEpoch: 1})
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != activities.ErrDeviceOutOfMemory || !ae.NonRetryable() ||
		!strings.Contains(ae.Error(), "micro_batch") || !strings.Contains(ae.Error(), "small gpu") {
		t.Fatalf("err = %v, want a non-retryable %s naming the device and micro_batch", err, activities.ErrDeviceOutOfMemory)
	}
	t.Log(ae.Error())
}
