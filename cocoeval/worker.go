package cocoeval

import (
	"cmp"
	"math/bits"
	"slices"
)

// worker runs matching and accumulation tasks; its buffers are reused
// from task to task.
type worker struct {
	ix  *index
	acc *accumulation

	ious  []float64
	perm  []int
	gtHit []bool
	ign   []bool
	// canMatch[i]: detection i reaches the lowest threshold on some object.
	canMatch []bool
	ranked   []rankedDet
	order    []int32
	sel      []int32
	hits     [numIoU][]hit
	pr       []float64
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

// match matches every image of a chunk, writing the outcomes of each
// image's top-100 detections to kept.
func (w *worker) match(c *chunk, kept []keptDet) {
	ix := w.ix
	gi, di, ki := c.gtLo, c.dtLo, c.keptLo
	for gi < c.gtHi || di < c.dtHi {
		img := imageAt(ix, gi, c.gtHi, di, c.dtHi)
		g0, d0 := gi, di
		for gi < c.gtHi && ix.gts[gi].img == img {
			gi++
		}
		for di < c.dtHi && ix.dets[di].img == img {
			di++
		}
		// Score descending, ties in file order: numpy's stable mergesort
		// of -score. The slice is this worker's alone.
		dts := ix.dets[d0:di]
		slices.SortFunc(dts, func(a, b dtBox) int {
			if c := cmp.Compare(b.score, a.score); c != 0 {
				return c
			}
			return cmp.Compare(a.id, b.id)
		})
		if len(dts) > maxDetections[numMaxDet-1] {
			dts = dts[:maxDetections[numMaxDet-1]]
		}
		w.image(ix.gts[g0:gi], dts, kept[ki:ki+len(dts)], &c.npig)
		ki += len(dts)
	}
}

// image matches one image's detections (sorted, cut) to its ground truth
// at every area range and threshold, greedily in score order, exactly as
// the reference does, and writes the outcomes to out.
func (w *worker) image(gts []gtBox, dts []dtBox, out []keptDet, npig *[numArea]int) {
	G, D := len(gts), len(dts)
	for r, d := range dts {
		out[r] = keptDet{score: d.score, rank: int32(r)}
	}
	// ious[d*G+g], g in file order.
	w.ious = slices.Grow(w.ious[:0], D*G)[:D*G]
	// Most detections overlap nothing enough to match at any threshold;
	// they skip the matching loop.
	w.canMatch = slices.Grow(w.canMatch[:0], D)[:D]
	lowest := min(iouThresholds[0], iouCeiling)
	for i, d := range dts {
		w.canMatch[i] = false
		for j, g := range gts {
			v := iou(d.box, g.box, g.crowd)
			w.ious[i*G+j] = v
			if v >= lowest {
				w.canMatch[i] = true
			}
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
		// A detection that matches nothing is ignored outside the range,
		// at every threshold.
		for i, d := range dts {
			if !w.canMatch[i] && (d.area < rng[0] || d.area > rng[1]) {
				out[i].ignored[a] = 1<<numIoU - 1
			}
		}
		clear(w.gtHit)
		for t, thr := range iouThresholds {
			hit := w.gtHit[t*G : (t+1)*G]
			for i := range dts {
				if !w.canMatch[i] {
					continue
				}
				m := match(w.perm, ign, hit, gts, w.ious[i*G:(i+1)*G], min(thr, iouCeiling))
				kd := &out[i]
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

// accumulate turns category k's outcomes (kept, in image order) into precision at the 101
// recall points and the final recall, for every threshold, area range and
// detection cut (the reference's accumulate). Detections of all images
// are ranked by score, ties in image-id order, then by rank in the image.
func (w *worker) accumulate(k int, kept []keptDet, npig *[numArea]int) {
	// kept is in image order, each image's in rank order, so a sort by
	// score with ties by position is the reference's stable sort.
	w.ranked = slices.Grow(w.ranked[:0], len(kept))[:len(kept)]
	for i, kd := range kept {
		w.ranked[i] = rankedDet{score: kd.score, pos: int32(i)}
	}
	slices.SortFunc(w.ranked, func(a, b rankedDet) int {
		// Scores are finite: plain comparisons, cheaper than cmp.Compare.
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return int(a.pos - b.pos)
	})
	w.order = slices.Grow(w.order[:0], len(kept))[:len(kept)]
	for i, r := range w.ranked {
		w.order[i] = r.pos
	}
	for m, maxDet := range maxDetections {
		sel := w.order
		if maxDet < maxDetections[numMaxDet-1] {
			sel = w.sel[:0]
			for _, i := range w.order {
				if int(kept[i].rank) < maxDet {
					sel = append(sel, i)
				}
			}
			w.sel = sel
		}
		for a := range numArea {
			if npig[a] > 0 { // else precision and recall stay -1
				w.curve(k, a, m, kept, sel, float64(npig[a]))
			}
		}
	}
}

// rankedDet is the sort key of a kept detection, kept small for the sort.
type rankedDet struct {
	score float64
	pos   int32
}

// hit is a true positive's place on the precision-recall curve: the
// true and false positives up to and including it.
type hit struct{ tp, fp int32 }

// curve computes precision and recall for one area range and cut from
// the detections sel, in rank order.
//
// The reference computes precision after every detection, makes it
// monotone from the right and reads it at the first detection whose recall
// reaches each recall point. Recall only grows at a true positive, and
// between two true positives precision only falls (the same numerator over
// a growing denominator, also in floating point), so the same maxima and
// the same first detections are found among the true positives alone.
// Computing just those saves nine divisions in ten on a typical set.
func (w *worker) curve(k, a, m int, kept []keptDet, sel []int32, total float64) {
	const every = 1<<numIoU - 1
	var tp [numIoU]int32
	// False positives are base (those at every threshold) + extra[t].
	var extra [numIoU]int32
	var base int32
	for t := range w.hits {
		w.hits[t] = w.hits[t][:0]
	}
	for _, i := range sel {
		kd := &kept[i]
		tpm, igm := kd.tp[a], kd.ignored[a]
		fpm := ^(tpm | igm) & every
		if fpm == every {
			base++
			continue
		}
		for f := fpm; f != 0; f &= f - 1 {
			extra[bits.TrailingZeros16(f)]++
		}
		for h := tpm; h != 0; h &= h - 1 {
			t := bits.TrailingZeros16(h)
			tp[t]++
			w.hits[t] = append(w.hits[t], hit{tp: tp[t], fp: base + extra[t]})
		}
	}
	for t := range numIoU {
		hits := w.hits[t]
		w.acc.setRecall(t, k, a, m, float64(tp[t])/total)
		pr := slices.Grow(w.pr[:0], len(hits))[:len(hits)]
		for j, h := range hits {
			pr[j] = float64(h.tp) / (float64(h.fp) + float64(h.tp) + machineEpsilon)
		}
		for j := len(pr) - 1; j > 0; j-- {
			if pr[j] > pr[j-1] {
				pr[j-1] = pr[j]
			}
		}
		// Points beyond the final recall keep precision 0.
		j := 0
		for r, thr := range recallThresholds {
			for j < len(hits) && float64(hits[j].tp)/total < thr {
				j++
			}
			q := 0.0
			if j < len(hits) {
				q = pr[j]
			}
			w.acc.setPrecision(t, r, k, a, m, q)
		}
		w.pr = pr
	}
}

// match is the reference's choice of object for one detection at one
// threshold: the best IoU of at least thr, a later object winning a tie,
// among objects not yet taken (crowd regions are never taken); once a
// counted object is found, ignored ones (sorted last) are not considered.
// It returns the sorted position, or -1.
func match(perm []int, ign, taken []bool, gts []gtBox, ious []float64, thr float64) int {
	best, m := thr, -1
	for p, j := range perm {
		if taken[p] && !gts[j].crowd {
			continue
		}
		if m > -1 && !ign[m] && ign[p] {
			break
		}
		if v := ious[j]; v >= best {
			best, m = v, p
		}
	}
	return m
}
