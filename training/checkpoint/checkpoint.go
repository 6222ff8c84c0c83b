package checkpoint

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
)

// Version is the format version this package writes and reads.
const Version = 1

var magic = [8]byte{'G', 'E', 'N', 'I', 'U', 'S', 'C', 'K'}

// ErrCorrupt is wrapped by every error about damaged bytes (as opposed to a
// well-formed checkpoint of another network).
var ErrCorrupt = errors.New("checkpoint is corrupt")

// Header says what a checkpoint holds and how far training had got.
type Header struct {
	Space   string `json:"space"`
	Arch    []int  `json:"arch"`
	Classes int    `json:"classes"`
	Input   int    `json:"input"`
	// Epoch and Step count completed epochs and optimiser steps; Step is
	// also the schedule's position.
	Epoch int `json:"epoch"`
	Step  int `json:"step"`
	// StepInEpoch is the number of batches of the current epoch done.
	StepInEpoch int `json:"step_in_epoch"`
	// Epoch* are the running sums of the current epoch's training steps
	// (of the epoch just finished, at an epoch's end), so an epoch resumed
	// midway reports the same mean loss as an uninterrupted one. Older
	// checkpoints lack them: the mean then covers the steps after the resume.
	EpochLossSum float64 `json:"epoch_loss_sum,omitempty"`
	EpochSteps   int     `json:"epoch_steps,omitempty"`
	EpochSamples int     `json:"epoch_samples,omitempty"`
	// RNG is the network's generator state (dropout).
	RNG []byte `json:"rng,omitempty"`
	// Seed is the run's data-order and augmentation seed.
	Seed uint64 `json:"seed"`
	// Config is the training configuration, as JSON, for resuming.
	Config json.RawMessage `json:"config,omitempty"`
	// Tensors lists the tensors in file order.
	Tensors []TensorInfo `json:"tensors"`
}

// TensorInfo names a tensor and its length.
type TensorInfo struct {
	Name string `json:"name"`
	Len  int    `json:"len"`
}

// Checkpoint is a header and its tensors' values (Values[i] belongs to
// Header.Tensors[i]).
type Checkpoint struct {
	Header Header
	Values [][]float32
}

// Add appends a named tensor (sharing data).
func (c *Checkpoint) Add(name string, data []float32) {
	c.Header.Tensors = append(c.Header.Tensors, TensorInfo{Name: name, Len: len(data)})
	c.Values = append(c.Values, data)
}

// Lookup returns the tensor with that name.
func (c *Checkpoint) Lookup(name string) ([]float32, bool) {
	for i, t := range c.Header.Tensors {
		if t.Name == name {
			return c.Values[i], true
		}
	}
	return nil, false
}

// CopyTo copies the tensor named name into dst, which must have its size.
func (c *Checkpoint) CopyTo(name string, dst []float32) error {
	v, ok := c.Lookup(name)
	if !ok {
		return fmt.Errorf("checkpoint lacks tensor %s", name)
	}
	if len(v) != len(dst) {
		return fmt.Errorf("checkpoint tensor %s has %d values, want %d", name, len(v), len(dst))
	}
	copy(dst, v)
	return nil
}

// Write encodes c to w.
func Write(w io.Writer, c *Checkpoint) error {
	if len(c.Values) != len(c.Header.Tensors) {
		return fmt.Errorf("checkpoint: %d tensor values for %d names", len(c.Values), len(c.Header.Tensors))
	}
	h := sha256.New()
	out := io.MultiWriter(w, h)
	hdr, err := json.Marshal(c.Header)
	if err != nil {
		return fmt.Errorf("checkpoint: encoding header: %w", err)
	}
	var pre [16]byte
	copy(pre[:8], magic[:])
	binary.LittleEndian.PutUint32(pre[8:], Version)
	binary.LittleEndian.PutUint32(pre[12:], uint32(len(hdr)))
	if _, err := out.Write(pre[:]); err != nil {
		return fmt.Errorf("checkpoint: writing: %w", err)
	}
	if _, err := out.Write(hdr); err != nil {
		return fmt.Errorf("checkpoint: writing: %w", err)
	}
	buf := make([]byte, 0, 1<<16)
	for i, v := range c.Values {
		if len(v) != c.Header.Tensors[i].Len {
			return fmt.Errorf("checkpoint: tensor %s has %d values, header says %d", c.Header.Tensors[i].Name, len(v), c.Header.Tensors[i].Len)
		}
		for _, f := range v {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(f))
			if len(buf) == cap(buf) {
				if _, err := out.Write(buf); err != nil {
					return fmt.Errorf("checkpoint: writing: %w", err)
				}
				buf = buf[:0]
			}
		}
	}
	if _, err := out.Write(buf); err != nil {
		return fmt.Errorf("checkpoint: writing: %w", err)
	}
	if _, err := w.Write(h.Sum(nil)); err != nil {
		return fmt.Errorf("checkpoint: writing: %w", err)
	}
	return nil
}

// Read decodes a checkpoint, verifying its checksum and version.
func Read(r io.Reader) (*Checkpoint, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: reading: %w", err)
	}
	if len(b) < 16+sha256.Size || !bytes.Equal(b[:8], magic[:]) {
		return nil, fmt.Errorf("%w: not a genius checkpoint (bad magic or too short, %d bytes)", ErrCorrupt, len(b))
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, fmt.Errorf("%w: checksum mismatch (truncated or damaged in storage)", ErrCorrupt)
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != Version {
		return nil, fmt.Errorf("checkpoint: format version %d, this build reads version %d: retrain or use a matching genius", v, Version)
	}
	hl := int(binary.LittleEndian.Uint32(b[12:]))
	if 16+hl > len(body) {
		return nil, fmt.Errorf("%w: header length %d past the end", ErrCorrupt, hl)
	}
	c := &Checkpoint{}
	if err := json.Unmarshal(body[16:16+hl], &c.Header); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	rest := body[16+hl:]
	for _, t := range c.Header.Tensors {
		if t.Len < 0 || len(rest) < 4*t.Len {
			return nil, fmt.Errorf("%w: tensor %s runs past the end", ErrCorrupt, t.Name)
		}
		v := make([]float32, t.Len)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(rest[4*i:]))
		}
		c.Values = append(c.Values, v)
		rest = rest[4*t.Len:]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d unexpected bytes after the tensors", ErrCorrupt, len(rest))
	}
	return c, nil
}
