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
// like), with the fields a detector uses.
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
	// Segmentation (polygons, or run-length encoding for crowd regions)
	// is for writers: ParseInstances skips it.
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
// the entry at fault, as in annotations[12] (id 907). Segmentations are
// skipped: a detector does not need them, and they are most of COCO's
// bytes.
func ParseInstances(b []byte) (*Instances, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	in := &Instances{}
	var sawImages, sawCategories bool
	err := func() error {
		if t, err := dec.Token(); err != nil {
			return err
		} else if t != json.Delim('{') {
			return errors.New("not a JSON object")
		}
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				return err
			}
			switch key, _ := t.(string); key {
			case "images":
				sawImages = true
				err = decodeArray(dec, key, func() error {
					var e struct {
						ID       *int64  `json:"id"`
						FileName *string `json:"file_name"`
						Width    *int    `json:"width"`
						Height   *int    `json:"height"`
					}
					if err := decodeEntry(dec, &e); err != nil {
						return err
					}
					if err := missing("id", e.ID == nil, "file_name", e.FileName == nil, "width", e.Width == nil, "height", e.Height == nil); err != nil {
						return err
					}
					in.Images = append(in.Images, Image{ID: *e.ID, FileName: *e.FileName, Width: *e.Width, Height: *e.Height})
					return nil
				})
			case "annotations":
				err = decodeArray(dec, key, func() error {
					var e struct {
						ID         *int64    `json:"id"`
						ImageID    *int64    `json:"image_id"`
						CategoryID *int64    `json:"category_id"`
						BBox       []float64 `json:"bbox"`
						Area       float64   `json:"area"`
						IsCrowd    int       `json:"iscrowd"`
						Ignore     bool      `json:"ignore"`
					}
					if err := decodeEntry(dec, &e); err != nil {
						return err
					}
					if err := missing("id", e.ID == nil, "image_id", e.ImageID == nil, "category_id", e.CategoryID == nil, "bbox", e.BBox == nil); err != nil {
						return err
					}
					in.Annotations = append(in.Annotations, Annotation{ID: *e.ID, ImageID: *e.ImageID, CategoryID: *e.CategoryID,
						BBox: e.BBox, Area: e.Area, IsCrowd: e.IsCrowd, Ignore: e.Ignore})
					return nil
				})
			case "categories":
				sawCategories = true
				err = decodeArray(dec, key, func() error {
					var e struct {
						ID            *int64  `json:"id"`
						Name          *string `json:"name"`
						Supercategory string  `json:"supercategory"`
					}
					if err := decodeEntry(dec, &e); err != nil {
						return err
					}
					if err := missing("id", e.ID == nil, "name", e.Name == nil); err != nil {
						return err
					}
					in.Categories = append(in.Categories, Category{ID: *e.ID, Name: *e.Name, Supercategory: e.Supercategory})
					return nil
				})
			default: // info, licenses, ...
				var skip json.RawMessage
				err = dec.Decode(&skip)
			}
			if err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return err
		}
		return nil
	}()
	if err != nil {
		return nil, jsonError(b, err)
	}
	if !sawImages || !sawCategories {
		return nil, errors.New(`not a COCO instances file: "images" and "categories" are required`)
	}
	return in, in.Validate()
}

// entryError is a problem with one element of a top-level array.
type entryError struct {
	where string
	err   error
}

func (e *entryError) Error() string { return e.where + ": " + e.err.Error() }
func (e *entryError) Unwrap() error { return e.err }

// decodeArray calls each for every element of the array dec is at.
func decodeArray(dec *json.Decoder, key string, each func() error) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t != json.Delim('[') {
		return &entryError{key, fmt.Errorf("is a JSON %v, want an array", t)}
	}
	for i := 0; dec.More(); i++ {
		if err := each(); err != nil {
			return &entryError{fmt.Sprintf("%s[%d]", key, i), err}
		}
	}
	_, err = dec.Token()
	return err
}

// decodeEntry decodes one array element into v, saying which field has
// the wrong type.
func decodeEntry(dec *json.Decoder, v any) error {
	err := dec.Decode(v)
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te) && te.Field == "":
		return fmt.Errorf("not a JSON object but a JSON %s", te.Value)
	case errors.As(err, &te):
		return fmt.Errorf("%q: a JSON %s where a %s belongs", te.Field, te.Value, te.Type)
	}
	return err
}

// missing reports the first required key absent: pairs of name and
// whether it is missing.
func missing(pairs ...any) error {
	for i := 0; i < len(pairs); i += 2 {
		if pairs[i+1].(bool) {
			return fmt.Errorf("%q is missing", pairs[i])
		}
	}
	return nil
}

// jsonError explains err: a document that is not JSON at all gets the line
// and column of the fault (scanning it again whole, for an exact place).
func jsonError(b []byte, err error) error {
	var raw json.RawMessage
	if serr := json.Unmarshal(b, &raw); serr != nil {
		var se *json.SyntaxError
		if errors.As(serr, &se) && int(se.Offset) < len(b) {
			off := int(se.Offset)
			line := 1 + bytes.Count(b[:off], []byte("\n"))
			col := off - bytes.LastIndexByte(b[:off], '\n')
			return fmt.Errorf("not valid JSON at line %d, column %d: %w", line, col, serr)
		}
		return fmt.Errorf("not valid JSON: the file ends early (truncated?): %w", serr)
	}
	var ee *entryError
	if errors.As(err, &ee) {
		return err
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
