package coco

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
)

// Instances is a COCO instances file (instances_train2017.json and the
// like). Fields the detector does not use (info, licenses, polygon
// points) are not kept, except segmentation, passed through for writers.
type Instances struct {
	Images      []Image      `json:"images"`
	Annotations []Annotation `json:"annotations"`
	Categories  []Category   `json:"categories"`
}

// Image is one entry of "images".
type Image struct {
	ID       int64  `json:"id"`
	FileName string `json:"file_name"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
}

// Annotation is one entry of "annotations": an object, or with IsCrowd a
// region of many objects.
type Annotation struct {
	ID         int64     `json:"id"`
	ImageID    int64     `json:"image_id"`
	CategoryID int64     `json:"category_id"`
	BBox       []float64 `json:"bbox"` // x, y, width, height
	Area       float64   `json:"area"`
	IsCrowd    int       `json:"iscrowd"`
	// Segmentation is kept as written: polygons, or run-length encoding
	// for crowd regions.
	Segmentation json.RawMessage `json:"segmentation,omitempty"`
	// Ignore is the optional flag some COCO-style sets use to drop an
	// annotation from training and evaluation.
	Ignore bool `json:"ignore,omitempty"`
}

// Category is one entry of "categories".
type Category struct {
	ID            int64  `json:"id"`
	Name          string `json:"name"`
	Supercategory string `json:"supercategory,omitempty"`
}

// ReadInstances reads and checks an instances file.
func ReadInstances(path string) (*Instances, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("coco: %w", err)
	}
	in, err := ParseInstances(b)
	if err != nil {
		return nil, fmt.Errorf("coco: %s: %w", path, err)
	}
	return in, nil
}

// ParseInstances decodes and checks an instances document. An error names
// the entry at fault, as in annotations[12] (id 907).
func ParseInstances(b []byte) (*Instances, error) {
	var top struct {
		Images      []json.RawMessage `json:"images"`
		Annotations []json.RawMessage `json:"annotations"`
		Categories  []json.RawMessage `json:"categories"`
	}
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, jsonError(b, err)
	}
	if top.Images == nil || top.Categories == nil {
		return nil, errors.New(`not a COCO instances file: "images" and "categories" are required`)
	}
	in := &Instances{
		Images:      make([]Image, len(top.Images)),
		Annotations: make([]Annotation, len(top.Annotations)),
		Categories:  make([]Category, len(top.Categories)),
	}
	for i, raw := range top.Categories {
		if err := decodeEntry(raw, &in.Categories[i], []string{"id", "name"}); err != nil {
			return nil, fmt.Errorf("categories[%d]: %w", i, err)
		}
	}
	for i, raw := range top.Images {
		if err := decodeEntry(raw, &in.Images[i], []string{"id", "file_name", "width", "height"}); err != nil {
			return nil, fmt.Errorf("images[%d]: %w", i, err)
		}
	}
	for i, raw := range top.Annotations {
		if err := decodeEntry(raw, &in.Annotations[i], []string{"id", "image_id", "category_id", "bbox"}); err != nil {
			return nil, fmt.Errorf("annotations[%d]: %w", i, err)
		}
	}
	return in, in.Validate()
}

// decodeEntry decodes one array element, requiring the named keys.
func decodeEntry(raw json.RawMessage, v any, required []string) error {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	for _, k := range required {
		if _, ok := keys[k]; !ok {
			return fmt.Errorf("%q is missing", k)
		}
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%q: a JSON %s where a %s belongs", te.Field, te.Value, te.Type)
		}
		return err
	}
	return nil
}

// jsonError places a syntax error at its line and column.
func jsonError(b []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) && int(se.Offset) >= len(b) {
		return fmt.Errorf("not valid JSON: the file ends early (truncated?): %w", err)
	}
	if errors.As(err, &se) {
		off := min(int(se.Offset), len(b))
		line := 1 + bytes.Count(b[:off], []byte("\n"))
		col := off - bytes.LastIndexByte(b[:off], '\n')
		return fmt.Errorf("not valid JSON at line %d, column %d: %w", line, col, err)
	}
	return fmt.Errorf("not a COCO instances file: %w", err)
}

// Validate checks that identifiers are unique, every annotation's image
// and category exist, sizes are positive and boxes are well formed.
func (in *Instances) Validate() error {
	cats := make(map[int64]bool, len(in.Categories))
	for i, c := range in.Categories {
		if cats[c.ID] {
			return fmt.Errorf("categories[%d]: id %d appears twice", i, c.ID)
		}
		cats[c.ID] = true
	}
	imgs := make(map[int64]bool, len(in.Images))
	for i, im := range in.Images {
		switch {
		case imgs[im.ID]:
			return fmt.Errorf("images[%d]: id %d appears twice", i, im.ID)
		case im.FileName == "":
			return fmt.Errorf("images[%d] (id %d): file_name is empty", i, im.ID)
		case im.Width <= 0 || im.Height <= 0:
			return fmt.Errorf("images[%d] (id %d): width %d and height %d must be positive", i, im.ID, im.Width, im.Height)
		}
		imgs[im.ID] = true
	}
	anns := make(map[int64]bool, len(in.Annotations))
	for i, a := range in.Annotations {
		where := func() string { return fmt.Sprintf("annotations[%d] (id %d)", i, a.ID) }
		switch {
		case anns[a.ID]:
			return fmt.Errorf("%s: id appears twice", where())
		case !imgs[a.ImageID]:
			return fmt.Errorf("%s: image_id %d is not in images", where(), a.ImageID)
		case !cats[a.CategoryID]:
			return fmt.Errorf("%s: category_id %d is not in categories", where(), a.CategoryID)
		case len(a.BBox) != 4:
			return fmt.Errorf("%s: bbox has %d numbers, want 4 (x, y, width, height)", where(), len(a.BBox))
		case a.BBox[2] < 0 || a.BBox[3] < 0:
			return fmt.Errorf("%s: bbox %v has a negative width or height", where(), a.BBox)
		case a.IsCrowd != 0 && a.IsCrowd != 1:
			return fmt.Errorf("%s: iscrowd is %d, want 0 or 1", where(), a.IsCrowd)
		case a.Area < 0:
			return fmt.Errorf("%s: area %v is negative", where(), a.Area)
		}
		for _, v := range a.BBox {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%s: bbox %v is not finite", where(), a.BBox)
			}
		}
		anns[a.ID] = true
	}
	return nil
}
