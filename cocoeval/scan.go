package cocoeval

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// scanner reads the few JSON shapes COCO files use straight from the bytes.
// encoding/json is several times slower on a val2017-size results file,
// and its errors cannot name the entry they are in.
type scanner struct {
	data []byte
	pos  int
}

// syntaxError is a malformed-JSON error at a byte offset.
type syntaxError struct {
	offset int
	msg    string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("not valid JSON at byte %d: %s", e.offset, e.msg)
}

func (s *scanner) errorf(format string, args ...any) error {
	return &syntaxError{offset: s.pos, msg: fmt.Sprintf(format, args...)}
}

func (s *scanner) space() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.space()
	if s.pos >= len(s.data) {
		return 0
	}
	return s.data[s.pos]
}

func (s *scanner) describe(c byte) string {
	if c == 0 {
		return "the end of the file"
	}
	return strconv.QuoteRune(rune(c))
}

func (s *scanner) expect(c byte) error {
	if got := s.peek(); got != c {
		return s.errorf("want %q, found %s", c, s.describe(got))
	}
	s.pos++
	return nil
}

// end checks that nothing but space follows the top-level value.
func (s *scanner) end() error {
	if c := s.peek(); c != 0 {
		return s.errorf("unexpected %s after the top-level value", s.describe(c))
	}
	return nil
}

// array calls elem for each element, with the scanner at the element.
func (s *scanner) array(elem func(i int) error) error {
	if err := s.expect('['); err != nil {
		return err
	}
	if s.peek() == ']' {
		s.pos++
		return nil
	}
	for i := 0; ; i++ {
		if err := elem(i); err != nil {
			return err
		}
		switch c := s.peek(); c {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return s.errorf("want ',' or ']' after an array element, found %s", s.describe(c))
		}
	}
}

// object calls field for each member, with the scanner at the value.
// The key is only valid during the call.
func (s *scanner) object(field func(key []byte) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	if s.peek() == '}' {
		s.pos++
		return nil
	}
	for {
		if c := s.peek(); c != '"' {
			return s.errorf("want a member name, found %s", s.describe(c))
		}
		key, err := s.key()
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if err := field(key); err != nil {
			return err
		}
		switch c := s.peek(); c {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return s.errorf("want ',' or '}' after a member, found %s", s.describe(c))
		}
	}
}

// str reads a string; escapes are decoded by encoding/json (rare in COCO files).
func (s *scanner) str() (string, error) {
	raw, escaped, err := s.rawString()
	if err != nil {
		return "", err
	}
	if !escaped {
		return string(raw[1 : len(raw)-1]), nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", &syntaxError{offset: s.pos - len(raw), msg: err.Error()}
	}
	return v, nil
}

// key reads a member name without copying it unless it has escapes.
func (s *scanner) key() ([]byte, error) {
	raw, escaped, err := s.rawString()
	if err != nil {
		return nil, err
	}
	if !escaped {
		return raw[1 : len(raw)-1], nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, &syntaxError{offset: s.pos - len(raw), msg: err.Error()}
	}
	return []byte(v), nil
}

// rawString returns the quoted string token and whether it holds escapes.
func (s *scanner) rawString() (raw []byte, escaped bool, err error) {
	if err := s.expect('"'); err != nil {
		return nil, false, err
	}
	start := s.pos - 1
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			return s.data[start:s.pos], escaped, nil
		case c == '\\':
			escaped = true
			s.pos += 2
		case c < 0x20:
			return nil, false, s.errorf("control character in a string")
		default:
			s.pos++
		}
	}
	s.pos = len(s.data)
	return nil, false, s.errorf("unterminated string")
}

// numberToken returns the bytes of a number, checked against JSON's grammar.
func (s *scanner) numberToken() ([]byte, error) {
	s.space()
	start := s.pos
	d := s.data
	digits := func() int {
		n := 0
		for s.pos < len(d) && d[s.pos] >= '0' && d[s.pos] <= '9' {
			s.pos++
			n++
		}
		return n
	}
	if s.pos < len(d) && d[s.pos] == '-' {
		s.pos++
	}
	if s.pos < len(d) && d[s.pos] == '0' {
		s.pos++
	} else if digits() == 0 {
		s.pos = start
		if s.pos < len(d) {
			return nil, s.errorf("want a number, found %s", s.describe(d[s.pos]))
		}
		return nil, s.errorf("want a number, found the end of the file")
	}
	if s.pos < len(d) && d[s.pos] == '.' {
		s.pos++
		if digits() == 0 {
			return nil, s.errorf("want a digit after the decimal point")
		}
	}
	if s.pos < len(d) && (d[s.pos] == 'e' || d[s.pos] == 'E') {
		s.pos++
		if s.pos < len(d) && (d[s.pos] == '+' || d[s.pos] == '-') {
			s.pos++
		}
		if digits() == 0 {
			return nil, s.errorf("want a digit in the exponent")
		}
	}
	return d[start:s.pos], nil
}

// float reads a number as float64, rounded as Python's float() rounds it.
func (s *scanner) float() (float64, error) {
	tok, err := s.numberToken()
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseFloat(string(tok), 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, &syntaxError{offset: s.pos - len(tok), msg: fmt.Sprintf("number %s is out of range", tok)}
	}
	return v, nil
}

// id reads an integer id; 7.0 is taken as 7, as Python compares them equal.
func (s *scanner) id() (int64, error) {
	tok, err := s.numberToken()
	if err != nil {
		return 0, err
	}
	if v, err := strconv.ParseInt(string(tok), 10, 64); err == nil {
		return v, nil
	}
	v, err := strconv.ParseFloat(string(tok), 64)
	if err != nil || v != math.Trunc(v) || math.Abs(v) >= 1<<63 {
		return 0, &syntaxError{offset: s.pos - len(tok), msg: fmt.Sprintf("id %s is not an integer", tok)}
	}
	return int64(v), nil
}

// box reads [x, y, width, height].
func (s *scanner) box() (Box, error) {
	var b Box
	n := 0
	err := s.array(func(i int) error {
		if i >= len(b) {
			return s.errorf("bbox has more than 4 numbers; want [x, y, width, height]")
		}
		v, err := s.float()
		if err != nil {
			return err
		}
		b[i] = v
		n++
		return nil
	})
	if err == nil && n != len(b) {
		err = s.errorf("bbox has %d numbers; want [x, y, width, height]", n)
	}
	return b, err
}

// skip passes over any value, checking its syntax.
func (s *scanner) skip() error {
	switch c := s.peek(); c {
	case '{':
		return s.object(func([]byte) error { return s.skip() })
	case '[':
		return s.array(func(int) error { return s.skip() })
	case '"':
		_, _, err := s.rawString()
		return err
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		_, err := s.numberToken()
		return err
	}
}

func (s *scanner) literal(word string) error {
	if len(s.data)-s.pos < len(word) || string(s.data[s.pos:s.pos+len(word)]) != word {
		return s.errorf("want a value")
	}
	s.pos += len(word)
	return nil
}

// kind names the next value's type, for messages.
func (s *scanner) kind() string {
	switch s.peek() {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case 0:
		return "empty"
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return "a number"
	default:
		return "not JSON"
	}
}
