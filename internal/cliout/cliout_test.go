package cliout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestAgo(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		t    time.Time
		want string
	}{
		{time.Time{}, ""},
		{now, "just now"},
		{now.Add(-12 * time.Second), "12s ago"},
		{now.Add(-3*time.Minute - 10*time.Second), "3m ago"},
		{now.Add(-5 * time.Hour), "5h ago"},
		{now.Add(-72 * time.Hour), "3d ago"},
		{now.Add(4 * time.Minute), "in 4m"},
		{now.Add(time.Millisecond), "in 1s"},
	} {
		if got := Ago(c.t, now); got != c.want {
			t.Errorf("Ago(%v) = %q, want %q", c.t, got, c.want)
		}
	}
}

func TestAge(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		t    time.Time
		want string
	}{
		{time.Time{}, ""},
		{now, "0s"},
		{now.Add(-time.Millisecond), "1s"},
		{now.Add(-12 * time.Second), "12s"},
		{now.Add(-3*time.Minute - 10*time.Second), "3m"},
		{now.Add(-5 * time.Hour), "5h"},
		{now.Add(-72 * time.Hour), "3d"},
	} {
		if got := Age(c.t, now); got != c.want {
			t.Errorf("Age(%v) = %q, want %q", c.t, got, c.want)
		}
	}
}

func TestRowsAlignAndDashEmptyCells(t *testing.T) {
	t.Parallel()
	r := NewRows("NAME", "VALUE")
	r.Add("a", "")
	r.Add("longer", "x\ny")
	var b bytes.Buffer
	if err := r.Write(&b, "nothing"); err != nil {
		t.Fatal(err)
	}
	want := "NAME    VALUE\na       -\nlonger  x y\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
	b.Reset()
	_ = NewRows("NAME").Write(&b, "No things.")
	if b.String() != "No things.\n" {
		t.Errorf("empty table printed %q", b.String())
	}
}

func TestParseFormat(t *testing.T) {
	t.Parallel()
	if _, err := ParseFormat("yaml"); err == nil || !strings.Contains(err.Error(), "--output must be table or json") {
		t.Errorf("yaml: %v", err)
	}
	if f, err := ParseFormat("json"); err != nil || f != JSON {
		t.Errorf("json: %v %v", f, err)
	}
}

type statusErr struct{}

func (statusErr) Error() string         { return "no scope (HTTP 403, request r-1)" }
func (statusErr) HTTPMessage() string   { return "no scope" }
func (statusErr) HTTPStatus() int       { return 403 }
func (statusErr) HTTPRequestID() string { return "r-1" }

func TestWriteError(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	WriteError(&b, fmt.Errorf("cannot push: %w", statusErr{}), JSON, 1)
	var got ErrorBody
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got != (ErrorBody{Error: "cannot push: no scope", Status: 403, RequestID: "r-1", ExitCode: 1}) {
		t.Errorf("got %+v", got)
	}
	b.Reset()
	WriteError(&b, errors.New("bad\n"), Table, 1)
	if b.String() != "wharf: bad\n" {
		t.Errorf("got %q", b.String())
	}
}

func TestFlattenShowsWhatIsSetInOrder(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	type inst struct {
		Addr   string `json:"addr"`
		Weight int    `json:"weight"`
	}
	v := struct {
		Name      string            `json:"name"`
		Instances []inst            `json:"instances"`
		Tags      []string          `json:"tags"`
		Empty     []string          `json:"empty"`
		Nothing   *int              `json:"nothing"`
		Created   time.Time         `json:"created"`
		Zero      time.Time         `json:"zero"`
		Counts    map[string]uint64 `json:"counts"`
		Big       int64             `json:"big"`
	}{"shop", []inst{{"10.0.0.1:80", 0}}, []string{"a", "b"}, nil, nil, now.Add(-3 * time.Minute), time.Time{}, map[string]uint64{"5xx": 1, "2xx": 2}, 1 << 62}
	kv, err := Flatten(v, now)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	_ = kv.Write(&b)
	want := "name:                 shop\n" +
		"instances[0].addr:    10.0.0.1:80\n" +
		"instances[0].weight:  0\n" +
		"tags:                 a, b\n" +
		"created:              " + now.Add(-3*time.Minute).Local().Format(time.DateTime) + " (3m ago)\n" +
		"counts.2xx:           2\n" +
		"counts.5xx:           1\n" +
		"big:                  4611686018427387904\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
