// Package optim holds the optimiser side of training: SGD with momentum or
// Nesterov momentum and decoupled-from-BN weight decay, gradient clipping,
// the warm-up + cosine learning-rate schedule, and an exponential moving
// average of the weights.
package optim
