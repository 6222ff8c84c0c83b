// Package devnet runs a network's forward and backward passes on a
// kernels.Device: the GPU, or the host emulator of the same kernels in
// tests. Compile walks the nn layer tree of a networks.Network once and
// turns it into a list of kernel launches over device memory; the host
// network stays the reference for shapes and the home of the weights
// between Pull and Push.
//
// Every parameter lives in one contiguous float32 arena (weights,
// gradients, optimiser velocity, a weight-decay byte per weight), so the
// optimiser, gradient clipping and EMA are one launch each over the whole
// network rather than one per tensor. Batch-norm running statistics live
// in a second arena in the order of Network.Buffers.
package devnet

import (
	"errors"
	"fmt"

	"github.com/genius-nas/genius/training/cuda/kernels"
	"github.com/genius-nas/genius/training/networks"
)

// ErrUnsupported is wrapped by Compile's error for a layer kind the device
// path has no kernels for.
var ErrUnsupported = errors.New("devnet: not supported on the device backend")

// Slot is one host tensor's place in an arena, in floats.
type Slot struct {
	Off, Len int
}

// Arena is float32 device memory holding a list of host tensors back to
// back.
type Arena struct {
	Len   int // floats
	Slots []Slot
}

// Net is a network compiled for a device.
type Net struct {
	Dev   kernels.Device
	DType kernels.DType
	Host  *networks.Network

	// Params: one Slot per Host.Params() entry, in that order. W, G and V
	// are float32 weights, gradients and velocity; Decay a byte per weight
	// (1 where weight decay applies).
	Params  Arena
	W, G, V kernels.Ptr
	Decay   kernels.Ptr
	// Buffers: one Slot per Host.Buffers() entry (float32).
	Buffers Arena
	B       kernels.Ptr
}

// Compile uploads net's weights and buffers to dev and prepares the
// launches for batches of up to maxBatch samples of c x h x w.
func Compile(dev kernels.Device, dt kernels.DType, net *networks.Network, maxBatch, c, h, w int) (*Net, error) {
	return nil, fmt.Errorf("devnet: compile %s: %w", net.Space, ErrUnsupported)
}

// Forward runs the network on x (dt, CHWN, n samples of the compiled
// c x h x w) and returns the logits: float32, Classes x n, valid until the
// next Forward. train selects batch statistics (updating the running ones)
// and dropout.
func (n *Net) Forward(x kernels.Ptr, batch int, train bool) (kernels.Ptr, error) {
	return 0, ErrUnsupported
}

// Backward propagates dlogits (float32, Classes x n, for the last
// training Forward) and overwrites every parameter gradient in G.
func (n *Net) Backward(dlogits kernels.Ptr) error { return ErrUnsupported }

// Pull copies the device's weights and buffers into the host network's
// Params and Buffers.
func (n *Net) Pull() error { return ErrUnsupported }

// Push copies the host network's weights and buffers to the device (after
// a checkpoint was restored into it).
func (n *Net) Push() error { return ErrUnsupported }

// Close frees the device memory.
func (n *Net) Close() error { return nil }
