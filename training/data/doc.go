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
// sees the same augmented images whatever the number of workers.
//
// The loader's workers draw the crop from the image's size first, so a
// RegionDataset (ImageFolder) decodes only the pixels the crop reads: with
// libjpeg-turbo (build tag turbojpeg, cgo) only the crop's rows and iMCU
// columns, at the smallest of 1/8, 1/4, 1/2 or full scale that keeps the
// crop at least the output size. Batches live in a bounded set of buffers
// from an Allocator, where a device backend plugs in pinned memory.
package data
