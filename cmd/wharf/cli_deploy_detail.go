package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/wharfhq/wharf/functions/deploy/plan"
	"github.com/wharfhq/wharf/functions/deploy/wire"
)

// renderDeployDetail writes what the target table of `wharf deploy
// status` leaves out: the strategy's warnings, and for each failed target
// the end of the log the agent sent with its failure, so that a failed
// deploy shows its cause without -o json.
func renderDeployDetail(w io.Writer, v deployView) {
	for _, warn := range v.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", warn)
	}
	for _, t := range v.Targets {
		if t.State != wire.PhaseFailed && t.Error == "" {
			continue
		}
		e, ok := lastLogTail(t)
		if !ok {
			continue
		}
		fmt.Fprintf(w, "  %s: log tail of task %d (%s):\n", t.Host, e.TaskID, e.State)
		for _, line := range strings.Split(strings.TrimRight(e.LogTail, "\n"), "\n") {
			fmt.Fprintf(w, "    | %s\n", line)
		}
	}
}

// lastLogTail is t's newest event that carries a log tail.
func lastLogTail(t plan.TargetState) (plan.TargetEvent, bool) {
	for i := len(t.Events) - 1; i >= 0; i-- {
		if t.Events[i].LogTail != "" {
			return t.Events[i], true
		}
	}
	return plan.TargetEvent{}, false
}

// printWarnings writes a new deploy's warnings to stderr.
func printWarnings(w io.Writer, v deployView) {
	for _, warn := range v.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
}
