// Package networks builds trainable networks (package nn) from an
// architecture of each search space: the ImageNet MobileNetV2-style space
// exactly as the paper describes it, NAS-Bench-Macro, the two
// Channel-Bench-Macro networks and the NAS-Bench-201 cell network.
package networks
