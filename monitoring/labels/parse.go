package labels

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// ParseMatchers parses a comma-separated list of matchers in
// Alertmanager's classic syntax (amtool, the API v2 "filter" parameter,
// route "matchers"): an optional leading "{" and trailing "}", matchers
// separated by commas outside double quotes, a trailing comma allowed.
// It accepts and refuses the same inputs as Alertmanager's
// pkg/labels.ParseMatchers and yields the same matchers.
func ParseMatchers(s string) (Matchers, error) {
	s = strings.TrimPrefix(s, "{")
	s = strings.TrimSuffix(s, "}")
	var (
		inQuotes, escaped bool
		tok               strings.Builder
		toks              []string
	)
	for _, r := range s {
		switch r {
		case ',':
			if !inQuotes {
				toks = append(toks, tok.String())
				tok.Reset()
				continue
			}
		case '"':
			if escaped {
				escaped = false
			} else {
				inQuotes = !inQuotes
			}
		case '\\':
			escaped = !escaped
		default:
			escaped = false
		}
		tok.WriteRune(r)
	}
	if last := strings.TrimSpace(tok.String()); last != "" {
		toks = append(toks, last)
	}
	ms := make(Matchers, 0, len(toks))
	for _, t := range toks {
		m, err := ParseMatcher(t)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// isSpace is RE2's \s: the whitespace Alertmanager's matcher grammar skips.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

func isNameByte(c byte, first bool) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9')
}

// ParseMatcher parses one matcher: a label name, an operator (= != =~ !~)
// and a value, optionally double-quoted, with blanks around each part. In
// the value \" is a quote, \n a line feed and \\ a backslash; any other
// backslash is literal; an unescaped quote may only open and close it.
func ParseMatcher(s string) (*Matcher, error) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	start := i
	for i < len(s) && isNameByte(s[i], i == start) {
		i++
	}
	name := s[start:i]
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	var t MatchType
	rest := s[i:]
	switch {
	case name == "":
		return nil, fmt.Errorf("bad matcher format: %s", s)
	case strings.HasPrefix(rest, "=~"):
		t, i = MatchRegexp, i+2
	case strings.HasPrefix(rest, "="):
		t, i = MatchEqual, i+1
	case strings.HasPrefix(rest, "!="):
		t, i = MatchNotEqual, i+2
	case strings.HasPrefix(rest, "!~"):
		t, i = MatchNotRegexp, i+2
	default:
		return nil, fmt.Errorf("bad matcher format: %s", s)
	}
	raw := strings.TrimRightFunc(strings.TrimLeftFunc(s[i:], isSpaceRune), isSpaceRune)
	shown := raw
	quoted := false
	if strings.HasPrefix(raw, `"`) {
		raw, quoted = raw[1:], true
	}
	if !utf8.ValidString(raw) {
		return nil, fmt.Errorf("matcher value not valid UTF-8: %s", shown)
	}
	var v strings.Builder
	escaped := false
	for j, r := range raw {
		if escaped {
			escaped = false
			switch r {
			case 'n':
				v.WriteByte('\n')
			case '"', '\\':
				v.WriteRune(r)
			default:
				v.WriteByte('\\')
				v.WriteRune(r)
			}
			continue
		}
		switch r {
		case '\\':
			if j < len(raw)-1 {
				escaped = true
				continue
			}
			v.WriteByte('\\')
		case '"':
			if !quoted || j < len(raw)-1 {
				return nil, fmt.Errorf("matcher value contains unescaped double quote: %s", shown)
			}
			quoted = false
		default:
			v.WriteRune(r)
		}
	}
	if quoted {
		return nil, fmt.Errorf("matcher value contains unescaped double quote: %s", shown)
	}
	return NewMatcher(t, name, v.String())
}

func isSpaceRune(r rune) bool { return r < utf8.RuneSelf && isSpace(byte(r)) }
