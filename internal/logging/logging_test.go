package logging

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestJSONWithComponent(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(&buf, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	Component(l, "gateway").Debug("hidden")
	Component(l, "gateway").Info("hello", "k", 1)
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if m["component"] != "gateway" || m["msg"] != "hello" {
		t.Fatalf("%v", m)
	}
	if _, err := New(&buf, "xml", "info"); err == nil {
		t.Fatal("xml accepted")
	}
	if _, err := New(&buf, "text", "loud"); err == nil {
		t.Fatal("bad level accepted")
	}
}
