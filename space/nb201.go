package space

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// NAS-Bench-201: a cell of 4 nodes and 6 edges, each edge one of 5
// operations. Arch position e is edge e in the table's order
// (0→1, 0→2, 1→2, 0→3, 1→3, 2→3); the value is the op index below.
const (
	NB201Name  = "nas-bench-201"
	nb201Edges = 6
)

// NB201Ops returns the operation names in index order.
func NB201Ops() []string {
	return []string{"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"}
}

type nb201 struct{ grid }

func newNB201() nb201 {
	return nb201{grid{name: NB201Name, opts: []int{5, 5, 5, 5, 5, 5}}}
}

var _ Space = nb201{}

func (s nb201) Validate(a Arch) error {
	return s.check(a, func(int) string { return intRange(len(NB201Ops())) }, edgeName)
}

// edgeName says which edge position i is, "edge 1->2" style.
func edgeName(i int) string {
	from := [nb201Edges]int{0, 0, 1, 0, 1, 2}
	to := [nb201Edges]int{1, 2, 2, 3, 3, 3}
	return fmt.Sprintf("edge %d->%d", from[i], to[i])
}

// Key is the standard cell string
// "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|".
func (s nb201) Key(a Arch) string {
	ops := NB201Ops()
	name := func(i int) string {
		if i < len(a) && a[i] >= 0 && a[i] < len(ops) {
			return ops[a[i]]
		}
		return "?"
	}
	return fmt.Sprintf("|%s~0|+|%s~0|%s~1|+|%s~0|%s~1|%s~2|",
		name(0), name(1), name(2), name(3), name(4), name(5))
}

// Canonical equals Key: the table has an entry for every cell string.
func (s nb201) Canonical(a Arch) string { return s.Key(a) }

// Decode reads a cell string with the standard op names.
func (s nb201) Decode(key string) (Arch, error) {
	names, err := parseCell(strings.TrimSpace(key))
	if err != nil {
		return nil, fmt.Errorf("%s: key %q: %w", s.name, key, err)
	}
	a := make(Arch, len(names))
	for i, n := range names {
		v := slices.Index(NB201Ops(), n)
		if v < 0 {
			return nil, fmt.Errorf("%s: key %q: edge %d op %q is not one of %s",
				s.name, key, i+1, n, strings.Join(NB201Ops(), ", "))
		}
		a[i] = v
	}
	return a, nil
}

// parseCell splits a cell string into its six op names, checking that node
// k lists inputs ~0..~k-1 in order.
func parseCell(cell string) ([]string, error) {
	if !strings.HasPrefix(cell, "|") || !strings.HasSuffix(cell, "|") {
		return nil, fmt.Errorf("a cell string starts and ends with |")
	}
	nodes := strings.Split(cell, "+")
	if len(nodes) != 3 {
		return nil, fmt.Errorf("a cell string has 3 node groups joined by +, this one has %d", len(nodes))
	}
	var out []string
	for k, grp := range nodes {
		grp = strings.TrimSpace(grp)
		if !strings.HasPrefix(grp, "|") || !strings.HasSuffix(grp, "|") || len(grp) < 2 {
			return nil, fmt.Errorf("node group %d %q must look like |op~0|", k+1, grp)
		}
		edges := strings.Split(grp[1:len(grp)-1], "|")
		if len(edges) != k+1 {
			return nil, fmt.Errorf("node %d needs %d inputs, group %q has %d", k+1, k+1, grp, len(edges))
		}
		for j, e := range edges {
			op, src, ok := strings.Cut(e, "~")
			if !ok || src != strconv.Itoa(j) {
				return nil, fmt.Errorf("edge %q of node %d must be op~%d", e, k+1, j)
			}
			out = append(out, strings.TrimSpace(op))
		}
	}
	return out, nil
}

// nb201Op reads an op name, accepting the usual spellings models use.
func nb201Op(s string) (int, bool) {
	n := strings.ToLower(strings.TrimSpace(s))
	n = strings.TrimPrefix(n, "nn.")
	n = strings.TrimSuffix(n, "()")
	n = strings.NewReplacer(" ", "_", "-", "_").Replace(n)
	switch n {
	case "none", "zero", "zeros", "zeroize":
		return 0, true
	case "skip_connect", "skip", "skip_connection", "identity":
		return 1, true
	case "nor_conv_1x1", "conv_1x1", "conv1x1", "relu_conv_bn_1x1":
		return 2, true
	case "nor_conv_3x3", "conv_3x3", "conv3x3", "relu_conv_bn_3x3":
		return 3, true
	case "avg_pool_3x3", "avg_pool", "avgpool", "avgpool_3x3", "avg_pool2d":
		return 4, true
	}
	return 0, false
}

// opLikeRE matches words that are meant as an operation even when not one
// of ours ("nor_conv_5x5"), so the correction can name them.
var opLikeRE = regexp.MustCompile(`(?i)^[a-z_.0-9]*(conv|pool|skip|identity|zero|none)[a-z_0-9x]*(\(\))?$`)

func nb201Item(s string) bool {
	_, ok := nb201Op(s)
	return ok || isInt(s) || opLikeRE.MatchString(s)
}

// Format writes the op ID list the prompt asks for, "[3, 3, 3, 1, 3, 3]".
func (s nb201) Format(a Arch) string { return listString(a) }

func (s nb201) Parse(reply string) (Arch, error) {
	r := replyParser{
		space: s.name,
		n:     nb201Edges,
		item:  nb201Item,
		want: "Please answer with one list of 6 operation IDs [op0, op1, op2, op3, op4, op5], each from 0 to 4 " +
			"(0 zero, 1 skip connection, 2 1x1 convolution, 3 3x3 convolution, 4 3x3 average pooling).",
		convert: s.fromItems,
		extra:   cellCandidates,
	}
	return r.parse(reply)
}

// fromItems reads op IDs or op names.
func (s nb201) fromItems(items []string) (Arch, error) {
	a := make(Arch, len(items))
	allowed := "0 to 4 or " + orList(NB201Ops())
	for i, it := range items {
		if v, ok := nb201Op(it); ok {
			a[i] = v
			continue
		}
		v, err := strconv.Atoi(strings.TrimPrefix(it, "+"))
		if err != nil {
			return nil, &ValidationError{Space: s.name, Position: i, Value: strconv.Quote(it), Allowed: allowed, Reason: edgeName(i)}
		}
		a[i] = v
	}
	if err := s.Validate(a); err != nil {
		return nil, err
	}
	return a, nil
}

var cellRE = regexp.MustCompile(`\|[^|\s+]*~[0-9]+\|(?:[^|\s+]*~[0-9]+\||\+\|)*`)

// cellCandidates finds NAS-Bench-201 cell strings in a reply.
func cellCandidates(text string) ([]candidate, []string) {
	var out []candidate
	var diags []string
	for _, m := range cellRE.FindAllStringIndex(text, -1) {
		names, err := parseCell(text[m[0]:m[1]])
		if err != nil {
			diags = append(diags, "the cell string "+text[m[0]:m[1]]+" is malformed: "+err.Error())
			continue
		}
		out = append(out, candidate{items: names, start: m[0], end: m[1], bracketed: true})
	}
	return out, diags
}
