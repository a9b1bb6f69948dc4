package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
)

// StateFileName is the agent's state file under Options.DataDir.
const StateFileName = "agent-state.json"

// stateVersion is the layout version of the state file.
const stateVersion = 1

// maxFinished bounds the finished task ids the state file remembers.
const maxFinished = 256

// stateFile is what the agent keeps on disk (JSON, written atomically):
// the tasks it accepted and has not finished, the tasks it finished (with
// the last event of each, to answer a repeated task), what each app runs,
// and every process group and registration it may have left behind.
type stateFile struct {
	V int `json:"v"`
	// BootID is the kernel's boot id when the file was written; process
	// groups recorded under another boot are gone.
	BootID   string               `json:"boot_id,omitempty"`
	Queue    []queuedTask         `json:"queue,omitempty"`
	Finished []finishedTask       `json:"finished,omitempty"`
	Apps     map[string]appRecord `json:"apps,omitempty"`
	// Groups are the process groups of the children started and not yet
	// stopped, of any release.
	Groups []groupRecord `json:"groups,omitempty"`
	// Registered are the instance registrations made and not yet deleted.
	Registered []regRecord `json:"registered,omitempty"`
	// UIDs are the uids (and gids) given to apps, kept for good so that
	// an app's files keep their owner and no two apps share one.
	UIDs map[string]int `json:"uids,omitempty"`
	// Nonces are the signed task messages accepted and not yet expired
	// (nonce → expiry): a replay of one is refused.
	Nonces map[string]time.Time `json:"nonces,omitempty"`
}

// queuedTask is a task accepted and not finished.
type queuedTask struct {
	Task       wire.Task `json:"task"`
	ReceivedAt time.Time `json:"received_at"`
	// Attempts counts the times a worker started the task.
	Attempts int `json:"attempts,omitempty"`
	// Last is the last event sent for it, if any.
	Last *wire.Event `json:"last,omitempty"`
}

// finishedTask is a task whose final event was sent.
type finishedTask struct {
	DeployID string     `json:"deploy_id"`
	TaskID   int        `json:"task_id"`
	App      string     `json:"app"`
	Last     wire.Event `json:"last"`
}

// appRecord is the release an app serves on this host.
type appRecord struct {
	Version   string           `json:"version"`
	SHA256    string           `json:"sha256,omitempty"`
	Previous  string           `json:"previous,omitempty"`
	Instances []instanceRecord `json:"instances,omitempty"`
}

// instanceRecord is one web instance of an app's release.
type instanceRecord struct {
	ID   string `json:"id"`
	Addr string `json:"addr"`
}

// groupRecord is a supervised child's process group. Start is the
// leader's start time in clock ticks after boot (/proc/<pid>/stat field
// 22), which tells the group from a later process that got the same pid.
type groupRecord struct {
	App   string `json:"app"`
	Name  string `json:"name"`
	PGID  int    `json:"pgid"`
	Start uint64 `json:"start,omitempty"`
}

// regRecord is an instance registration in the gateway registry.
type regRecord struct {
	App string `json:"app"`
	ID  string `json:"id"`
}

// loadState reads the state file; a missing file is an empty state. A
// file that cannot be parsed is renamed aside (<name>.corrupt-<unix>) and
// an empty state returned with a non-nil warning, so that one bad write
// never keeps the agent from starting.
func loadState(path string) (stateFile, error) {
	st := stateFile{V: stateVersion, Apps: map[string]appRecord{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("cannot read agent state: %w", err)
	}
	var got stateFile
	if err := json.Unmarshal(b, &got); err != nil || got.V != stateVersion {
		if err == nil {
			err = fmt.Errorf("unknown version %d", got.V)
		}
		aside := fmt.Sprintf("%s.corrupt-%d", path, time.Now().Unix())
		if rerr := os.Rename(path, aside); rerr != nil {
			return st, fmt.Errorf("cannot parse agent state (%w) nor move it aside: %w", err, rerr)
		}
		return st, &corruptStateError{aside: aside, err: err}
	}
	if got.Apps == nil {
		got.Apps = map[string]appRecord{}
	}
	return got, nil
}

// corruptStateError says the state file was unreadable and moved aside.
type corruptStateError struct {
	aside string
	err   error
}

func (e *corruptStateError) Error() string {
	return fmt.Sprintf("cannot parse agent state, moved it to %s and started empty: %v", e.aside, e.err)
}

func (e *corruptStateError) Unwrap() error { return e.err }

// writeFileAtomic writes b to path: a temporary file in the same
// directory, fsynced, renamed over path, and the directory fsynced, so a
// crash leaves either the old or the new content.
func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("cannot sync %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cannot sync %s: %w", dir, err)
	}
	return nil
}

// save writes the state file from the in-memory state. Saves are
// serialised and each takes its snapshot under the save lock, so the file
// never goes back to an older snapshot.
func (a *Agent) save() error {
	a.saveMu.Lock()
	defer a.saveMu.Unlock()
	a.mu.Lock()
	a.st.V = stateVersion
	a.st.BootID = a.bootID
	b, err := json.Marshal(&a.st)
	a.mu.Unlock()
	if err != nil {
		return fmt.Errorf("cannot encode agent state: %w", err)
	}
	return writeFileAtomic(a.statePath, b)
}

// saveOrLog saves and logs a failure: used where the work already
// happened and the next save will catch up.
func (a *Agent) saveOrLog() {
	if err := a.save(); err != nil {
		a.log.Error("cannot save agent state", "err", err)
	}
}

// findFinished returns the finished record of a task, or nil. a.mu held.
func (a *Agent) findFinished(deployID string, taskID int) *finishedTask {
	for i := range a.st.Finished {
		if f := &a.st.Finished[i]; f.DeployID == deployID && f.TaskID == taskID {
			return f
		}
	}
	return nil
}

// findQueued returns the index of a queued task, or -1. a.mu held.
func (a *Agent) findQueued(deployID string, taskID int) int {
	for i, q := range a.st.Queue {
		if q.Task.DeployID == deployID && q.Task.TaskID == taskID {
			return i
		}
	}
	return -1
}

// superseded reports whether a newer task of the same deploy and app was
// accepted (queued or finished) than t. a.mu held.
func (a *Agent) superseded(t wire.Task) bool {
	for _, q := range a.st.Queue {
		if q.Task.DeployID == t.DeployID && q.Task.App == t.App && q.Task.TaskID > t.TaskID {
			return true
		}
	}
	for _, f := range a.st.Finished {
		if f.DeployID == t.DeployID && f.App == t.App && f.TaskID > t.TaskID {
			return true
		}
	}
	return false
}

// markFinished moves a task from the queue to the finished list (bounded,
// oldest dropped) with its last event. a.mu held.
func (a *Agent) markFinished(t wire.Task, last wire.Event) {
	if i := a.findQueued(t.DeployID, t.TaskID); i >= 0 {
		a.st.Queue = append(a.st.Queue[:i], a.st.Queue[i+1:]...)
	}
	if f := a.findFinished(t.DeployID, t.TaskID); f != nil {
		f.Last = last
		return
	}
	a.st.Finished = append(a.st.Finished, finishedTask{DeployID: t.DeployID, TaskID: t.TaskID, App: t.App, Last: last})
	if n := len(a.st.Finished) - maxFinished; n > 0 {
		a.st.Finished = append(a.st.Finished[:0], a.st.Finished[n:]...)
	}
}

// trackGroup records a child's process group. a.mu not held.
func (a *Agent) trackGroup(g groupRecord) {
	a.mu.Lock()
	a.st.Groups = append(a.st.Groups, g)
	a.mu.Unlock()
	a.saveOrLog()
}

// untrackGroups forgets process groups that were stopped. a.mu not held.
func (a *Agent) untrackGroups(pgids ...int) {
	if len(pgids) == 0 {
		return
	}
	a.mu.Lock()
	kept := a.st.Groups[:0]
	for _, g := range a.st.Groups {
		drop := false
		for _, id := range pgids {
			drop = drop || g.PGID == id
		}
		if !drop {
			kept = append(kept, g)
		}
	}
	a.st.Groups = kept
	a.mu.Unlock()
	a.saveOrLog()
}

// setRegistered adds or removes a registration record. a.mu not held.
func (a *Agent) setRegistered(r regRecord, on bool) {
	a.mu.Lock()
	kept := a.st.Registered[:0]
	for _, x := range a.st.Registered {
		if x != r {
			kept = append(kept, x)
		}
	}
	a.st.Registered = kept
	if on {
		a.st.Registered = append(a.st.Registered, r)
	}
	a.mu.Unlock()
	a.saveOrLog()
}
