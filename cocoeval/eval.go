package cocoeval

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// Options tune how Evaluate runs, never what it computes.
type Options struct {
	// Workers is how many goroutines match images and accumulate
	// categories; 0 means GOMAXPROCS. Each image's matching and each
	// category's accumulation is done whole by one worker, so the result
	// is the same for any value.
	Workers int

	// chunk is how much work (objects + detections) a matching task
	// takes, in whole images; tests set it small.
	chunk int
}

// defaultChunk keeps tasks big enough to amortise their set-up and small
// enough to balance a set where one category dominates (COCO's person).
const defaultChunk = 8192

// Evaluate scores the detections against the ground truth. It checks both
// first: a detection on an image or category the ground truth lacks, a
// negative box, or a repeated id is an *EntryError naming the entry.
func Evaluate(ctx context.Context, gt *GroundTruth, dts []Detection, opts Options) (*Result, error) {
	ix, err := newIndex(gt, dts)
	if err != nil {
		return nil, err
	}
	nw := opts.Workers
	if nw <= 0 {
		nw = runtime.GOMAXPROCS(0)
	}
	size := opts.chunk
	if size <= 0 {
		size = defaultChunk
	}
	K := len(ix.catIDs)
	acc := newAccumulation(K)
	p := newPlan(ix, size)
	workers := make([]*worker, nw)
	for i := range workers {
		workers[i] = &worker{ix: ix, acc: acc}
	}

	// Matching, by runs of images of one category: the reference's
	// evaluateImg.
	parallel(ctx, workers, len(p.chunks), func(w *worker, i int) {
		w.match(&p.chunks[i], p.kept)
	})
	// Accumulation, by category, largest first so that no worker is left
	// with a big one at the end.
	order := make([]int, K)
	for k := range order {
		order[k] = k
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Compare(p.keptStart[b+1]-p.keptStart[b], p.keptStart[a+1]-p.keptStart[a])
	})
	parallel(ctx, workers, K, func(w *worker, i int) {
		k := order[i]
		var npig [numArea]int
		for _, c := range p.chunks[p.chunkStart[k]:p.chunkStart[k+1]] {
			for a := range npig {
				npig[a] += c.npig[a]
			}
		}
		w.accumulate(k, p.kept[p.keptStart[k]:p.keptStart[k+1]], &npig)
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	res := &Result{
		Stats:       acc.stats(),
		Images:      len(ix.imgIDs),
		Annotations: len(gt.Annotations),
		Detections:  len(dts),
	}
	for k, id := range ix.catIDs {
		res.PerCategory = append(res.PerCategory, CategoryAP{ID: id, Name: ix.catNames[k], AP: acc.categoryAP(k)})
	}
	return res, nil
}

// parallel runs task(i) for i in [0, n) on the workers, each task on one.
func parallel(ctx context.Context, workers []*worker, n int, task func(w *worker, i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for _, w := range workers[:min(len(workers), n)] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				task(w, i)
			}
		}()
	}
	wg.Wait()
}

// plan cuts each category's images into chunks and places every image's
// top-100 detections in kept, category after category, each category's in
// image order.
type plan struct {
	chunks []chunk
	// chunkStart[k]:chunkStart[k+1] are category k's chunks, and
	// keptStart[k]:keptStart[k+1] its detections in kept.
	chunkStart, keptStart []int
	kept                  []keptDet
}

// chunk is a run of whole images of one category.
type chunk struct {
	gtLo, gtHi int // in index.gts
	dtLo, dtHi int // in index.dets
	keptLo     int // where its images' detections go in plan.kept
	// npig counts the objects not ignored at each area range; the
	// worker that matches the chunk fills it in.
	npig [numArea]int
}

func newPlan(ix *index, size int) *plan {
	K := len(ix.catIDs)
	p := &plan{chunkStart: make([]int, K+1), keptStart: make([]int, K+1)}
	kept := 0
	for k := range K {
		p.chunkStart[k] = len(p.chunks)
		p.keptStart[k] = kept
		gi, gHi := ix.gtStart[k], ix.gtStart[k+1]
		di, dHi := ix.dtStart[k], ix.dtStart[k+1]
		c := chunk{gtLo: gi, dtLo: di, keptLo: kept}
		for gi < gHi || di < dHi {
			img := imageAt(ix, gi, gHi, di, dHi)
			d0 := di
			for gi < gHi && ix.gts[gi].img == img {
				gi++
			}
			for di < dHi && ix.dets[di].img == img {
				di++
			}
			kept += min(di-d0, maxDetections[numMaxDet-1])
			if gi-c.gtLo+di-c.dtLo >= size {
				c.gtHi, c.dtHi = gi, di
				p.chunks = append(p.chunks, c)
				c = chunk{gtLo: gi, dtLo: di, keptLo: kept}
			}
		}
		if gi > c.gtLo || di > c.dtLo {
			c.gtHi, c.dtHi = gi, di
			p.chunks = append(p.chunks, c)
		}
	}
	p.chunkStart[K] = len(p.chunks)
	p.keptStart[K] = kept
	p.kept = make([]keptDet, kept)
	return p
}

// imageAt is the image of the next object or detection, whichever comes
// first in image order.
func imageAt(ix *index, gi, gHi, di, dHi int) int32 {
	img := int32(len(ix.imgIDs))
	if gi < gHi {
		img = ix.gts[gi].img
	}
	if di < dHi {
		img = min(img, ix.dets[di].img)
	}
	return img
}

// index holds the inputs checked, with images and categories numbered in
// id order (the reference sorts both), and annotations and detections
// grouped by category in file order.
type index struct {
	imgIDs, catIDs []int64
	catNames       []string
	gts            []gtBox
	dets           []dtBox
	// gtStart[k]:gtStart[k+1] are category k's ground truth in gts;
	// dtStart likewise in dets.
	gtStart, dtStart []int
}

type gtBox struct {
	box   Box
	area  float64
	id    int64
	img   int32
	crowd bool
}

type dtBox struct {
	box   Box
	area  float64
	score float64
	// id is the reference's detection id, 1 + the position in the file;
	// among equal scores the lower one comes first.
	id  int64
	img int32
}

func newIndex(gt *GroundTruth, dts []Detection) (*index, error) {
	if gt == nil {
		return nil, errors.New("no ground truth")
	}
	imgNum, imgIDs, err := number("images", len(gt.Images), func(i int) int64 { return gt.Images[i].ID })
	if err != nil {
		return nil, err
	}
	catNum, catIDs, err := number("categories", len(gt.Categories), func(i int) int64 { return gt.Categories[i].ID })
	if err != nil {
		return nil, err
	}
	ix := &index{imgIDs: imgIDs, catIDs: catIDs, catNames: make([]string, len(catIDs))}
	for _, c := range gt.Categories {
		k, _ := catNum.lookup(c.ID)
		ix.catNames[k] = c.Name
	}
	K := len(catIDs)

	gtCat := make([]int32, len(gt.Annotations))
	gtImg := make([]int32, len(gt.Annotations))
	annAt := make(map[int64]int, len(gt.Annotations))
	for i, a := range gt.Annotations {
		bad := func(format string, args ...any) error {
			return &EntryError{List: "annotations", Index: i, Label: fmt.Sprintf("id %d", a.ID), Err: fmt.Errorf(format, args...)}
		}
		if j, dup := annAt[a.ID]; dup {
			return nil, bad("id %d repeats annotations[%d]'s; annotation ids must be unique", a.ID, j)
		}
		annAt[a.ID] = i
		img, ok := imgNum.lookup(a.ImageID)
		if !ok {
			return nil, bad("image_id %d is not in the images list", a.ImageID)
		}
		cat, ok := catNum.lookup(a.CategoryID)
		if !ok {
			return nil, bad("category_id %d is not in the categories list", a.CategoryID)
		}
		if err := checkBox(a.BBox); err != nil {
			return nil, bad("%w", err)
		}
		gtImg[i], gtCat[i] = img, cat
	}
	dtCat := make([]int32, len(dts))
	dtImg := make([]int32, len(dts))
	for i, d := range dts {
		bad := func(format string, args ...any) error {
			return &EntryError{List: "detections", Index: i,
				Label: fmt.Sprintf("image_id %d, category_id %d", d.ImageID, d.CategoryID), Err: fmt.Errorf(format, args...)}
		}
		img, ok := imgNum.lookup(d.ImageID)
		if !ok {
			return nil, bad("image_id %d is not among the ground truth's images", d.ImageID)
		}
		cat, ok := catNum.lookup(d.CategoryID)
		if !ok {
			return nil, bad("category_id %d is not among the ground truth's categories", d.CategoryID)
		}
		if err := checkBox(d.BBox); err != nil {
			return nil, bad("%w", err)
		}
		dtImg[i], dtCat[i] = img, cat
	}

	// Grouped by category, then image, keeping file order.
	I := len(imgIDs)
	ix.gtStart = starts(K, gtCat)
	ix.gts = make([]gtBox, len(gt.Annotations))
	for n, i := range group(K, I, gtCat, gtImg) {
		a := gt.Annotations[i]
		ix.gts[n] = gtBox{box: a.BBox, area: a.Area, id: a.ID, img: gtImg[i], crowd: a.IsCrowd}
	}
	ix.dtStart = starts(K, dtCat)
	ix.dets = make([]dtBox, len(dts))
	for n, i := range group(K, I, dtCat, dtImg) {
		d := dts[i]
		ix.dets[n] = dtBox{box: d.BBox, area: float64(d.BBox[2] * d.BBox[3]), score: d.Score, id: int64(i) + 1, img: dtImg[i]}
	}
	return ix, nil
}

// numbering gives each id its rank among the sorted ids: a table when the
// ids are compact (COCO's are), else a map.
type numbering struct {
	lo     int64
	dense  []int32 // rank+1 at id-lo, 0 for none
	sparse map[int64]int32
}

func (n *numbering) lookup(id int64) (int32, bool) {
	if n.sparse != nil {
		r, ok := n.sparse[id]
		return r, ok
	}
	// Unsigned, so that ids far apart do not wrap into the table.
	off := uint64(id) - uint64(n.lo)
	if id < n.lo || off >= uint64(len(n.dense)) {
		return 0, false
	}
	r := n.dense[off]
	return r - 1, r != 0
}

// number numbers the ids of a list, refusing a repeated one.
func number(list string, n int, id func(int) int64) (*numbering, []int64, error) {
	type entry struct {
		id  int64
		pos int
	}
	entries := make([]entry, n)
	for i := range n {
		entries[i] = entry{id(i), i}
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if c := cmp.Compare(a.id, b.id); c != 0 {
			return c
		}
		return cmp.Compare(a.pos, b.pos)
	})
	// Name the first repeat in file order.
	dup := -1
	for i := 1; i < n; i++ {
		if entries[i].id == entries[i-1].id && (dup < 0 || entries[i].pos < entries[dup].pos) {
			dup = i
		}
	}
	if dup >= 0 {
		e, first := entries[dup], entries[dup-1]
		return nil, nil, &EntryError{List: list, Index: e.pos, Label: fmt.Sprintf("id %d", e.id),
			Err: fmt.Errorf("id %d repeats %s[%d]'s; ids must be unique", e.id, list, first.pos)}
	}
	ids := make([]int64, n)
	for i, e := range entries {
		ids[i] = e.id
	}
	num := &numbering{}
	if n > 0 && uint64(ids[n-1]-ids[0]) < uint64(16*n+1<<16) {
		num.lo = ids[0]
		num.dense = make([]int32, ids[n-1]-ids[0]+1)
		for i, v := range ids {
			num.dense[v-num.lo] = int32(i) + 1
		}
	} else {
		num.sparse = make(map[int64]int32, n)
		for i, v := range ids {
			num.sparse[v] = int32(i)
		}
	}
	return num, ids, nil
}

// group returns the entries' positions ordered by category, then image,
// then position: two stable counting sorts, by image and then by category.
func group(K, I int, cat, img []int32) []int32 {
	byImg := make([]int32, len(img))
	fill := starts(I, img)
	for i, m := range img {
		byImg[fill[m]] = int32(i)
		fill[m]++
	}
	out := make([]int32, len(cat))
	fill = starts(K, cat)
	for _, i := range byImg {
		k := cat[i]
		out[fill[k]] = i
		fill[k]++
	}
	return out
}

// starts returns the offsets of each group in a counting sort by key.
func starts(K int, key []int32) []int {
	s := make([]int, K+1)
	for _, k := range key {
		s[k+1]++
	}
	for k := range K {
		s[k+1] += s[k]
	}
	return s
}

func checkBox(b Box) error {
	if b[2] < 0 || b[3] < 0 {
		return fmt.Errorf("bbox %v has a negative width or height; want [x, y, width, height] with width, height ≥ 0", b)
	}
	return nil
}

// iou is the overlap of a detection and a ground-truth box as the
// reference's C code computes it; for a crowd region the union is the
// detection's own area. Conversions round each product, as C does here.
func iou(d, g Box, crowd bool) float64 {
	w := min(d[2]+d[0], g[2]+g[0]) - max(d[0], g[0])
	if w <= 0 {
		return 0
	}
	h := min(d[3]+d[1], g[3]+g[1]) - max(d[1], g[1])
	if h <= 0 {
		return 0
	}
	inter := float64(w * h)
	da := float64(d[2] * d[3])
	if crowd {
		return inter / da
	}
	ga := float64(g[2] * g[3])
	return inter / (da + ga - inter)
}
