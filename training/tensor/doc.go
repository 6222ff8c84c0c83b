// Package tensor holds the float32 tensors of the training engine and the
// Backend seam through which layers run their heavy kernels (matrix
// multiply, depthwise convolution, parallel loops). CPU is the backend built
// today; a CUDA backend can implement the same interface later without
// changing the layers.
//
// Layout: a Tensor describes a batch with the four NCHW dimensions but
// stores it channel-major with the batch innermost, index
// ((c*H+h)*W+w)*N+n ("CHWN"). With that order
//   - a 1x1 convolution over the whole batch is one matrix product
//     (weights Cout x Cin times activations Cin x H*W*N),
//   - batch-norm statistics are contiguous runs,
//   - every spatial operation (depthwise and im2col convolutions, pooling,
//     squeeze-excitation) works on runs of N contiguous values, which
//     vectorise even when the feature maps are 2x2 or 1x1, as the late
//     stages of CIFAR-size networks are.
//
// FromNCHW and ToNCHW convert at the edges.
package tensor
