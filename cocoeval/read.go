package cocoeval

import (
	"fmt"
	"io"
)

// ReadGroundTruth reads a COCO instances file (images, categories,
// annotations). Fields bbox evaluation does not use (segmentation, info,
// licenses, ...) are skipped; an annotation's ignore flag is skipped too,
// because the reference overwrites it with iscrowd.
func ReadGroundTruth(r io.Reader) (*GroundTruth, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return ParseGroundTruth(data)
}

// ParseGroundTruth is ReadGroundTruth on bytes.
func ParseGroundTruth(data []byte) (*GroundTruth, error) {
	s := &scanner{data: data}
	if k := s.kind(); k != "an object" {
		return nil, fmt.Errorf("a COCO instances file is a JSON object with images, annotations and categories; this one is %s", k)
	}
	gt := &GroundTruth{}
	var seen struct{ images, categories, annotations bool }
	err := s.object(func(key []byte) error {
		switch string(key) {
		case "images":
			seen.images = true
			return s.array(func(i int) error {
				im, err := readImage(s)
				if err != nil {
					return &EntryError{List: "images", Index: i, Err: err}
				}
				gt.Images = append(gt.Images, im)
				return nil
			})
		case "categories":
			seen.categories = true
			return s.array(func(i int) error {
				c, err := readCategory(s)
				if err != nil {
					return &EntryError{List: "categories", Index: i, Err: err}
				}
				gt.Categories = append(gt.Categories, c)
				return nil
			})
		case "annotations":
			seen.annotations = true
			return s.array(func(i int) error {
				a, has, err := readAnnotation(s)
				if err != nil {
					e := &EntryError{List: "annotations", Index: i, Err: err}
					if has&hasID != 0 {
						e.Label = fmt.Sprintf("id %d", a.ID)
					}
					return e
				}
				gt.Annotations = append(gt.Annotations, a)
				return nil
			})
		default:
			return s.skip()
		}
	})
	if err == nil {
		err = s.end()
	}
	if err != nil {
		return nil, err
	}
	switch {
	case !seen.images:
		return nil, fmt.Errorf(`no "images" list: is this a COCO instances file?`)
	case !seen.categories:
		return nil, fmt.Errorf(`no "categories" list: is this a COCO instances file?`)
	case !seen.annotations:
		return nil, fmt.Errorf(`no "annotations" list: is this a COCO instances file?`)
	}
	return gt, nil
}

// fields tracks which required members an object had.
type fields uint8

const (
	hasID fields = 1 << iota
	hasImage
	hasCategory
	hasBBox
	hasArea
	hasScore
)

func readImage(s *scanner) (Image, error) {
	var im Image
	var hasID bool
	err := s.object(func(key []byte) error {
		if string(key) != "id" {
			return s.skip()
		}
		hasID = true
		var err error
		im.ID, err = s.id()
		return err
	})
	if err == nil && !hasID {
		err = fmt.Errorf(`no "id"`)
	}
	return im, err
}

func readCategory(s *scanner) (Category, error) {
	var c Category
	var hasID bool
	err := s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "id":
			hasID = true
			c.ID, err = s.id()
		case "name":
			if s.kind() != "a string" {
				return s.skip()
			}
			c.Name, err = s.str()
		default:
			err = s.skip()
		}
		return err
	})
	if err == nil && !hasID {
		err = fmt.Errorf(`no "id"`)
	}
	return c, err
}

func readAnnotation(s *scanner) (Annotation, fields, error) {
	var a Annotation
	var has fields
	err := s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "id":
			has |= hasID
			a.ID, err = s.id()
		case "image_id":
			has |= hasImage
			a.ImageID, err = s.id()
		case "category_id":
			has |= hasCategory
			a.CategoryID, err = s.id()
		case "bbox":
			has |= hasBBox
			a.BBox, err = s.box()
		case "area":
			has |= hasArea
			a.Area, err = s.float()
		case "iscrowd":
			switch s.peek() {
			case 't':
				a.IsCrowd = true
				err = s.literal("true")
			case 'f':
				err = s.literal("false")
			default:
				var v float64
				v, err = s.float()
				a.IsCrowd = v != 0
			}
		default:
			err = s.skip()
		}
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		return nil
	})
	if err != nil {
		return a, has, err
	}
	return a, has, missing(has, hasID|hasImage|hasCategory|hasBBox|hasArea)
}

// ReadDetections reads a COCO results file: a JSON array of
// {"image_id", "category_id", "bbox": [x, y, width, height], "score"}.
// Other members (segmentation, area, ...) are skipped.
func ReadDetections(r io.Reader) ([]Detection, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return ParseDetections(data)
}

// ParseDetections is ReadDetections on bytes.
func ParseDetections(data []byte) ([]Detection, error) {
	s := &scanner{data: data}
	switch k := s.kind(); k {
	case "an array":
	case "an object":
		return nil, fmt.Errorf("a COCO results file is a JSON array of detections; this one is an object (a ground-truth file?)")
	default:
		return nil, fmt.Errorf("a COCO results file is a JSON array of detections; this one is %s", k)
	}
	// About 90 bytes a detection in the usual layout.
	dts := make([]Detection, 0, len(data)/90+1)
	err := s.array(func(i int) error {
		d, err := readDetection(s)
		if err != nil {
			return &EntryError{List: "detections", Index: i, Err: err}
		}
		dts = append(dts, d)
		return nil
	})
	if err == nil {
		err = s.end()
	}
	if err != nil {
		return nil, err
	}
	return dts, nil
}

func readDetection(s *scanner) (Detection, error) {
	var d Detection
	var has fields
	err := s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "image_id":
			has |= hasImage
			d.ImageID, err = s.id()
		case "category_id":
			has |= hasCategory
			d.CategoryID, err = s.id()
		case "bbox":
			has |= hasBBox
			d.BBox, err = s.box()
		case "score":
			has |= hasScore
			d.Score, err = s.float()
		default:
			err = s.skip()
		}
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		return nil
	})
	if err != nil {
		return d, err
	}
	return d, missing(has, hasImage|hasCategory|hasBBox|hasScore)
}

// missing names the first required member an object lacked.
func missing(has, want fields) error {
	names := []string{"id", "image_id", "category_id", "bbox", "area", "score"}
	for i, name := range names {
		bit := fields(1) << i
		if want&bit != 0 && has&bit == 0 {
			return fmt.Errorf("no %q", name)
		}
	}
	return nil
}
