// Package data holds the training data side of the engine: datasets
// (CIFAR-10/100 binary files, an ImageNet-style folder of JPEG/PNG images
// with one folder per class, random images for throughput runs), a seeded
// train/validation split, augmentation (random-resized-crop, horizontal
// flip, RandAugment and random erasing for training; resize + centre crop
// for evaluation; normalisation) and a loader that prepares batches in
// goroutines while the network trains on the previous one.
//
// A training sample goes crop, flip, RandAugment (on 8-bit pixels),
// normalise, random erasing, all drawing from one random source seeded by
// the loader's seed, the epoch and the sample's index, so a resumed run
// sees the same augmented images.
package data
