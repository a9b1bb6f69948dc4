package agent

import (
	"context"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wharfhq/wharf/functions/deploy/plan"
	"github.com/wharfhq/wharf/functions/deploy/wire"
)

// event builds an event of task t.
func (a *Agent) event(t wire.Task, state plan.Phase, msg string, d time.Duration, tail string) wire.Event {
	return wire.Event{
		DeployID: t.DeployID, TaskID: t.TaskID, Host: a.opts.HostID, State: state,
		At: a.opts.Now().UTC(), Msg: clip(msg, plan.MaxMsg), Duration: plan.Duration(d.Round(time.Millisecond)),
		LogTail: clipTail(tail),
	}
}

// emit stores ev in the outbox, which publishes it to wire.TopicEvents.
// The outbox is durable, so an event survives an nsqd outage and an agent
// restart; a failure to store it (a full disk) is logged.
func (a *Agent) emit(ev wire.Event) {
	b, err := json.Marshal(ev)
	if err != nil {
		a.log.Error("cannot encode event", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.APITimeout)
	defer cancel()
	if err := a.outbox.Enqueue(ctx, wire.TopicEvents, b); err != nil {
		a.log.Error("cannot store event", "deploy", ev.DeployID, "task", ev.TaskID, "state", ev.State, "err", err)
		return
	}
	a.log.Info("task event", "deploy", ev.DeployID, "task", ev.TaskID, "state", ev.State, "msg", ev.Msg)
}

// report emits an event of the task in progress and keeps it as the
// task's last event (sent again when the task is repeated).
func (a *Agent) report(t wire.Task, state plan.Phase, msg string, d time.Duration, tail string) wire.Event {
	ev := a.event(t, state, msg, d, tail)
	a.emit(ev)
	a.mu.Lock()
	if i := a.findQueued(t.DeployID, t.TaskID); i >= 0 {
		a.st.Queue[i].Last = &ev
	}
	a.mu.Unlock()
	return ev
}

// clip cuts s to at most n bytes at a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// clipTail keeps the end of a log: at most plan.MaxLogLines lines and
// plan.MaxLogBytes bytes, cut at a rune boundary.
func clipTail(s string) string {
	s = strings.TrimRight(s, "\n")
	if len(s) > plan.MaxLogBytes {
		cut := len(s) - plan.MaxLogBytes
		for cut < len(s) && !utf8.RuneStart(s[cut]) {
			cut++
		}
		s = s[cut:]
	}
	for i, n := len(s)-1, 0; i >= 0; i-- {
		if s[i] == '\n' {
			if n++; n == plan.MaxLogLines {
				return s[i+1:]
			}
		}
	}
	return s
}
