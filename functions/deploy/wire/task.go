package wire

import (
	"encoding/json"
	"reflect"
	"strconv"
	"time"
)

// Phase is where one target of a deploy is; agents report the phases of
// a task in their events.
type Phase string

// Target phases. An agent reports downloading, starting, healthy or failed
// for a deploy task, and downloading, starting, rolled_back (or healthy,
// read as rolled_back) or failed for a rollback task; a target whose
// rollback task is in flight is rolling_back.
const (
	PhasePending     Phase = "pending"
	PhaseDownloading Phase = "downloading"
	PhaseStarting    Phase = "starting"
	PhaseHealthy     Phase = "healthy"
	PhaseFailed      Phase = "failed"
	PhaseRollingBack Phase = "rolling_back"
	PhaseRolledBack  Phase = "rolled_back"
	// PhaseSkipped: the deploy ended (failed, rolled back or aborted)
	// before it sent the target a task; the target never changed.
	PhaseSkipped Phase = "skipped"
)

// Rank orders the phases of one task: pending < downloading < starting <
// terminal (healthy, rolled_back, failed); -1 for a phase an agent does
// not report.
func (p Phase) Rank() int {
	switch p {
	case PhasePending, "":
		return 0
	case PhaseDownloading:
		return 1
	case PhaseStarting:
		return 2
	case PhaseHealthy, PhaseRolledBack, PhaseFailed:
		return 3
	}
	return -1
}

// Terminal reports whether p ends a task.
func (p Phase) Terminal() bool { return p.Rank() == 3 }

// TaskKind says what a task asks of an agent.
type TaskKind string

// Task kinds.
const (
	// TaskDeploy installs and starts the deploy's version.
	TaskDeploy TaskKind = "deploy"
	// TaskRollback puts the previous version back.
	TaskRollback TaskKind = "rollback"
)

// Task is one task for an agent: install and start Version of App on its
// host (Kind deploy), or go back to it (Kind rollback; the release is
// usually still on the host). Agents handle a task id once: a repeated
// (Resend) task whose id they finished is answered with its last event
// again. On NSQ it travels as a SignedTask.
type Task struct {
	DeployID string   `json:"deploy_id"`
	App      string   `json:"app"`
	Host     string   `json:"host"`
	TaskID   int      `json:"task_id"`
	Kind     TaskKind `json:"kind"`
	Version  string   `json:"version"`
	SHA256   string   `json:"sha256"`
	// Resend marks a task sent again because the agent did not answer.
	Resend bool `json:"resend,omitempty"`
}

// Duration is a time.Duration written as text like "30s" or "1m30s" in
// JSON. Unlike config.Duration it takes no bare numbers and its errors
// are *json.UnmarshalTypeError, so that the decoder names the field.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String renders d like time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes d as a string ("0s" for zero).
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string like "30s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &json.UnmarshalTypeError{Value: DescribeJSON(b), Type: reflect.TypeFor[Duration]()}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return &json.UnmarshalTypeError{Value: strconv.Quote(s), Type: reflect.TypeFor[Duration]()}
	}
	*d = Duration(v)
	return nil
}

// DescribeJSON names the kind of a JSON value that is not a string
// ("object", "number 12", ...), for type errors.
func DescribeJSON(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	}
	if len(b) > 32 {
		return "number"
	}
	return "number " + string(b)
}
