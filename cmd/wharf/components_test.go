package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/runner/agent"
)

// lockedLog collects a process's JSON log lines.
type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// steps are the steps of the shutdown log lines, in order.
func (l *lockedLog) steps(t *testing.T) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var steps []string
	for _, line := range strings.Split(l.b.String(), "\n") {
		var e struct{ Msg, Step string }
		if line == "" || json.Unmarshal([]byte(line), &e) != nil {
			continue
		}
		if strings.HasPrefix(e.Msg, "shutdown step") {
			steps = append(steps, e.Step)
		}
	}
	return steps
}

// componentCase is serve or a role with the options it starts with.
type componentCase struct {
	role role
	opts func(t *testing.T) config.Options
	want []string // the component table, in order
}

func localOpts(t *testing.T) config.Options {
	o := config.Defaults()
	o.DataDir = filepath.Join(t.TempDir(), "data")
	o.Log.Format, o.Log.Level = "json", "debug"
	o.Internal.Listen, o.Gateway.Listen = "127.0.0.1:0", "127.0.0.1:0"
	o.NSQ.EmbeddedTCP, o.NSQ.EmbeddedHTTP = "127.0.0.1:0", "127.0.0.1:0"
	o.ShutdownGrace = 10 * time.Second
	// An isolating agent (the default as root) sets the umask of the whole
	// process, which is this test binary's; these agents run no apps.
	o.Agent.RunAs = agent.RunAsSelf
	return o
}

func roleByName(t *testing.T, name string) role {
	for _, r := range roles() {
		if r.name == name {
			return r
		}
	}
	t.Fatalf("no role %s", name)
	return role{}
}

func componentCases(t *testing.T) []componentCase {
	redis := testenv.StartRedis(t)
	// No nsqlookupd: go-nsq's consumers query it through an HTTP client of
	// their own whose idle connection outlives Stop by up to 90 s (go-nsq
	// v1.1.0, consumer.go ConnectToNSQLookupd), which this test would
	// report as goroutines left.
	nsqd := testenv.StartNSQD(t)
	minio := testenv.StartMinIO(t)
	tokenFile := filepath.Join(t.TempDir(), "agent.token")
	if err := os.WriteFile(tokenFile, []byte("wharf_0000000000000000_00\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	shared := func(t *testing.T) config.Options {
		o := localOpts(t)
		o.Redis.Addr, o.NSQ.NSQD = redis.Addr, []string{nsqd.Addr}
		o.MinIO.Endpoint, o.MinIO.AccessKey, o.MinIO.SecretKey = minio.Addr, minio.AccessKey, minio.SecretKey
		o.Agent.TokenFile, o.Agent.Server = tokenFile, "http://127.0.0.1:9"
		return o
	}
	return []componentCase{
		{serveRole(), localOpts, []string{"internal listener", "store", "embedded nsqd", "nsqd producer", "outbox", "artifact store",
			"functions", "artifacts", "edge config", "deploy", "monitor", "alarms", "ab", "config", "judge", "notify", "gateway", "agent", "node heartbeat", "readiness"}},
		{roleByName(t, "functions"), shared, []string{"internal listener", "store", "nsqd producer", "nsqlookupd", "artifact store",
			"functions", "artifacts", "edge config", "deploy", "monitor", "alarms", "ab", "config", "cluster rate limits", "gateway", "series writer", "node heartbeat", "readiness"}},
		{roleByName(t, "gateway"), shared, []string{"internal listener", "store", "nsqd producer", "nsqlookupd",
			"functions", "edge config", "deploy", "monitor", "alarms", "ab", "config", "cluster rate limits", "gateway", "node heartbeat", "readiness"}},
		{roleByName(t, "judge"), shared, []string{"internal listener", "store", "nsqd producer", "nsqlookupd", "judge", "node heartbeat", "readiness"}},
		{roleByName(t, "notify"), shared, []string{"internal listener", "store", "nsqd producer", "nsqlookupd", "notify", "node heartbeat", "readiness"}},
		{roleByName(t, "agent"), shared, []string{"internal listener", "nsqd producer", "nsqlookupd", "agent", "readiness"}},
	}
}

func newWiring(t *testing.T, c componentCase, logs *lockedLog) *wiring {
	b, err := newBase(c.opts(t), "", logs, c.role.name)
	if err != nil {
		t.Fatal(err)
	}
	return &wiring{base: b, role: c.role}
}

func names(table []component) []string {
	var n []string
	for _, c := range table {
		n = append(n, c.name)
	}
	return n
}

// goroutines are the ids of the running goroutines, with their stacks.
func goroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	ids := map[string]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		if f := strings.Fields(g); len(f) > 1 {
			ids[f[1]] = g
		}
	}
	return ids
}

// childProcesses lists the processes this test process started that still run.
func childProcesses(t *testing.T) string {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		kids = append(kids, strings.Fields(string(b))...)
	}
	sort.Strings(kids)
	return strings.Join(kids, " ")
}

// addrs are the addresses the started part of w listens on.
func (w *wiring) addrs() []string {
	var a []string
	if w.ops != nil {
		a = append(a, w.ops.Addr().String())
	}
	if w.nsqd != nil {
		a = append(a, w.nsqd.TCPAddr(), w.nsqd.HTTPAddr())
	}
	if w.gw != nil {
		a = append(a, w.gw.Addr().String())
	}
	return a
}

var reInjected = regexp.MustCompile(`^cannot start ([a-z ]+): injected failure$`)

// TestEveryFailedStartLeavesNothingRunning starts serve and every role in
// this process, once with a start that fails at each component of its table
// in turn: the error names the component, and the listeners, goroutines
// and child processes of the components started before it are gone. A full
// start first shows the table and that shutdown stops it in reverse order.
func TestEveryFailedStartLeavesNothingRunning(t *testing.T) {
	for _, c := range componentCases(t) {
		t.Run(c.role.name, func(t *testing.T) {
			kidsBefore := childProcesses(t)
			// A full start and stop: the table is as declared, and the
			// goroutines libraries keep for the whole process exist from now on.
			logs := &lockedLog{}
			w := newWiring(t, c, logs)
			table := w.components()
			if got := names(table); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("component table\n got %q\nwant %q", got, c.want)
			}
			s, err := startComponents(context.Background(), w.log, table, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			var stoppable []string
			for i := len(s.steps) - 1; i >= 0; i-- {
				stoppable = append(stoppable, s.steps[i].name)
			}
			if err := s.stop(10 * time.Second); err != nil {
				t.Fatal(err)
			}
			if got := logs.steps(t); !reflect.DeepEqual(got, stoppable) {
				t.Fatalf("shutdown steps\n got %q\nwant %q (the table backwards)", got, stoppable)
			}
			before := goroutines()

			for k := range c.want {
				t.Run(c.want[k], func(t *testing.T) {
					logs := &lockedLog{}
					t.Cleanup(func() {
						if t.Failed() {
							t.Logf("log of the failed start:\n%s", logs.b.String())
						}
					})
					w := newWiring(t, c, logs)
					table := w.components()
					var listening []string
					table[k].start = func(context.Context) (stopFunc, error) {
						listening = w.addrs()
						return nil, errors.New("injected failure")
					}
					_, err := startComponents(context.Background(), w.log, table, 10*time.Second)
					if m := reInjected.FindStringSubmatch(fmt.Sprint(err)); m == nil || m[1] != c.want[k] {
						t.Fatalf("err = %v, want it to name %q", err, c.want[k])
					}
					// A listener's socket is closed once its Accept returns.
					testenv.Eventually(t, 10*time.Second, func() error {
						for _, a := range listening {
							if listensHere(t, a) {
								return fmt.Errorf("%s is still listened on by this process", a)
							}
						}
						return nil
					})
					testenv.Eventually(t, 10*time.Second, func() error {
						var left []string
						for id, g := range goroutines() {
							if _, ok := before[id]; !ok && !strings.Contains(g, "wharf.goroutines()") {
								left = append(left, g)
							}
						}
						if len(left) > 0 {
							return fmt.Errorf("%d goroutines left:\n%s", len(left), strings.Join(left, "\n\n"))
						}
						return nil
					})
					if kids := childProcesses(t); kids != kidsBefore {
						t.Errorf("child processes %q, before %q", kids, kidsBefore)
					}
				})
			}
		})
	}
}
