package main

import "testing"

func TestEscapeControls(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"plain\ttext é":      "plain\ttext é",
		"\x1b]52;c;aGk=\x07": `\x1b]52;c;aGk=\x07`,
		"a\rb\x7fc\u009bd":   `a\x0db\x7fc\u009bd`,
	} {
		if got := escapeControls(in); got != want {
			t.Errorf("escapeControls(%q) = %q, want %q", in, got, want)
		}
	}
}
