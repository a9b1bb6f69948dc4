package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestJSONWithComponent(t *testing.T) {
	t.Parallel()
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

func TestCredentialsAreMaskedOnEveryLine(t *testing.T) {
	t.Parallel()
	const tok = "wharf_0123456789abcdef_feedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedface"
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		l, err := New(&buf, format, "debug")
		if err != nil {
			t.Fatal(err)
		}
		l = l.With("authorization", "Bearer abc123")
		l.Info("request head GET / HTTP/1.1\r\nAuthorization: Bearer "+tok,
			"err", errors.New("cannot use token "+tok),
			"cookie", "session=s3cr3t",
			slog.Group("req", "header", "X-Api-Key: k-9f8e"),
			"plain", "kept")
		out := buf.String()
		for _, secret := range []string{"feedface", "abc123", "s3cr3t", "k-9f8e"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s: %q survived: %s", format, secret, out)
			}
		}
		if !strings.Contains(out, "kept") || !strings.Contains(out, "[REDACTED]") {
			t.Errorf("%s: %s", format, out)
		}
	}
}

// A component that hands its logger to a part of its own logs one
// component attribute per line, the innermost (it was repeated before).
func TestOneComponentPerLine(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		l, err := New(&buf, format, "info")
		if err != nil {
			t.Fatal(err)
		}
		agent := Component(l.With("role", "serve"), "agent").With("host", "vm")
		Component(agent, "release").Info("installed", "app", "shop")
		agent.WithGroup("task").Info("queued", "id", 1)
		out := buf.String()
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 {
			t.Fatalf("%s: %q", format, out)
		}
		for i, want := range []string{"release", "agent"} {
			if n := strings.Count(lines[i], "component"); n != 1 {
				t.Errorf("%s: %d component attributes in %s", format, n, lines[i])
			}
			if !strings.Contains(lines[i], want) || !strings.Contains(lines[i], "serve") || !strings.Contains(lines[i], "vm") {
				t.Errorf("%s: line %d lacks component %s, role or host: %s", format, i, want, lines[i])
			}
		}
		if format == "json" {
			var m map[string]any
			if err := json.Unmarshal([]byte(lines[1]), &m); err != nil || m["component"] != "agent" {
				t.Errorf("the component must stay top-level beside a group: %v %s", err, lines[1])
			}
		}
	}
}
