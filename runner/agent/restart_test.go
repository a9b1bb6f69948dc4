package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/logging"
	"github.com/wharfhq/wharf/internal/testenv"
)

// An agent stopped in the middle of a task resumes it from the start
// after it restored what the app ran.
func TestRestartMidTaskResumes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	block := filepath.Join(testenv.CrossableDir(t), "block")
	if err := os.WriteFile(block, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sha1 := h.cp.add("1.0.0", makeBundle(t, bundleSpec{version: "1.0.0"}))
	sha2 := h.cp.add("1.1.0", makeBundle(t, bundleSpec{version: "1.1.0", env: map[string]string{"BLOCK_FILE": block}}))
	opts := h.options()
	opts.HealthTimeout = 30 * time.Second
	first := h.start(opts)
	deployFirst(t, h, sha1)

	h.publish(h.task("d1", 1, wire.TaskDeploy, "1.1.0", sha2))
	h.waitState("d1", 1, wire.PhaseStarting, 30*time.Second)
	var groups []groupRecord
	testenv.Eventually(t, 10*time.Second, func() error {
		groups = h.readState().Groups
		n := 0
		for _, g := range groups {
			if strings.HasPrefix(g.Name, "1.1.0.") {
				n++
			}
		}
		if n != 3 {
			return fmt.Errorf("%d processes of 1.1.0 started", n)
		}
		return nil
	})
	first.stop()
	if live := h.cp.live(); len(live) != 0 {
		t.Errorf("registrations left after shutdown: %v", live)
	}
	groupsGone(t, groups)
	st := h.readState()
	if len(st.Queue) != 1 || st.Queue[0].Task.DeployID != "d1" || st.Queue[0].Attempts != 1 || st.Apps["shop"].Version != "1.0.0" {
		t.Fatalf("state after stopping mid-task: %+v", st)
	}
	if l := currentLink(t, h); l != "releases/1.0.0" {
		t.Errorf("current -> %s after the aborted task", l)
	}

	if err := os.Remove(block); err != nil {
		t.Fatal(err)
	}
	second := h.start(opts)
	ev := h.waitFinal("d1", 1, 30*time.Second)
	if ev.State != wire.PhaseHealthy {
		t.Fatalf("resumed task: %s: %s\n%s", ev.State, ev.Msg, ev.LogTail)
	}
	want := []wire.Phase{wire.PhaseDownloading, wire.PhaseStarting, wire.PhaseDownloading, wire.PhaseStarting, wire.PhaseHealthy}
	if got := states(h.eventsOf("d1", 1)); !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	h.checkServing("1.1.0", 2)
	restored := 0
	for _, op := range h.cp.opsCopy() {
		if op.Method == "PUT" && op.New && op.Version == "1.0.0" {
			restored++
		}
	}
	if restored != 4 {
		t.Errorf("1.0.0 registered %d times, want 2 + 2 after the restart", restored)
	}
	if n := h.cp.downloadsOf("1.1.0"); n != 1 {
		t.Errorf("1.1.0 downloaded %d times", n)
	}
	if s := second.Apps()["shop"]; s.Version != "1.1.0" || s.Previous != "1.0.0" || !s.Healthy {
		t.Errorf("Apps: %+v", s)
	}
}

// After a crash (SIGKILL) of the agent, the next one stops the orphaned
// children, deletes their registrations and serves the app again.
func TestCrashRestartStopsOrphans(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sha1 := h.cp.add("1.0.0", makeBundle(t, bundleSpec{version: "1.0.0"}))
	cfg, err := json.Marshal(childConfig{HostID: h.host, DataDir: h.dir, Server: h.cp.srv.URL, Token: h.cp.token, NSQD: []string{h.nsqd.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(cfg))
	cmd.Stdout, cmd.Stderr = h.logs, h.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	deployFirst(t, h, sha1)

	var groups []groupRecord
	testenv.Eventually(t, 10*time.Second, func() error {
		groups = h.readState().Groups
		if len(groups) != 3 {
			return fmt.Errorf("%d process groups recorded", len(groups))
		}
		return nil
	})
	killGroupsOnCleanup(t, func() []groupRecord { return groups })
	old := h.cp.live()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	for _, g := range groups {
		if !ourGroup(g) {
			t.Fatalf("process group %d (%s) did not outlive the agent", g.PGID, g.Name)
		}
	}

	a := h.start(h.options())
	groupsGone(t, groups)
	h.checkServing("1.0.0", 2)
	deleted := map[string]bool{}
	for _, op := range h.cp.opsCopy() {
		if op.Method == "DELETE" {
			deleted[op.ID] = true
		}
	}
	for id := range old {
		if !deleted[id] {
			t.Errorf("registration %s of the crashed agent not deleted", id)
		}
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		if s := a.Apps()["shop"]; s.Version != "1.0.0" || !s.Healthy || len(s.Instances) != 2 {
			return fmt.Errorf("Apps: %+v", s)
		}
		return nil
	})
}

// A task that was started MaxTaskAttempts times is reported failed.
func TestTaskGivesUpAfterAttempts(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sha1 := h.cp.add("1.0.0", makeBundle(t, bundleSpec{version: "1.0.0"}))
	task := h.task("d1", 1, wire.TaskDeploy, "1.0.0", sha1)
	st := stateFile{V: stateVersion, Queue: []queuedTask{{Task: task, ReceivedAt: time.Now(), Attempts: DefaultMaxTaskAttempts}}}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(filepath.Join(h.dir, StateFileName), b); err != nil {
		t.Fatal(err)
	}
	h.start(h.options())
	ev := h.waitFinal("d1", 1, 30*time.Second)
	if ev.State != wire.PhaseFailed || !strings.Contains(ev.Msg, "agent restarted mid-task") {
		t.Fatalf("event %s: %q", ev.State, ev.Msg)
	}
	if n := h.cp.downloadsOf("1.0.0"); n != 0 {
		t.Errorf("downloads: %d", n)
	}
	// Repeating it now only repeats the answer.
	h.publish(task)
	testenv.Eventually(t, 10*time.Second, func() error {
		if evs := h.eventsOf("d1", 1); len(evs) != 2 || evs[1] != ev {
			return fmt.Errorf("events %+v", evs)
		}
		return nil
	})
}

// Only the recorded group — same leader start time — is ever signalled.
func TestKillGroupsChecksStartTime(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	pid := cmd.Process.Pid
	rec := groupRecord{App: "shop", Name: "x", PGID: pid, Start: procStart(pid)}
	if rec.Start == 0 || !ourGroup(rec) {
		t.Fatalf("own group %+v not recognised", rec)
	}
	reused := rec
	reused.Start++
	if ourGroup(reused) {
		t.Fatal("a group with another start time counts as ours")
	}
	a := &Agent{log: logging.Discard()}
	a.killGroups([]groupRecord{reused})
	select {
	case <-exited:
		t.Fatal("a process with another start time was killed")
	case <-time.After(100 * time.Millisecond):
	}
	a.killGroups([]groupRecord{rec})
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the recorded group was not killed")
	}
}

func TestStateFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, StateFileName)
	st, err := loadState(path)
	if err != nil || len(st.Apps) != 0 || st.V != stateVersion {
		t.Fatalf("missing file: %+v, %v", st, err)
	}
	st.Apps["shop"] = appRecord{Version: "1.0.0", Instances: []instanceRecord{{ID: "a", Addr: "127.0.0.1:1"}}}
	st.Finished = append(st.Finished, finishedTask{DeployID: "d", TaskID: 1, App: "shop", Last: wire.Event{DeployID: "d", TaskID: 1, State: wire.PhaseHealthy}})
	b, _ := json.Marshal(st)
	if err := writeFileAtomic(path, b); err != nil {
		t.Fatal(err)
	}
	got, err := loadState(path)
	if err != nil || got.Apps["shop"].Version != "1.0.0" || len(got.Finished) != 1 {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = loadState(path)
	var corrupt *corruptStateError
	if !errors.As(err, &corrupt) || len(got.Apps) != 0 {
		t.Fatalf("corrupt file: %+v, %v", got, err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("corrupt file left in place: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || !strings.Contains(ents[0].Name(), ".corrupt-") {
		t.Errorf("dir after moving aside: %v", ents)
	}
}

func TestMarkFinishedIsBounded(t *testing.T) {
	t.Parallel()
	a := &Agent{}
	for i := 1; i <= maxFinished+10; i++ {
		task := wire.Task{DeployID: "d", App: "shop", TaskID: i}
		a.st.Queue = append(a.st.Queue, queuedTask{Task: task})
		a.markFinished(task, wire.Event{DeployID: "d", TaskID: i})
	}
	if len(a.st.Finished) != maxFinished || len(a.st.Queue) != 0 {
		t.Fatalf("%d finished, %d queued", len(a.st.Finished), len(a.st.Queue))
	}
	if a.findFinished("d", 10) != nil || a.findFinished("d", maxFinished+10) == nil {
		t.Error("the oldest should be dropped, the newest kept")
	}
	if !a.superseded(wire.Task{DeployID: "d", App: "shop", TaskID: 5}) || a.superseded(wire.Task{DeployID: "e", App: "shop", TaskID: 5}) {
		t.Error("superseded")
	}
}
