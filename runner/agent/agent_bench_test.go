package agent

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/logging"
)

// benchAgent is an Agent with a typical state: three apps, their process
// groups and registrations, a queued task and a full finished list.
func benchAgent(b *testing.B) *Agent {
	a := &Agent{log: logging.Discard(), statePath: filepath.Join(b.TempDir(), StateFileName), bootID: bootID()}
	a.st = stateFile{V: stateVersion, Apps: map[string]appRecord{}}
	for i := range 3 {
		app := fmt.Sprintf("app-%d", i)
		a.st.Apps[app] = appRecord{Version: "1.2.3", Previous: "1.2.2", SHA256: goodSum,
			Instances: []instanceRecord{{ID: "host-1." + app + ".40001", Addr: "10.0.0.1:40001"}, {ID: "host-1." + app + ".40002", Addr: "10.0.0.1:40002"}}}
		for j := range 3 {
			a.st.Groups = append(a.st.Groups, groupRecord{App: app, Name: fmt.Sprintf("1.2.3.web.%d", j), PGID: 1000 + j, Start: 123456})
		}
		a.st.Registered = append(a.st.Registered, regRecord{App: app, ID: "host-1." + app + ".40001"}, regRecord{App: app, ID: "host-1." + app + ".40002"})
	}
	a.st.Queue = []queuedTask{{Task: wire.Task{DeployID: "d9", App: "app-0", Host: "host-1", TaskID: 1, Kind: wire.TaskDeploy, Version: "1.2.4", SHA256: goodSum}, ReceivedAt: time.Now(), Attempts: 1}}
	for i := range maxFinished {
		a.st.Finished = append(a.st.Finished, finishedTask{DeployID: fmt.Sprintf("d%d", i), TaskID: 1, App: "app-0",
			Last: wire.Event{DeployID: fmt.Sprintf("d%d", i), TaskID: 1, Host: "host-1", State: wire.PhaseHealthy, At: time.Now(), Msg: "2 instances healthy: 10.0.0.1:40001, 10.0.0.1:40002", Duration: wire.Duration(time.Second)}})
	}
	return a
}

// BenchmarkSaveState is one atomic state file write (encode, temp file,
// fsync, rename, directory fsync) with a full finished list.
func BenchmarkSaveState(b *testing.B) {
	a := benchAgent(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := a.save(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeTask(b *testing.B) {
	body := []byte(`{"deploy_id":"dep-01HZX","app":"shop","host":"host-1","task_id":3,"kind":"deploy","version":"1.4.2","sha256":"` + goodSum + `"}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := DecodeTask(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifySignedTask is what the agent does with a task message
// before it queues it: decode the envelope and check its Ed25519
// signature (the state file write that remembers its nonce is
// BenchmarkSaveState).
func BenchmarkVerifySignedTask(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	s := signed(wire.Task{DeployID: "dep-01HZX", App: "shop", Host: "host-1", TaskID: 3, Kind: wire.TaskDeploy, Version: "1.4.2", SHA256: goodSum})
	s.Sign(priv)
	body, _ := json.Marshal(s)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		got, err := DecodeSignedTask(body)
		if err != nil || !got.Verify(pub) {
			b.Fatal("does not verify", err)
		}
	}
}
