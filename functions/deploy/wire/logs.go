package wire

import "time"

// The log-shipping contract between agents and the deploy function: an
// agent posts batches of its app instances' output lines to
// HostPath+<host id>+LogShipPath; `wharf logs` reads them back.
const (
	// LogShipPath follows HostPath and the host id:
	// POST /api/v1/agents/hosts/{id}/logs.
	LogShipPath = "/logs"
	// MaxLogBatch is the most lines one batch may carry.
	MaxLogBatch = 500
	// MaxLogLineBytes bounds one line's text (agents split longer lines).
	MaxLogLineBytes = 4 << 10
	// LogStdout and LogStderr are the streams of a line.
	LogStdout = "stdout"
	LogStderr = "stderr"
)

// LogLine is one line of an app instance's output.
type LogLine struct {
	// Seq is the line's place in the app's stored lines, from 1 (set by
	// the server); the cursor of a query is the Seq of the last line it
	// returned.
	Seq uint64 `json:"seq"`
	// At is when the agent read the line.
	At time.Time `json:"at"`
	// Host is set by the server from the route's host id.
	Host     string `json:"host"`
	Instance string `json:"instance"`
	Process  string `json:"process"`
	Stream   string `json:"stream"`
	Text     string `json:"line"`
}

// LogBatchLine is a line in an agent's batch: the app it belongs to and
// the line.
type LogBatchLine struct {
	App string `json:"app"`
	LogLine
}

// LogBatch is the body of POST /api/v1/agents/hosts/{id}/logs: at most
// MaxLogBatch lines of the host's app instances, oldest first, and per
// app the lines the agent dropped since its last batch (its buffer was
// full or a batch could not be sent).
type LogBatch struct {
	Lines []LogBatchLine    `json:"lines"`
	Lost  map[string]uint64 `json:"lost,omitempty"`
}
