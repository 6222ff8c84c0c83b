// Package nn holds the layers of the training engine: each with an explicit
// forward and backward pass over channel-major tensors (see package
// tensor), parameters with their gradients, and output and gradient buffers
// allocated once per shape and reused on every step.
//
// Conventions: Forward keeps a reference to its input (layers never write to
// their input or to the gradient they are given), Backward must follow the
// Forward it belongs to, and Backward overwrites parameter gradients (each
// parameter is used once per forward pass) and returns the gradient with
// respect to the input in a buffer the layer owns.
package nn
