// Package coco reads COCO-format object detection data for training: the
// instances JSON (images, annotations, categories) with its folder of JPEG
// images, the box transforms that follow an image through resizing,
// flipping and padding, and a generator of small synthetic COCO-format
// datasets (shapes on textured backgrounds) for demos and tests.
//
// Boxes cross the package boundary as detection.Box (x1, y1, x2, y2); the
// JSON's [x, y, width, height] stays inside.
package coco
