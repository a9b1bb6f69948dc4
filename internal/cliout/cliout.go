// Package cliout is how every `wharf` CLI command prints: tables and
// key-value views for people, JSON with -o json, human times ("3m ago"),
// and errors as one line (or a JSON object on stderr with -o json).
package cliout

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Format is an output format.
type Format string

// The output formats.
const (
	Table Format = "table"
	JSON  Format = "json"
)

// ParseFormat checks the value of -o/--output.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case Table, JSON:
		return Format(s), nil
	}
	return "", fmt.Errorf("--output must be table or json, got %q", s)
}

// WriteJSON writes v as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// Rows is a table under a header; empty cells print as "-".
type Rows struct {
	// Indent starts every line (a table inside a larger view).
	Indent string
	header []string
	rows   [][]string
}

// NewRows starts a table with these column names.
func NewRows(header ...string) *Rows { return &Rows{header: header} }

// Add appends a row.
func (r *Rows) Add(cells ...string) { r.rows = append(r.rows, cells) }

// Len is the number of rows.
func (r *Rows) Len() int { return len(r.rows) }

// Write prints the table, aligned; with no rows it prints empty (the text
// people see when there is nothing to list) instead of a bare header.
func (r *Rows) Write(w io.Writer, empty string) error {
	if len(r.rows) == 0 {
		if empty != "" {
			_, err := fmt.Fprintln(w, r.Indent+empty)
			return err
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, r.Indent+strings.Join(r.header, "\t"))
	for _, row := range r.rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = Cell(c)
		}
		fmt.Fprintln(tw, r.Indent+strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// Cell is s for a table cell: "-" when empty, one line.
func Cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "-"
	}
	return s
}

// KV is a key-value view ("Name:  value" lines) for one object.
type KV struct{ pairs [][2]string }

// Add appends a key and its value; an empty value prints as "-".
func (k *KV) Add(key, value string) { k.pairs = append(k.pairs, [2]string{key, value}) }

// Write prints the pairs with the values aligned.
func (k *KV) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, p := range k.pairs {
		fmt.Fprintf(tw, "%s:\t%s\n", p[0], Cell(p[1]))
	}
	return tw.Flush()
}

// Ago renders t relative to now for people: "12s ago", "3m ago", "5h ago",
// "2d ago", "in 4m" for the future, and "" (a "-" cell) for the zero time.
func Ago(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	if d < 0 {
		return "in " + Age(t, now)
	}
	if d < time.Second {
		return "just now"
	}
	return Age(t, now) + " ago"
}

// Age renders the distance between t and now coarsely, for an UP or AGE
// column: "0s", "12s", "3m", "5h", "2d"; "" for the zero time.
func Age(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Second && d > 0:
		return "1s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

// Duration renders d rounded for people ("1.2s", "3m4s"), "" for zero.
func Duration(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
