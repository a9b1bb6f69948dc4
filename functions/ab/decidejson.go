package ab

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/wharfhq/wharf/internal/jsonesc"
)

// The decide body is parsed by hand: it is the hot path, and a generic
// strict decoder (duplicate keys refused) costs more than the decision.
// The rules are those of fnapi's strict decoding: one JSON object, no
// unknown fields, no duplicate keys (also inside attributes), nothing
// after it. Values of attributes decode as encoding/json decodes into
// any: float64, string, bool, nil, []any, map[string]any.

// maxDepth bounds the nesting of attribute values.
const maxDepth = 32

// jsonError is a syntax error at a byte offset.
type jsonError struct {
	off int
	msg string
}

func (e *jsonError) Error() string { return fmt.Sprintf("invalid JSON at byte %d: %s", e.off, e.msg) }

// parseDecide parses the body of POST /fn/ab/decide into in.
func parseDecide(b []byte, in *decideInput) error {
	p := parser{b: b}
	p.ws()
	if !p.eat('{') {
		return errors.New("request body must be a JSON object")
	}
	seen := 0
	first := true
	for {
		p.ws()
		if p.eat('}') {
			break
		}
		if !first && !p.eat(',') {
			return p.err("expected ',' or '}'")
		}
		first = false
		p.ws()
		key, err := p.str()
		if err != nil {
			return err
		}
		p.ws()
		if !p.eat(':') {
			return p.err("expected ':'")
		}
		p.ws()
		var bit int
		if p.i < len(p.b) && p.b[p.i] == 'n' && key != "attributes" {
			// null leaves a field as it is, as encoding/json does.
			if err := p.lit("null"); err != nil {
				return err
			}
			key = "null:" + key
		}
		switch key {
		case "null:unit", "null:team", "null:explain":
			bit = map[string]int{"null:unit": 1, "null:team": 2, "null:explain": 4}[key]
			key = key[5:]
		case "unit":
			bit = 1
			if in.Unit, err = p.str(); err != nil {
				return fmt.Errorf("field \"unit\" must be a string: %w", err)
			}
		case "team":
			bit = 2
			if in.Team, err = p.str(); err != nil {
				return fmt.Errorf("field \"team\" must be a string: %w", err)
			}
		case "explain":
			bit = 4
			v, err := p.value(0)
			b, ok := v.(bool)
			if err != nil || !ok {
				return errors.New("field \"explain\" must be true or false")
			}
			in.Explain = b
		case "attributes":
			bit = 8
			v, err := p.value(0)
			if err != nil {
				return err
			}
			switch m := v.(type) {
			case map[string]any:
				in.Attributes = m
			case nil:
			default:
				return errors.New("field \"attributes\" must be a JSON object")
			}
		default:
			return fmt.Errorf("unknown field %q", key)
		}
		if seen&bit != 0 {
			return fmt.Errorf("duplicate key %q; give each key once", key)
		}
		seen |= bit
	}
	p.ws()
	if p.i != len(p.b) {
		return errors.New("request body must hold one JSON object")
	}
	return nil
}

type parser struct {
	b []byte
	i int
}

func (p *parser) err(msg string) error { return &jsonError{off: p.i, msg: msg} }

func (p *parser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// value parses any JSON value.
func (p *parser) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, p.err("nested too deeply")
	}
	if p.i >= len(p.b) {
		return nil, p.err("unexpected end")
	}
	switch c := p.b[p.i]; {
	case c == '"':
		return p.str()
	case c == '{':
		p.i++
		m := map[string]any{}
		first := true
		for {
			p.ws()
			if p.eat('}') {
				return m, nil
			}
			if !first && !p.eat(',') {
				return nil, p.err("expected ',' or '}'")
			}
			first = false
			p.ws()
			k, err := p.str()
			if err != nil {
				return nil, err
			}
			p.ws()
			if !p.eat(':') {
				return nil, p.err("expected ':'")
			}
			p.ws()
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("duplicate key %q; give each key once", k)
			}
			m[k] = v
		}
	case c == '[':
		p.i++
		a := []any{}
		first := true
		for {
			p.ws()
			if p.eat(']') {
				return a, nil
			}
			if !first && !p.eat(',') {
				return nil, p.err("expected ',' or ']'")
			}
			first = false
			p.ws()
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
	case c == 't':
		return true, p.lit("true")
	case c == 'f':
		return false, p.lit("false")
	case c == 'n':
		return nil, p.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.num()
	}
	return nil, p.err("unexpected character")
}

func (p *parser) lit(s string) error {
	if len(p.b)-p.i < len(s) || string(p.b[p.i:p.i+len(s)]) != s {
		return p.err("invalid literal")
	}
	p.i += len(s)
	return nil
}

// num parses a JSON number (its grammar exactly) as a float64.
func (p *parser) num() (float64, error) {
	start := p.i
	p.eat('-')
	switch {
	case p.eat('0'):
	case p.i < len(p.b) && p.b[p.i] >= '1' && p.b[p.i] <= '9':
		p.digits()
	default:
		return 0, p.err("invalid number")
	}
	if p.eat('.') {
		if p.digits() == 0 {
			return 0, p.err("invalid number")
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if !p.eat('+') {
			p.eat('-')
		}
		if p.digits() == 0 {
			return 0, p.err("invalid number")
		}
	}
	f, err := strconv.ParseFloat(string(p.b[start:p.i]), 64)
	if err != nil {
		return 0, p.err("number out of range")
	}
	return f, nil
}

func (p *parser) digits() int {
	n := 0
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
		n++
	}
	return n
}

// str parses a JSON string; invalid UTF-8 becomes U+FFFD as in
// encoding/json.
func (p *parser) str() (string, error) {
	if !p.eat('"') {
		return "", p.err("expected a string")
	}
	start := p.i
	// Fast path: no escapes, valid UTF-8.
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			s := p.b[start:p.i]
			p.i++
			if utf8.Valid(s) {
				return string(s), nil
			}
			return string([]rune(string(s))), nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.i++
	}
	out := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			if utf8.Valid(out) {
				return string(out), nil
			}
			return string([]rune(string(out))), nil
		case c < 0x20:
			return "", p.err("control character in string")
		case c != '\\':
			out = append(out, c)
			p.i++
			continue
		}
		p.i++
		if p.i >= len(p.b) {
			break
		}
		e := p.b[p.i]
		p.i++
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, n := jsonesc.DecodeU(p.b[p.i:])
			if n == 0 {
				return "", p.err("invalid \\u escape")
			}
			p.i += n
			out = utf8.AppendRune(out, r)
		default:
			return "", p.err("invalid escape")
		}
	}
	return "", p.err("unterminated string")
}
