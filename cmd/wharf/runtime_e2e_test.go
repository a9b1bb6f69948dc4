package main

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestServeRuntimeOptions: runtime.gomaxprocs, runtime.gogc and
// runtime.memory_limit reach the Go runtime (the process's own /metrics and
// its start log say so), and the GOMAXPROCS environment variable gives way
// to the option.
func TestServeRuntimeOptions(t *testing.T) {
	dir := t.TempDir()
	args := append(serveArgs(t), "--runtime-gomaxprocs", "1", "--runtime-gogc", "300",
		"--runtime-memory-limit", "512MiB", "--log-level", "debug")
	p := startWharf(t, dir, []string{"GOMAXPROCS=2"}, args...)
	internal := p.waitFor(reInternal, 30*time.Second)[1]
	m := call(t, "GET", internal+"/metrics", "", nil)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^go_gomaxprocs 1$`),
		regexp.MustCompile(`(?m)^go_memlimit_bytes (536870912|5\.36870912e\+08)$`),
	} {
		if !want.MatchString(m.raw) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	log := p.errOut()
	if !strings.Contains(log, "gomaxprocs=1 gogc=300 memory_limit=536870912") {
		t.Errorf("the start log does not report the runtime options in effect:\n%.2000s", log)
	}
	if code := p.stop(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
}

// TestServeRuntimeOptionsDefault: without the options the process keeps Go's
// defaults, the environment included (GOMAXPROCS=1 here).
func TestServeRuntimeOptionsDefault(t *testing.T) {
	dir := t.TempDir()
	p := startWharf(t, dir, []string{"GOMAXPROCS=1"}, serveArgs(t)...)
	internal := p.waitFor(reInternal, 30*time.Second)[1]
	m := call(t, "GET", internal+"/metrics", "", nil)
	if !regexp.MustCompile(`(?m)^go_gomaxprocs 1$`).MatchString(m.raw) {
		t.Errorf("/metrics: GOMAXPROCS=1 from the environment not in effect")
	}
	if code := p.stop(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
}

// TestServeRuntimeOptionsRejected: bad values stop the start with an error
// naming the option.
func TestServeRuntimeOptionsRejected(t *testing.T) {
	for _, c := range []struct{ flag, value, want string }{
		{"--runtime-gomaxprocs", "-1", "runtime.gomaxprocs"},
		{"--runtime-gogc", "-5", "runtime.gogc"},
		{"--runtime-memory-limit", "5%", "runtime.memory_limit"},
		{"--runtime-memory-limit", "lots", "runtime.memory_limit"},
	} {
		t.Run(c.flag+"="+c.value, func(t *testing.T) {
			_, stderr, code := runWharf(t, t.TempDir(), nil, append(serveArgs(t), c.flag, c.value)...)
			if code == 0 || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q: want a failure naming %s", code, stderr, c.want)
			}
		})
	}
}
