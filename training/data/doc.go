// Package data holds the training data side of the engine: datasets
// (CIFAR-10/100 binary files, an ImageNet-style folder of JPEG/PNG images
// with one folder per class, random images for throughput runs), a seeded
// train/validation split, augmentation (random-resized-crop, horizontal
// flip, resize + centre crop, normalisation) and a loader that prepares
// batches in goroutines while the network trains on the previous one.
package data
