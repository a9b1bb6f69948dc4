package receiver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"
)

// Limits of a template receiver's body.
const (
	MaxTemplateBytes = 64 << 10
	MaxRenderedBytes = 1 << 20
)

// DefaultContentType of a template receiver.
const DefaultContentType = "application/json"

// Template is a parsed body template. It is executed with the version 4
// Payload as its data ({{.Status}}, {{range .Alerts}}{{.Labels.team}}...),
// and has the functions
//
//	json  — the JSON encoding of a value ({{json .CommonLabels}}, {{json .Status}})
//	join  — strings.Join
//	upper, lower — strings.ToUpper / ToLower
type Template struct {
	t           *template.Template
	contentType string
}

// ParseTemplate parses body. A range over a constant number is refused
// (it could spin for long without output); the output is capped at
// MaxRenderedBytes when rendered.
func ParseTemplate(body, contentType string) (*Template, error) {
	switch {
	case body == "":
		return nil, errors.New("required")
	case len(body) > MaxTemplateBytes:
		return nil, fmt.Errorf("at most %d bytes", MaxTemplateBytes)
	}
	if contentType == "" {
		contentType = DefaultContentType
	}
	t, err := template.New("body").Option("missingkey=zero").Funcs(template.FuncMap{
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"join":  strings.Join,
		"upper": strings.ToUpper,
		"lower": strings.ToLower,
	}).Parse(body)
	if err != nil {
		return nil, fmt.Errorf("cannot parse template: %w", err)
	}
	for _, tt := range t.Templates() {
		if tt.Tree == nil {
			continue
		}
		if err := checkRanges(tt.Tree.Root); err != nil {
			return nil, err
		}
	}
	return &Template{t: t, contentType: contentType}, nil
}

// ContentType is the Content-Type of rendered bodies.
func (t *Template) ContentType() string { return t.contentType }

// Render executes the template on p. With a JSON content type the result
// must be valid JSON.
func (t *Template) Render(p Payload) ([]byte, error) {
	w := &capped{max: MaxRenderedBytes}
	if err := t.t.Execute(w, p); err != nil {
		return nil, fmt.Errorf("cannot render template: %w", err)
	}
	if strings.HasPrefix(t.contentType, "application/json") && !json.Valid(w.buf.Bytes()) {
		return nil, errors.New("cannot render template: the result is not valid JSON")
	}
	return w.buf.Bytes(), nil
}

type capped struct {
	buf bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if c.buf.Len()+len(p) > c.max {
		return 0, fmt.Errorf("output larger than %d bytes", c.max)
	}
	return c.buf.Write(p)
}

func checkRanges(n parse.Node) error {
	switch x := n.(type) {
	case *parse.ListNode:
		if x == nil {
			return nil
		}
		for _, c := range x.Nodes {
			if err := checkRanges(c); err != nil {
				return err
			}
		}
	case *parse.RangeNode:
		for _, cmd := range x.Pipe.Cmds {
			for _, a := range cmd.Args {
				if _, ok := a.(*parse.NumberNode); ok {
					return errors.New("cannot range over a number")
				}
			}
		}
		if err := checkRanges(x.List); err != nil {
			return err
		}
		return checkRanges(x.ElseList)
	case *parse.IfNode:
		if err := checkRanges(x.List); err != nil {
			return err
		}
		return checkRanges(x.ElseList)
	case *parse.WithNode:
		if err := checkRanges(x.List); err != nil {
			return err
		}
		return checkRanges(x.ElseList)
	}
	return nil
}
