package agent

import (
	"bytes"
	"log/slog"
	"os"
	"strings"
	"testing"
)

func TestRunAsOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		runAs string
		mode  isoMode
		err   string
	}{
		{runAs: RunAsSelf, mode: isoSelf},
		{runAs: "root", err: "is root"},
		{runAs: "0", err: "is root"},
		{runAs: "0:0", err: "is root"},
		{runAs: "no-such-user-wharf", err: "cannot find user"},
		{runAs: "12:x", err: "uid:gid"},
		{runAs: "nobody", mode: isoFixed},
		{runAs: "4242:4343", mode: isoFixed},
	} {
		iso, err := newIsolation(Options{RunAs: tc.runAs})
		if tc.mode == isoFixed && os.Geteuid() != 0 {
			tc.err = "needs the agent to run as root"
		}
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("run_as %q: %v, want an error with %q", tc.runAs, err, tc.err)
			}
		case err != nil || iso.mode != tc.mode:
			t.Errorf("run_as %q: mode %d, %v; want mode %d", tc.runAs, iso.mode, err, tc.mode)
		}
	}
	if iso, err := newIsolation(Options{RunAs: "4242:4343"}); err == nil && (iso.uid != 4242 || iso.gid != 4343) {
		t.Errorf("uid:gid: %+v", iso)
	}
	if _, err := newIsolation(Options{AppUIDBase: 1 << 31, AppUIDCount: 2}); os.Geteuid() == 0 && err == nil {
		t.Error("a uid range past 2^31 was accepted")
	}
}

// TestRunAsSelfWarns: deployed code running as Wharf's own user is
// announced with a WARN at start.
func TestRunAsSelfWarns(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	iso, err := newIsolation(Options{RunAs: RunAsSelf})
	if err != nil {
		t.Fatal(err)
	}
	iso.announce(slog.New(slog.NewTextHandler(&buf, nil)), RunAsSelf)
	if l := buf.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "DEPLOYED CODE RUNS AS WHARF'S OWN USER") {
		t.Fatalf("log: %s", l)
	}
}
