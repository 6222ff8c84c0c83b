package bench

import "sync"

// Catalog loads tables from one directory on first use and keeps them. It
// is safe for concurrent use: activities share one. A table that failed to
// load (for example, not fetched yet) is tried again on the next Get.
type Catalog struct {
	dir     string
	mu      sync.Mutex
	entries map[string]*catalogEntry
}

type catalogEntry struct {
	mu sync.Mutex
	t  *Table
}

// NewCatalog returns a catalog of the tables in dir.
func NewCatalog(dir string) *Catalog {
	return &Catalog{dir: dir, entries: make(map[string]*catalogEntry)}
}

// Dir is the data directory the catalog reads.
func (c *Catalog) Dir() string { return c.dir }

// Get returns the table of a benchmark and dataset ("" means cifar10),
// loading it once.
func (c *Catalog) Get(benchmark, dataset string) (*Table, error) {
	f, err := lookupFile(benchmark, dataset)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	e, ok := c.entries[f.Path]
	if !ok {
		e = &catalogEntry{}
		c.entries[f.Path] = e
	}
	c.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.t == nil {
		t, err := load(c.dir, f)
		if err != nil {
			return nil, err
		}
		e.t = t
	}
	return e.t, nil
}
