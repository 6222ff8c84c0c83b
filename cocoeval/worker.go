package cocoeval

import (
	"cmp"
	"slices"
)

// worker evaluates whole categories; its buffers are reused between them.
type worker struct {
	ix  *index
	acc *accumulation

	gts   []gtBox
	dts   []dtBox
	kept  []keptDet
	ious  []float64
	perm  []int
	gtHit []bool
	ign   []bool
	order []int32
	rc    []float64
	pr    []float64
}

// keptDet is a detection within its image's top 100, with its outcome at
// each area range: bit t of tp is set when it matched at threshold t and
// is not ignored, bit t of ignored when it counts neither way.
type keptDet struct {
	score   float64
	rank    int32 // position among its image's detections, by score
	tp      [numArea]uint16
	ignored [numArea]uint16
}

// category evaluates every image of category k (the reference's
// evaluateImg) and accumulates the category's precision and recall.
func (w *worker) category(k int) {
	ix := w.ix
	// By image, keeping file order within an image.
	w.gts = append(w.gts[:0], ix.gts[ix.gtStart[k]:ix.gtStart[k+1]]...)
	slices.SortStableFunc(w.gts, func(a, b gtBox) int { return cmp.Compare(a.img, b.img) })
	w.dts = append(w.dts[:0], ix.dets[ix.dtStart[k]:ix.dtStart[k+1]]...)
	slices.SortFunc(w.dts, func(a, b dtBox) int {
		// Image, then score descending, then file order: numpy's stable
		// mergesort of -score within the image.
		if c := cmp.Compare(a.img, b.img); c != 0 {
			return c
		}
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})

	var npig [numArea]int
	w.kept = w.kept[:0]
	gi, di := 0, 0
	for gi < len(w.gts) || di < len(w.dts) {
		img := int32(len(ix.imgIDs))
		if gi < len(w.gts) {
			img = w.gts[gi].img
		}
		if di < len(w.dts) {
			img = min(img, w.dts[di].img)
		}
		g0, d0 := gi, di
		for gi < len(w.gts) && w.gts[gi].img == img {
			gi++
		}
		for di < len(w.dts) && w.dts[di].img == img {
			di++
		}
		dts := w.dts[d0:di]
		if len(dts) > maxDetections[numMaxDet-1] {
			dts = dts[:maxDetections[numMaxDet-1]]
		}
		w.image(w.gts[g0:gi], dts, &npig)
	}
	w.accumulate(k, &npig)
}

// image matches one image's detections (sorted, cut) to its ground truth
// at every area range and threshold, greedily in score order, exactly as
// the reference does, and appends the outcomes to w.kept.
func (w *worker) image(gts []gtBox, dts []dtBox, npig *[numArea]int) {
	G, D := len(gts), len(dts)
	base := len(w.kept)
	for r, d := range dts {
		w.kept = append(w.kept, keptDet{score: d.score, rank: int32(r)})
	}
	// ious[d*G+g], g in file order.
	w.ious = slices.Grow(w.ious[:0], D*G)[:D*G]
	for i, d := range dts {
		for j, g := range gts {
			w.ious[i*G+j] = iou(d.box, g.box, g.crowd)
		}
	}
	w.perm = slices.Grow(w.perm[:0], G)[:G]
	w.gtHit = slices.Grow(w.gtHit[:0], numIoU*G)[:numIoU*G]
	w.ign = slices.Grow(w.ign[:0], G)

	for a, rng := range areaRanges {
		// Ground truth not ignored first, each group in file order.
		// ign[p]: the object at sorted position p is ignored.
		ign := w.ign[:0]
		for j, g := range gts {
			if !(g.crowd || g.area < rng[0] || g.area > rng[1]) {
				w.perm[len(ign)] = j
				ign = append(ign, false)
			}
		}
		npig[a] += len(ign)
		for j, g := range gts {
			if g.crowd || g.area < rng[0] || g.area > rng[1] {
				w.perm[len(ign)] = j
				ign = append(ign, true)
			}
		}
		clear(w.gtHit)
		for t, thr := range iouThresholds {
			hit := w.gtHit[t*G : (t+1)*G]
			for i := range dts {
				best := min(thr, iouCeiling)
				m := -1
				for p, j := range w.perm {
					// A matched object is taken, unless a crowd region.
					if hit[p] && !gts[j].crowd {
						continue
					}
					// Matched to a counted object: ignored ones come later.
					if m > -1 && !ign[m] && ign[p] {
						break
					}
					v := w.ious[i*G+j]
					if v < best {
						continue
					}
					best, m = v, p
				}
				kd := &w.kept[base+i]
				bit := uint16(1) << t
				if m == -1 {
					if dts[i].area < rng[0] || dts[i].area > rng[1] {
						kd.ignored[a] |= bit
					}
					continue
				}
				hit[m] = true
				g := gts[w.perm[m]]
				switch {
				case ign[m]:
					kd.ignored[a] |= bit
				case g.id != 0:
					kd.tp[a] |= bit
				}
				// The reference records the match by the object's id, so
				// a match to id 0 reads as no match: a false positive,
				// or ignored outside the area range.
				if g.id == 0 && !ign[m] && (dts[i].area < rng[0] || dts[i].area > rng[1]) {
					kd.ignored[a] |= bit
				}
			}
		}
	}
}

// accumulate turns category k's outcomes into precision at the 101
// recall points and the final recall, for every threshold, area range and
// detection cut (the reference's accumulate). Detections of all images
// are ranked by score, ties in image-id order, then by rank in the image.
func (w *worker) accumulate(k int, npig *[numArea]int) {
	w.order = slices.Grow(w.order[:0], len(w.kept))[:len(w.kept)]
	for i := range w.order {
		w.order[i] = int32(i)
	}
	kept := w.kept
	slices.SortFunc(w.order, func(a, b int32) int {
		if c := cmp.Compare(kept[b].score, kept[a].score); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	w.rc = slices.Grow(w.rc[:0], len(kept))[:len(kept)]
	w.pr = slices.Grow(w.pr[:0], len(kept))[:len(kept)]
	for m, maxDet := range maxDetections {
		for a := range numArea {
			if npig[a] == 0 {
				continue // precision and recall stay -1
			}
			total := float64(npig[a])
			for t := range numIoU {
				bit := uint16(1) << t
				tp, fp := 0.0, 0.0
				n := 0
				for _, i := range w.order {
					kd := &kept[i]
					if int(kd.rank) >= maxDet {
						continue
					}
					switch {
					case kd.tp[a]&bit != 0:
						tp++
					case kd.ignored[a]&bit == 0:
						fp++
					}
					w.rc[n] = tp / total
					w.pr[n] = tp / (fp + tp + machineEpsilon)
					n++
				}
				rc, pr := w.rc[:n], w.pr[:n]
				recall := 0.0
				if n > 0 {
					recall = rc[n-1]
				}
				w.acc.setRecall(t, k, a, m, recall)
				// Precision made monotone from the right, then read at
				// the first detection reaching each recall point; points
				// never reached keep precision 0.
				for i := n - 1; i > 0; i-- {
					if pr[i] > pr[i-1] {
						pr[i-1] = pr[i]
					}
				}
				i := 0
				for r, thr := range recallThresholds {
					for i < n && rc[i] < thr {
						i++
					}
					q := 0.0
					if i < n {
						q = pr[i]
					}
					w.acc.setPrecision(t, r, k, a, m, q)
				}
			}
		}
	}
}
