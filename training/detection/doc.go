// Package detection holds the arithmetic of a RetinaNet detector that does
// not depend on the network: anchors, IoU assignment of anchors to ground
// truth, box delta coding, the focal and L1 losses with their gradients,
// inference post-processing (score threshold, top-k per level, per-class
// NMS) and the 1× learning-rate schedule.
//
// Every default follows mmdetection's retinanet_r50_fpn_1x_coco, so a
// network trained on these targets is comparable with the published
// RetinaNet numbers. Boxes are (x1, y1, x2, y2) in pixels of the network's
// input image, without mmdetection 1.x's "+1" on widths.
//
// Two choices go beyond that configuration. Crowd regions (COCO's
// iscrowd) are ignored: an anchor more than half inside one is neither
// positive nor negative, where the configuration trains it as background.
// And a ground-truth box whose best IoU with any usable anchor is 0 claims
// no anchor, where mmdetection's min_pos_iou 0 would hand it every anchor.
package detection
