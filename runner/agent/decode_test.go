package agent

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/ident"
)

const goodSum = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestDecodeTask(t *testing.T) {
	t.Parallel()
	good := `{"deploy_id":"d1","app":"shop","host":"h1","task_id":2,"kind":"rollback","version":"1.0.0+b1","sha256":"` + goodSum + `","resend":true,"new_field":1}`
	task, err := DecodeTask([]byte(good))
	want := wire.Task{DeployID: "d1", App: "shop", Host: "h1", TaskID: 2, Kind: wire.TaskRollback, Version: "1.0.0+b1", SHA256: goodSum, Resend: true}
	if err != nil || task != want {
		t.Fatalf("DecodeTask(good) = %+v, %v", task, err)
	}
	for name, tc := range map[string]struct {
		body, msg string
		keeps     bool // the task's ids come back for a failed event
	}{
		"not json":     {body: `{`, msg: "cannot decode task"},
		"trailing":     {body: good + `{}`, msg: "trailing data"},
		"wrong type":   {body: `{"task_id":"1"}`, msg: "cannot decode task"},
		"no deploy":    {body: strings.Replace(good, `"d1"`, `""`, 1), msg: "deploy_id", keeps: false},
		"task id":      {body: strings.Replace(good, `"task_id":2`, `"task_id":0`, 1), msg: "task_id must be positive"},
		"kind":         {body: strings.Replace(good, `"rollback"`, `"restart"`, 1), msg: "kind must be deploy or rollback", keeps: true},
		"app":          {body: strings.Replace(good, `"shop"`, `"../etc"`, 1), msg: "app must be", keeps: true},
		"version":      {body: strings.Replace(good, `"1.0.0+b1"`, `"../x"`, 1), msg: "version", keeps: true},
		"sha256":       {body: strings.Replace(good, goodSum, "abc", 1), msg: "sha256 must be 64 hex digits", keeps: true},
		"missing host": {body: strings.Replace(good, `"h1"`, `""`, 1), msg: "host must be", keeps: true},
	} {
		task, err := DecodeTask([]byte(tc.body))
		if !errors.Is(err, ErrBadTask) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: err %v, want %q", name, err, tc.msg)
		}
		if tc.keeps && (task.DeployID != "d1" || task.TaskID != 2) {
			t.Errorf("%s: task ids not kept: %+v", name, task)
		}
	}
}

func TestClipTail(t *testing.T) {
	t.Parallel()
	var lines []string
	for i := range 50 {
		lines = append(lines, strings.Repeat("x", i))
	}
	got := wire.LogTail(strings.Join(lines, "\n") + "\n")
	if n := strings.Count(got, "\n") + 1; n != wire.MaxLogLines || !strings.HasSuffix(got, strings.Repeat("x", 49)) {
		t.Errorf("%d lines: %q", n, got)
	}
	long := strings.Repeat("é", wire.MaxLogBytes)
	if got := wire.LogTail(long); len(got) > wire.MaxLogBytes || !strings.HasPrefix(got, "é") {
		t.Errorf("clipped to %d bytes, starting %q", len(got), got[:2])
	}
}

func FuzzDecodeTask(f *testing.F) {
	f.Add([]byte(`{"deploy_id":"d1","app":"shop","host":"h1","task_id":2,"kind":"deploy","version":"1.0.0","sha256":"` + goodSum + `"}`))
	f.Add([]byte(`{"task_id":-1}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"deploy_id":"d","task_id":1e99}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		task, err := DecodeTask(b)
		if err != nil {
			if !errors.Is(err, ErrBadTask) {
				t.Fatalf("error not ErrBadTask: %v", err)
			}
			return
		}
		if !validApp(task.App) || !ident.Version(task.Version) || !validSHA256(task.SHA256) || task.TaskID < 1 || task.DeployID == "" {
			t.Fatalf("accepted an invalid task %+v", task)
		}
		re, err := json.Marshal(task)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeTask(re)
		if err != nil || again != task {
			t.Fatalf("round trip: %+v, %v", again, err)
		}
	})
}
