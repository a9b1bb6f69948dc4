package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"
)

// CLI/API mismatches must not ship again (issue 12): every command of the
// tree has to run successfully at least once in the e2e suite, against a
// real server. runWharf records each command that exits 0 and startWharf
// each long-running command it starts; when the whole suite ran (no -run,
// no -short), TestMain fails it if a command of the tree was never run.

// ranCommands are the command paths the suite ran successfully.
type ranCommands struct {
	mu  sync.Mutex
	ran map[string]bool
}

var ran = &ranCommands{ran: map[string]bool{}}

// record notes the command that args select (as `wharf ARGS` would).
func (r *ranCommands) record(args []string) {
	root := newRoot(io.Discard, io.Discard)
	root.InitDefaultCompletionCmd(args...)
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ran[cmd.CommandPath()] = true
}

// commandTree are the paths of every command a user can run: runnable,
// not hidden, not help.
func commandTree() []string {
	root := newRoot(io.Discard, io.Discard)
	root.InitDefaultCompletionCmd()
	var out []string
	walk(root, func(c *cobra.Command) {
		if c.Runnable() && !c.Hidden && c.Name() != "help" && c != root {
			out = append(out, c.CommandPath())
		}
	})
	sort.Strings(out)
	return out
}

// missingCommands are the commands of the tree the suite never ran.
func (r *ranCommands) missing() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, p := range commandTree() {
		if !r.ran[p] {
			out = append(out, p)
		}
	}
	return out
}

// checkEveryCommandRan is called by TestMain after the suite: with the
// whole suite run, a command that no e2e test ran fails it.
func checkEveryCommandRan(code int) int {
	if code != 0 || testing.Short() || flag.Lookup("test.run").Value.String() != "" {
		return code
	}
	if m := ran.missing(); len(m) > 0 {
		fmt.Fprintf(os.Stderr, "--- FAIL: e2e coverage of the CLI: no e2e test ran these commands successfully against a real server:\n  %s\n"+
			"Add a happy path for each (TestEveryCommandAgainstServe in cli_all_e2e_test.go is the place).\nFAIL\n", strings.Join(m, "\n  "))
		return 1
	}
	return code
}

// The tree check itself: the recorder finds a command from its arguments
// the way the binary does, flags and positional arguments included.
func TestCoverageRecorderFindsCommands(t *testing.T) {
	r := &ranCommands{ran: map[string]bool{}}
	r.record([]string{"deploy", "shop", "1.0", "--watch"})
	r.record([]string{"acl", "allow", "add", "10.0.0.0/8", "-o", "json"})
	r.record([]string{"completion", "bash"})
	r.record([]string{"serve", "--gateway-listen", "127.0.0.1:0"})
	for _, p := range []string{"wharf deploy", "wharf acl allow add", "wharf completion bash", "wharf serve"} {
		if !r.ran[p] {
			t.Errorf("%s not recorded: %v", p, r.ran)
		}
	}
	tree := commandTree()
	for _, want := range []string{"wharf login", "wharf context use", "wharf completion zsh", "wharf deploy", "wharf deploy status", "wharf agent"} {
		if !contains(tree, want) {
			t.Errorf("the command tree lacks %q: %v", want, tree)
		}
	}
	if contains(tree, "wharf help") || contains(tree, "wharf __complete") || contains(tree, "wharf acl") {
		t.Errorf("the tree lists help, hidden or group commands: %v", tree)
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
