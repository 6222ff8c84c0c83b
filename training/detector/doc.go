// Package detector trains and evaluates a RetinaNet on a COCO-format
// dataset: the paper's COCO transfer (mmdetection's retinanet_r50_fpn_1x
// recipe with a searched backbone). A Run holds the detector, its
// optimiser, schedule and position; it checkpoints and resumes exactly.
package detector
