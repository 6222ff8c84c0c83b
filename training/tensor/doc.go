// Package tensor holds the float32 tensors of the training engine and the
// Backend seam through which layers run their heavy kernels (matrix
// multiply, depthwise convolution, parallel loops). CPU is the backend built
// today; a CUDA backend can implement the same interface later without
// changing the layers.
//
// Layout: a Tensor describes a batch of feature maps with the four NCHW
// dimensions, but stores them channel-major, index ((c*N+n)*H+h)*W+w
// ("CNHW"). With that order a 1x1 convolution over the whole batch is one
// matrix product (weights Cout x Cin times activations Cin x N*H*W), batch
// norm statistics are contiguous runs, and small late-stage feature maps
// (2x2, 1x1) do not degrade into per-image matrix products. FromNCHW and
// ToNCHW convert at the edges.
package tensor
