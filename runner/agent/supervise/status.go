package supervise

import "time"

// State is the lifecycle state of a supervised process.
type State int

// The states of a Process.
const (
	// StateRunning: a child is running.
	StateRunning State = iota + 1
	// StateBackoff: the child crashed (or failed to start) and the next
	// start is due at Status.NextStartAt.
	StateBackoff
	// StateStopping: Stop is ending the child's process group.
	StateStopping
	// StateStopped: stopped for good; Done is closed.
	StateStopped
)

// String returns the state's name in lower case.
func (s State) String() string {
	switch s {
	case StateRunning:
		return "running"
	case StateBackoff:
		return "backoff"
	case StateStopping:
		return "stopping"
	case StateStopped:
		return "stopped"
	}
	return "unknown"
}

// Status is a snapshot of a Process.
type Status struct {
	// Name is Spec.Name.
	Name string
	// State is the lifecycle state.
	State State
	// PID is the pid (and process group id) of the running child, else 0.
	PID int
	// Restarts counts the starts attempted after crashes.
	Restarts int
	// StartedAt is when the current or most recent child started.
	StartedAt time.Time
	// ExitedAt is when the most recent child exited; zero before the first exit.
	ExitedAt time.Time
	// LastExitCode is the exit code of the most recent child, -1 when a
	// signal ended it or it failed to start; meaningful once ExitedAt is set.
	LastExitCode int
	// LastErr says why the most recent child ended ("exit status 3",
	// "signal: killed") or failed to start; nil after an exit with code 0.
	LastErr error
	// NextStartAt is when the next restart is due, in StateBackoff.
	NextStartAt time.Time
}

// Running reports whether a child is running.
func (s Status) Running() bool { return s.State == StateRunning }
