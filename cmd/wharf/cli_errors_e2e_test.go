package main

import (
	"strings"
	"testing"
)

// Errors that misled people (issue 12), through the real binary: each says
// what is wrong with the input, before anything is sent or packed.
func TestCLIErrorsSayWhatIsWrong(t *testing.T) {
	dir := t.TempDir()
	env := []string{"WHARF_SERVER=http://127.0.0.1:1", "WHARF_TOKEN=unused"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"acl", "ban", "192.0.2.1", "--for", "-5m"}, "--for must be a positive duration"},
		{[]string{"acl", "ban", "192.0.2.1"}, "--for is required"},
		{[]string{"push", dir, "--version", "../../x"}, `--version "../../x" is invalid`},
		{[]string{"nosuchcommand"}, `unknown command "nosuchcommand"`},
		{[]string{"deploy"}, "usage: wharf deploy APP VERSION"},
		{[]string{"acl", "ban"}, "usage: wharf acl ban IP|CIDR --for DURATION"},
	} {
		_, errOut, code := runWharf(t, dir, env, c.args...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("wharf %v: exit %d, stderr %q, want it to say %q", c.args, code, errOut, c.want)
		}
	}
}
