// Package flops counts multiply-accumulates (MACs, which the GENIUS paper
// and the thop profiler call FLOPs) and parameters of the
// mobilenetv2-imagenet search space, exactly as thop 0.1.x counts them:
//
//   - a convolution costs output elements × in/groups × k × k (bias free);
//   - batch norm costs 4 × elements;
//   - the global average pool costs (kernel + 1) × output elements;
//   - a linear layer costs in × out;
//   - activations, the squeeze-and-excitation squeeze (a functional mean),
//     the gate's multiply and residual additions cost nothing.
//
// Parameters are every learnable tensor, as PyTorch's sum(p.numel()) sees
// them: convolution weights, the biases of the SE convolutions and of the
// 320→1280 head convolution, batch-norm weight and bias (2 × C; running
// statistics are buffers), and the classifier's weight and bias.
//
// The same counter produces the per-slot table that goes into the ImageNet
// prompt (Slots), so the prompt and the constraint check cannot disagree.
// MobileNetV2 counts one architecture in a few microseconds without
// allocating; a Counter precomputes the 70 slot costs for one set of Options
// and then counts an architecture with 30 look-ups, for loops such as the
// search's constraint check or sampling under a budget. Layers lists every
// counted module with its shape, for checking a built network against the
// counter.
package flops
