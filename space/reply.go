package space

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// How a reply is read (the same rule for every space):
//
//  1. Candidates are the bracketed lists in the reply ("[1, 0, 2]", also
//     "(1, 0, 2)" with two or more entries, nested lists flattened, entries
//     separated by commas or, without commas, by spaces; "#" and "//"
//     comments inside a list are ignored), plus the space's own forms: the
//     "Stage k ...: [..]" lines of mobilenetv2-imagenet (five consecutive
//     stage lines make one candidate) and NAS-Bench-201 cell strings.
//  2. Only candidates with exactly as many entries as the space has
//     positions count. Among them, one inside a ``` code fence wins over any
//     outside; otherwise, and among fenced ones, the last in the reply wins.
//     Models usually restate earlier results first and end with the answer.
//  3. Without such a candidate, a bare run of comma-separated integers of
//     the right length ("1, 0, 2, 2, 1, 0, 1, 2") is taken, the last one
//     again; then a reply that is nothing but a table key ("10100100").
//  4. The chosen entries are converted and range-checked by the space: a
//     bad entry gives a *ValidationError naming its position and the allowed
//     values; finding nothing gives a *ParseError saying what was found.
//
// The choice never depends on whether an entry is in range, so a reply maps
// to one answer and a bad answer is reported rather than silently skipped.

// candidate is one list found in a reply.
type candidate struct {
	items      []string
	start, end int // byte offsets in the normalised reply
	fenced     bool
	bracketed  bool // came from brackets or stage lines (not a bare run)
}

// replyParser reads one space's answers.
type replyParser struct {
	space   string
	n       int                                       // positions
	item    func(string) bool                         // whether an entry can belong to an answer
	want    string                                    // the answer format, for ParseError.Want
	convert func(items []string) (Arch, error)        // entries to a validated Arch
	extra   func(text string) ([]candidate, []string) // space-specific candidates and diagnostics
	key     func(string) (Arch, error)                // optional: the reply as a bare key
}

var replacer = strings.NewReplacer(
	"\r\n", "\n", "\r", "\n",
	"\u201c", `"`, "\u201d", `"`, "\u2018", "'", "\u2019", "'",
	"\uff3b", "[", "\uff3d", "]", "\uff0c", ",", "\u2212", "-",
)

// maxReply bounds the replies read; real ones are a few kilobytes.
const maxReply = 1 << 20

func (r replyParser) parse(reply string) (Arch, error) {
	if len(reply) > maxReply {
		return nil, r.fail(fmt.Sprintf("the reply is %d bytes long; keep it short", len(reply)))
	}
	text := replacer.Replace(reply)
	if strings.TrimSpace(text) == "" {
		return nil, r.fail("the reply was empty")
	}
	fences := codeFences(text)
	cands := bracketLists(text, r.item)
	var diags []string
	if r.extra != nil {
		c, d := r.extra(text)
		cands = append(cands, c...)
		diags = d
	}
	for i := range cands {
		cands[i].fenced = inRanges(fences, cands[i].start)
	}
	best := choose(cands, r.n)
	if best == nil {
		bare := bareRuns(text, cands)
		for i := range bare {
			bare[i].fenced = inRanges(fences, bare[i].start)
		}
		best = choose(bare, r.n)
	}
	if best == nil && r.key != nil {
		if a, err := r.key(stripMarkup(text)); err == nil {
			return a, nil
		}
	}
	if best != nil {
		return r.convert(best.items)
	}
	if len(diags) > 0 {
		return nil, r.fail(diags[len(diags)-1])
	}
	if w := lastWrongLength(cands); w != nil {
		return nil, r.fail(fmt.Sprintf("the list [%s] has %d entries, but %d are needed",
			strings.Join(w.items, ", "), len(w.items), r.n))
	}
	return nil, r.fail(fmt.Sprintf("it holds no list of %d entries", r.n))
}

func (r replyParser) fail(reason string) *ParseError {
	return &ParseError{Space: r.space, Reason: reason, Want: r.want}
}

// choose applies rule 2: right length, fenced first, then last.
func choose(cands []candidate, n int) *candidate {
	var best *candidate
	for i := range cands {
		c := &cands[i]
		if len(c.items) != n {
			continue
		}
		switch {
		case best == nil:
			best = c
		case c.fenced != best.fenced:
			if c.fenced {
				best = c
			}
		case c.end > best.end:
			best = c
		}
	}
	return best
}

// lastWrongLength picks the bracketed list a correction should mention.
func lastWrongLength(cands []candidate) *candidate {
	sorted := append([]candidate(nil), cands...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].end < sorted[j].end })
	var best *candidate
	for i := range sorted {
		c := &sorted[i]
		if !c.bracketed || len(c.items) < 2 {
			continue
		}
		if best == nil || c.fenced || !best.fenced {
			best = c
		}
	}
	return best
}

// codeFences returns the byte ranges of ``` or ~~~ fenced blocks; an
// unclosed fence runs to the end of the text.
func codeFences(text string) [][2]int {
	var out [][2]int
	open := -1
	marker := ""
	off := 0
	for _, line := range strings.SplitAfter(text, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case open < 0 && (strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~")):
			open, marker = off, t[:3]
		case open >= 0 && strings.HasPrefix(t, marker) && strings.Trim(t, marker[:1]) == "":
			out = append(out, [2]int{open, off + len(line)})
			open = -1
		}
		off += len(line)
	}
	if open >= 0 {
		out = append(out, [2]int{open, len(text)})
	}
	return out
}

func inRanges(rs [][2]int, p int) bool {
	for _, r := range rs {
		if p >= r[0] && p < r[1] {
			return true
		}
	}
	return false
}

// node is a bracket pair found in the text.
type node struct {
	open, close int // offsets of the brackets; close < 0 when unclosed
	paren       bool
	parent      int   // nearest enclosing square-bracket node, or -1
	children    []int // directly nested square-bracket nodes, in order
}

// bracketLists finds every list candidate in text (rule 1).
func bracketLists(text string, item func(string) bool) []candidate {
	var nodes []node
	// One stack per bracket kind keeps the scan linear; a closer matches
	// the innermost open bracket of its kind.
	var squares, parens []int // indexes into nodes
	for i := 0; i < len(text); i++ {
		switch c := text[i]; c {
		case '[', '(':
			parent := -1
			if len(squares) > 0 {
				parent = squares[len(squares)-1]
			}
			nodes = append(nodes, node{open: i, close: -1, paren: c == '(', parent: parent})
			if c == '(' {
				parens = append(parens, len(nodes)-1)
			} else {
				squares = append(squares, len(nodes)-1)
			}
		case ')':
			if len(parens) > 0 {
				nodes[parens[len(parens)-1]].close = i
				parens = parens[:len(parens)-1]
			}
		case ']':
			if len(squares) > 0 {
				nodes[squares[len(squares)-1]].close = i
				squares = squares[:len(squares)-1]
			}
		}
	}
	for i, n := range nodes {
		if !n.paren && n.close >= 0 && n.parent >= 0 {
			nodes[n.parent].children = append(nodes[n.parent].children, i)
		}
	}
	items := make([][]string, len(nodes)) // nil: not a list of answer entries
	var out []candidate
	for i := len(nodes) - 1; i >= 0; i-- { // children before parents
		n := nodes[i]
		if n.close < 0 {
			continue
		}
		var its []string
		if len(n.children) == 0 {
			its = splitItems(text[n.open+1 : n.close])
			if len(its) == 0 || (n.paren && len(its) < 2) {
				continue
			}
			for _, s := range its {
				if !item(s) {
					its = nil
					break
				}
			}
		} else {
			its = flatten(text, n, nodes, items)
		}
		if its == nil || len(its) > maxItems {
			continue
		}
		items[i] = its
		out = append(out, candidate{items: its, start: n.open, end: n.close + 1, bracketed: true})
	}
	return out
}

// maxItems bounds the lists kept as candidates: no space has more than 30
// positions, and the bound keeps nested lists from costing quadratic time.
const maxItems = 256

// flatten joins a node's child lists when nothing but separators lies
// between them ("[[1, 0], [2, 1]]").
func flatten(text string, n node, nodes []node, items [][]string) []string {
	var out []string
	pos := n.open + 1
	for _, ci := range n.children {
		c := nodes[ci]
		if c.close > n.close || strings.Trim(stripComments(text[pos:c.open]), " \t\n,") != "" || items[ci] == nil {
			return nil
		}
		if len(n.children) == 1 {
			out = items[ci] // "[[...]]": share, do not copy
		} else {
			out = append(out, items[ci]...)
		}
		if len(out) > maxItems {
			return nil
		}
		pos = c.close + 1
	}
	if strings.Trim(stripComments(text[pos:n.close]), " \t\n,") != "" {
		return nil
	}
	return out
}

var commentRE = regexp.MustCompile(`(#|//)[^\n]*`)

func stripComments(s string) string {
	if !strings.Contains(s, "#") && !strings.Contains(s, "//") {
		return s
	}
	return commentRE.ReplaceAllString(s, "")
}

// splitItems splits a list body on commas, or on white space when it has
// none, and trims quotes, backticks and emphasis from each entry.
func splitItems(body string) []string {
	body = stripComments(body)
	var parts []string
	if strings.Contains(body, ",") {
		parts = strings.Split(body, ",")
		if strings.TrimSpace(parts[len(parts)-1]) == "" { // trailing comma
			parts = parts[:len(parts)-1]
		}
	} else {
		parts = strings.Fields(body)
	}
	for i, p := range parts {
		parts[i] = strings.Trim(p, " \t\n'\"`*")
	}
	return parts
}

var bareRE = regexp.MustCompile(`[-+]?\d+(?:[ \t]*,[ \t]*[-+]?\d+)+`)

// bareRuns finds comma-separated integer runs outside the bracketed
// candidates (rule 3).
func bareRuns(text string, cands []candidate) []candidate {
	spans := make([][2]int, len(cands))
	for i, c := range cands {
		spans[i] = [2]int{c.start, c.end}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i][0] < spans[j][0] })
	// Prefix maxima of the ends make "is p inside any span" a binary search.
	for i := 1; i < len(spans); i++ {
		spans[i][1] = max(spans[i][1], spans[i-1][1])
	}
	var out []candidate
	for _, m := range bareRE.FindAllStringIndex(text, -1) {
		s, e := m[0], m[1]
		if (s > 0 && isNumberByte(text[s-1])) || (e < len(text) && isNumberByte(text[e])) {
			continue // part of a decimal such as 85.70, 86.1
		}
		if covered(spans, s) {
			continue
		}
		parts := strings.Split(text[s:e], ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		out = append(out, candidate{items: parts, start: s, end: e})
	}
	return out
}

// covered reports whether p lies in a span; spans are sorted by start and
// hold running maxima of the ends.
func covered(spans [][2]int, p int) bool {
	i := sort.Search(len(spans), func(i int) bool { return spans[i][0] > p }) - 1
	return i >= 0 && p < spans[i][1]
}

func isNumberByte(c byte) bool { return c == '.' || (c >= '0' && c <= '9') }

// stripMarkup removes code fences, backticks and surrounding space, leaving
// what a reply that is only a key would hold.
func stripMarkup(text string) string {
	var keep []string
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") || t == "" {
			continue
		}
		keep = append(keep, t)
	}
	return strings.Trim(strings.Join(keep, "\n"), "`'\" \t*")
}

var intRE = regexp.MustCompile(`^[-+]?[0-9]{1,9}$`)

func isInt(s string) bool { return intRE.MatchString(s) }

// intsInRange converts integer entries and validates them as choice indexes.
func intsInRange(s Space, items []string) (Arch, error) {
	a := make(Arch, len(items))
	for i, it := range items {
		v, err := strconv.Atoi(strings.TrimPrefix(it, "+"))
		if err != nil {
			return nil, &ParseError{Space: s.Name(), Reason: fmt.Sprintf("entry %d %q is not an integer", i+1, it)}
		}
		a[i] = v
	}
	if err := s.Validate(a); err != nil {
		return nil, err
	}
	return a, nil
}

var stageRE = regexp.MustCompile(`(?i)\bstage[ \t_-]*#?[ \t]*([0-9]+)`)

// stageGroups reads the mobilenetv2-imagenet stage lines
// "Stage k (Layer a to Layer b): [..]". The list may follow on the next line.
// Stage lines 1..5 in a row make one 30-entry candidate.
func stageGroups(text string) ([]candidate, []string) {
	type entry struct {
		stage      int
		items      []string
		start, end int
	}
	var entries []entry
	var diags []string
	lines := strings.SplitAfter(text, "\n")
	off := 0
	for li, line := range lines {
		lineStart := off
		off += len(line)
		m := stageRE.FindStringSubmatchIndex(line)
		if m == nil {
			continue
		}
		k, err := strconv.Atoi(line[m[2]:m[3]])
		if err != nil {
			continue
		}
		rest := line[m[1]:]
		items, end := listInLine(rest)
		end += lineStart + m[1]
		if items == nil {
			// "Stage 1 (Layer 1 to Layer 6):" with the list on the next line.
			next, nextOff := nextNonEmpty(lines, li+1, off)
			if next != "" && !stageRE.MatchString(next) {
				if its, e := listInLine(next); its != nil && strings.HasPrefix(strings.TrimSpace(next), "[") {
					items, end = its, nextOff+e
				}
			}
		}
		if items == nil {
			continue
		}
		allInts := true
		for _, it := range items {
			allInts = allInts && isInt(it)
		}
		if !allInts {
			continue
		}
		if k < 1 || k > ImageNetStageCount {
			diags = append(diags, fmt.Sprintf("it names Stage %d, but there are only stages 1 to %d", k, ImageNetStageCount))
			continue
		}
		entries = append(entries, entry{stage: k, items: items, start: lineStart + m[0], end: end})
	}
	var out []candidate
	var group []entry
	flush := func() {
		if len(group) == 0 {
			return
		}
		seen := map[int]entry{}
		for _, e := range group {
			seen[e.stage] = e
		}
		if len(seen) < ImageNetStageCount {
			var missing []string
			for k := 1; k <= ImageNetStageCount; k++ {
				if _, ok := seen[k]; !ok {
					missing = append(missing, strconv.Itoa(k))
				}
			}
			word := "stage "
			if len(missing) > 1 {
				word = "stages "
			}
			list := orList(missing)
			if i := strings.LastIndex(list, " or "); i >= 0 {
				list = list[:i] + " and " + list[i+4:]
			}
			diags = append(diags, "its stage lines leave out "+word+list)
			group = nil
			return
		}
		var items []string
		for k := 1; k <= ImageNetStageCount; k++ {
			e := seen[k]
			if len(e.items) != ImageNetSlots {
				diags = append(diags, fmt.Sprintf("the list for Stage %d has %d entries, but every stage has %d slots",
					k, len(e.items), ImageNetSlots))
				group = nil
				return
			}
			items = append(items, e.items...)
		}
		out = append(out, candidate{items: items, start: group[0].start, end: group[len(group)-1].end, bracketed: true})
		group = nil
	}
	for _, e := range entries {
		if len(group) > 0 && e.stage <= group[len(group)-1].stage {
			flush()
		}
		group = append(group, e)
		if e.stage == ImageNetStageCount {
			flush()
		}
	}
	flush()
	return out, diags
}

var bareLineRE = regexp.MustCompile(`^[-+]?\d+(?:\s*,\s*[-+]?\d+)*$`)

// listInLine finds the first "[..]" in s, or else a bare integer list after
// its last colon; end is the offset just past it.
func listInLine(s string) (items []string, end int) {
	if i := strings.IndexByte(s, '['); i >= 0 {
		if j := strings.IndexByte(s[i:], ']'); j > 0 {
			return splitItems(s[i+1 : i+j]), i + j + 1
		}
		return nil, 0
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		t := strings.Trim(s[i+1:], " \t\n*`")
		if bareLineRE.MatchString(t) {
			return splitItems(t), len(strings.TrimRight(s, " \t\n"))
		}
	}
	return nil, 0
}

// nextNonEmpty returns the first non-blank line from index i and its offset.
func nextNonEmpty(lines []string, i, off int) (string, int) {
	for ; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "" {
			return lines[i], off
		}
		off += len(lines[i])
	}
	return "", off
}
