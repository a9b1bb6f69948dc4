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

// ParseTemplate parses body. To keep rendering bounded by the payload,
// {{range}} may only go over data and nest MaxRangeDepth deep, and
// {{template}} is refused; the output is capped at MaxRenderedBytes.
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
		if err := checkRanges(tt.Tree.Root, 0); err != nil {
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

// MaxRangeDepth is how deep {{range}} may nest in a body.
const MaxRangeDepth = 2

// checkRanges keeps a body's work bounded by the payload: {{range}} only
// over data (a field or variable, as .Alerts or $a.Labels), nested at
// most MaxRangeDepth deep, and no {{template}} calls (which could
// recurse).
func checkRanges(n parse.Node, depth int) error {
	switch x := n.(type) {
	case *parse.ListNode:
		if x == nil {
			return nil
		}
		for _, c := range x.Nodes {
			if err := checkRanges(c, depth); err != nil {
				return err
			}
		}
	case *parse.TemplateNode:
		return errors.New("cannot call {{template}} in a body")
	case *parse.RangeNode:
		if depth+1 > MaxRangeDepth {
			return fmt.Errorf("cannot nest {{range}} more than %d deep", MaxRangeDepth)
		}
		if !overData(x.Pipe) {
			return errors.New("cannot range over anything but the payload's data (.Alerts, $a.Labels, ...)")
		}
		if err := checkRanges(x.List, depth+1); err != nil {
			return err
		}
		return checkRanges(x.ElseList, depth)
	case *parse.IfNode:
		if err := checkRanges(x.List, depth); err != nil {
			return err
		}
		return checkRanges(x.ElseList, depth)
	case *parse.WithNode:
		if err := checkRanges(x.List, depth); err != nil {
			return err
		}
		return checkRanges(x.ElseList, depth)
	}
	return nil
}

// rangeFields are the payload's slice and map fields: the only things a
// body may range over (an integer, which Go templates also range over,
// could make rendering loop for hours without writing a byte).
var rangeFields = map[string]bool{
	"Alerts": true, "Labels": true, "Annotations": true,
	"GroupLabels": true, "CommonLabels": true, "CommonAnnotations": true,
}

// overData reports whether a range pipeline is one of the payload's slice
// or map fields: .Alerts, .CommonLabels, $a.Labels, $.Alerts...
func overData(p *parse.PipeNode) bool {
	if p == nil || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return false
	}
	var idents []string
	switch x := p.Cmds[0].Args[0].(type) {
	case *parse.FieldNode:
		idents = x.Ident
	case *parse.VariableNode:
		idents = x.Ident[1:] // Ident[0] is the variable itself
	default:
		return false
	}
	return len(idents) > 0 && rangeFields[idents[len(idents)-1]]
}
