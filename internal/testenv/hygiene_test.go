package testenv

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// testFiles returns the *_test.go files outside gateway/ (its own owner in
// issue 12), by folder relative to the repository root.
func testFiles(t *testing.T) map[string][]string {
	t.Helper()
	root := repoRoot()
	if root == "" {
		t.Fatal("cannot find the repository root (go.mod of github.com/wharfhq/wharf)")
	}
	dirs := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "gateway" || (rel != "." && strings.HasPrefix(d.Name(), ".")) || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(rel, "_test.go") {
			dirs[filepath.Dir(rel)] = append(dirs[filepath.Dir(rel)], rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

func read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPurePackagesRunInParallel: the tests of a package that does no I/O
// (its tests touch no files, network, processes or test servers) run in
// parallel, every top-level test calling t.Parallel first.
func TestPurePackagesRunInParallel(t *testing.T) {
	t.Parallel()
	doesIO := regexp.MustCompile(`"(os|os/exec|net|net/http|net/http/httptest)"|internal/testenv"|t\.TempDir\(|t\.Setenv\(`)
	test := regexp.MustCompile(`(?m)^func (Test\w+)\(t \*testing\.T\) \{\n(.*)$`)
	for dir, files := range testFiles(t) {
		var srcs []string
		pure := true
		for _, f := range files {
			src := read(t, f)
			srcs = append(srcs, src)
			if doesIO.MatchString(src) {
				pure = false
			}
		}
		if !pure || dir == "internal/testenv" {
			continue
		}
		for i, src := range srcs {
			for _, loc := range test.FindAllStringSubmatchIndex(src, -1) {
				m := []string{src[loc[0]:loc[1]], src[loc[2]:loc[3]], src[loc[4]:loc[5]]}
				body := src[loc[0]:]
				if end := strings.Index(body, "\n}\n"); end >= 0 {
					body = body[:end]
				}
				// testing.AllocsPerRun panics in a parallel test.
				if strings.TrimSpace(m[2]) != "t.Parallel()" && !strings.Contains(body, "AllocsPerRun") {
					t.Errorf("%s: %s does no I/O and should start with t.Parallel()", files[i], m[1])
				}
			}
		}
	}
}

// TestTestsLogThroughT: tests log with t.Log, not to stdout or the global
// logger, so the output belongs to its test and shows only when it fails.
// Programs a test builds and runs (a main in a _test.go file that is a
// deployed app, say) print to their own stdout and are allowed.
func TestTestsLogThroughT(t *testing.T) {
	t.Parallel()
	printing := regexp.MustCompile(`\b(fmt\.Print|fmt\.Println|fmt\.Printf|log\.Print|log\.Printf|log\.Println|println)\(`)
	programs := map[string]string{
		"runner/agent/helpers_test.go":         "the test binary doubles as the sample app the agent runs; its stdout is the app's log",
		"cmd/wharf/deploy_e2e_test.go":         "holds the source of the sample app the tests build and deploy; its stdout is the app's log",
		"monitoring/seriesstore/crash_test.go": "the crash test's child process tells its parent through stdout which points were acknowledged",
	}
	for _, files := range testFiles(t) {
		for _, f := range files {
			if _, ok := programs[f]; ok {
				continue
			}
			for i, line := range strings.Split(read(t, f), "\n") {
				if printing.MatchString(line) {
					t.Errorf("%s:%d prints outside the test log (use t.Log): %s", f, i+1, strings.TrimSpace(line))
				}
			}
		}
	}
}

// TestNoSelfSkippingTests: a test that skips itself (when the machine is
// slow, a tool is missing, ...) hides regressions in CI. Skips are allowed
// only where listed, with the reason; RequireRoot and the binaries of
// testenv skip outside CI only and fail in it.
func TestNoSelfSkippingTests(t *testing.T) {
	t.Parallel()
	skip := regexp.MustCompile(`\bt\.(Skip|Skipf|SkipNow)\(`)
	allowed := map[string]int{
		"cmd/wharf/deploy_e2e_test.go": 1, // go test -short leaves out the minutes-long acceptance run; CI runs without -short
	}
	for _, files := range testFiles(t) {
		for _, f := range files {
			if n := len(skip.FindAllString(read(t, f), -1)); n > allowed[f] {
				t.Errorf("%s skips itself %d times (%d allowed): fail instead, or in CI-only cases use testenv's helpers", f, n, allowed[f])
			}
		}
	}
}
