package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Files the report folder holds besides the plots.
const (
	MarkdownFile = "report.md"
	HTMLFile     = "report.html"
	// DataFile holds the Report and its Figures: the numbers behind every
	// plot and table.
	DataFile = "report.json"
)

// Data is what DataFile holds.
type Data struct {
	Report  *Report  `json:"report"`
	Figures []Figure `json:"figures"`
}

// WriteOptions say what Write adds to the documents.
type WriteOptions struct {
	// CompareFile names the --compare source in the documents.
	CompareFile string
	// Progress, when set, hears of each file written.
	Progress func(path string)
}

// Write draws the report's figures and writes, into dir (created if
// needed), NAME.png and NAME.svg per figure, report.md, report.html and
// report.json. It returns the paths written. Each file is written whole
// (a temporary file renamed), so an interrupted run leaves no half file.
func Write(dir string, r *Report, o WriteOptions) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create report folder: %w", err)
	}
	var written []string
	put := func(name string, data []byte) error {
		p := filepath.Join(dir, name)
		if err := writeFile(p, data); err != nil {
			return err
		}
		written = append(written, p)
		if o.Progress != nil {
			o.Progress(p)
		}
		return nil
	}
	figs := Figures(r)
	var rendered []Rendered
	for _, f := range figs {
		rf, err := Render(f)
		if err != nil {
			return written, err
		}
		if err := put(f.Name+".png", rf.PNG); err != nil {
			return written, err
		}
		if err := put(f.Name+".svg", rf.SVG); err != nil {
			return written, err
		}
		rendered = append(rendered, rf)
	}
	secs := r.sections(rendered, o.CompareFile)
	var md, html bytes.Buffer
	if err := writeMarkdown(&md, r.title(), secs); err != nil {
		return written, err
	}
	if err := put(MarkdownFile, md.Bytes()); err != nil {
		return written, err
	}
	if err := writeHTML(&html, r.title(), secs); err != nil {
		return written, fmt.Errorf("report.html: %w", err)
	}
	if err := put(HTMLFile, html.Bytes()); err != nil {
		return written, err
	}
	data, err := json.MarshalIndent(Data{Report: r, Figures: figs}, "", "  ")
	if err != nil {
		return written, fmt.Errorf("report.json: %w", err)
	}
	if err := put(DataFile, append(data, '\n')); err != nil {
		return written, err
	}
	return written, nil
}

func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, werr)
	}
	return nil
}
