package model

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/wharfhq/wharf/monitoring/fielderr"
)

// Format is what a namespace holds.
type Format string

// The formats.
const (
	Properties Format = "properties"
	JSON       Format = "json"
	YAML       Format = "yaml"
	XML        Format = "xml"
	TXT        Format = "txt"
)

// ParseFormat returns the format named s, or an error listing the formats.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case Properties, JSON, YAML, XML, TXT:
		return f, nil
	case "yml":
		return YAML, nil
	}
	return "", fmt.Errorf("unknown format %q: want properties, json, yaml, xml or txt", s)
}

// Ext is the file extension of the format, without the dot.
func (f Format) Ext() string { return string(f) }

// Validate checks a configuration of format f as publish does: its size,
// each key of properties, and that the content of the other formats parses.
// Every problem names its field: the key ("items.db.url"), or the content
// line ("content" with "line 3: ...").
func Validate(f Format, conf map[string]string) fielderr.List {
	var l fielderr.List
	size := 0
	for k, v := range conf {
		size += len(k) + len(v)
	}
	if size > MaxNamespaceBytes {
		l.Add("items", fmt.Sprintf("the namespace is %d bytes, at most %d (1 MiB)", size, MaxNamespaceBytes))
	}
	if f == Properties {
		for _, k := range SortedKeys(conf) {
			if err := ValidKey(k); err != nil {
				l.Add("items."+printable(k), err.Error())
			}
		}
		return l
	}
	for k := range conf {
		if k != ContentKey {
			l.Add("items."+printable(k), fmt.Sprintf("a %s namespace holds only the key %q (its whole text)", f, ContentKey))
		}
	}
	if err := ValidateContent(f, conf[ContentKey]); err != nil {
		l.Add(ContentKey, err.Error())
	}
	return l
}

// ValidKey reports what is wrong with a properties key: empty, longer than
// MaxKeyBytes, or holding a control character.
func ValidKey(k string) error {
	if k == "" {
		return errors.New("key is empty")
	}
	if len(k) > MaxKeyBytes {
		return fmt.Errorf("key is %d bytes, at most %d", len(k), MaxKeyBytes)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] == 0x7f {
			return fmt.Errorf("key has control character %q at byte %d", k[i], i)
		}
	}
	return nil
}

// printable quotes k for a field path when it has bytes a path cannot show.
func printable(k string) string {
	q := strconv.Quote(k)
	if q[1:len(q)-1] == k {
		return k
	}
	return q
}

// ValidateContent checks that text parses as format f; the error names the
// line. Properties and txt always parse (properties by ParseProperties).
func ValidateContent(f Format, text string) error {
	switch f {
	case JSON:
		return validateJSON(text)
	case YAML:
		return validateYAML(text)
	case XML:
		return validateXML(text)
	case Properties:
		_, err := ParseProperties(text)
		return err
	}
	return nil
}

func validateJSON(text string) error {
	if strings.TrimSpace(text) == "" {
		return errors.New("line 1: empty JSON document")
	}
	dec := json.NewDecoder(strings.NewReader(text))
	var v any
	err := dec.Decode(&v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return fmt.Errorf("line %d: data after the JSON value", lineAt(text, int(dec.InputOffset())))
		}
		return nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("line %d: %v", lineAt(text, int(se.Offset)), se)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("line %d: unexpected end of JSON", lineAt(text, len(text)))
	}
	return fmt.Errorf("line 1: %v", err)
}

// lineAt is the 1-based line of byte offset off in text.
func lineAt(text string, off int) int {
	if off > len(text) {
		off = len(text)
	}
	if off < 0 {
		off = 0
	}
	return strings.Count(text[:off], "\n") + 1
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

func validateYAML(text string) error {
	dec := yaml.NewDecoder(strings.NewReader(text))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), "yaml: ")
			if m := yamlLine.FindStringSubmatch(msg); m != nil {
				rest := strings.TrimSpace(strings.TrimPrefix(strings.Replace(msg, m[0], "", 1), ":"))
				return fmt.Errorf("line %s: %s", m[1], rest)
			}
			return fmt.Errorf("line 1: %s", msg)
		}
	}
}

func validateXML(text string) error {
	if strings.TrimSpace(text) == "" {
		return errors.New("line 1: empty XML document")
	}
	dec := xml.NewDecoder(strings.NewReader(text))
	roots := 0
	depth := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return fmt.Errorf("line %d: %s", se.Line, se.Msg)
			}
			line, _ := dec.InputPos()
			return fmt.Errorf("line %d: %v", line, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if roots > 1 {
					line, _ := dec.InputPos()
					return fmt.Errorf("line %d: a second root element <%s>", line, t.Name.Local)
				}
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				line, _ := dec.InputPos()
				return fmt.Errorf("line %d: text outside the root element", line)
			}
		}
	}
	if roots == 0 {
		return errors.New("line 1: no root element")
	}
	return nil
}
