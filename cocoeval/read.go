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
			return readEntries(s, "images", &gt.Images, readImage)
		case "categories":
			seen.categories = true
			return readEntries(s, "categories", &gt.Categories, readCategory)
		case "annotations":
			seen.annotations = true
			return readEntries(s, "annotations", &gt.Annotations, readAnnotation)
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

// readEntries reads a JSON array of entries with read, appending them to
// *dst. An entry's error says which list and index; read may label it by
// returning an *EntryError itself.
func readEntries[T any](s *scanner, list string, dst *[]T, read func(*scanner) (T, error)) error {
	return s.array(func(i int) error {
		v, err := read(s)
		if err != nil {
			e, ok := err.(*EntryError)
			if !ok {
				e = &EntryError{Err: err}
			}
			e.List, e.Index = list, i
			return e
		}
		*dst = append(*dst, v)
		return nil
	})
}

// readPlaced reads a member that places an annotation or a detection
// (image_id, category_id, bbox); placed is false for any other key.
func readPlaced(s *scanner, key []byte, has *fields, imageID, categoryID *int64, box *Box) (placed bool, err error) {
	switch string(key) {
	case "image_id":
		*has |= hasImage
		*imageID, err = s.id()
	case "category_id":
		*has |= hasCategory
		*categoryID, err = s.id()
	case "bbox":
		*has |= hasBBox
		*box, err = s.box()
	default:
		return false, nil
	}
	return true, err
}

// readAnnotation reads one annotation; its error carries the annotation's
// id once that is read.
func readAnnotation(s *scanner) (Annotation, error) {
	var a Annotation
	var has fields
	err := s.object(func(key []byte) error {
		placed, err := readPlaced(s, key, &has, &a.ImageID, &a.CategoryID, &a.BBox)
		switch {
		case placed:
		case string(key) == "id":
			has |= hasID
			a.ID, err = s.id()
		case string(key) == "area":
			has |= hasArea
			a.Area, err = s.float()
		case string(key) == "iscrowd":
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
	if err == nil {
		err = missing(has, hasID|hasImage|hasCategory|hasBBox|hasArea)
	}
	if err != nil && has&hasID != 0 {
		err = &EntryError{Label: fmt.Sprintf("id %d", a.ID), Err: err}
	}
	return a, err
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
	err := readEntries(s, "detections", &dts, readDetection)
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
		placed, err := readPlaced(s, key, &has, &d.ImageID, &d.CategoryID, &d.BBox)
		switch {
		case placed:
		case string(key) == "score":
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
