package agent

import (
	"context"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
)

// event builds an event of task t.
func (a *Agent) event(t wire.Task, state wire.Phase, msg string, d time.Duration, tail string) wire.Event {
	return wire.Event{
		DeployID: t.DeployID, TaskID: t.TaskID, Host: a.opts.HostID, State: state,
		At: a.opts.Now().UTC(), Msg: wire.Clip(msg, wire.MaxMsg), Duration: wire.Duration(d.Round(time.Millisecond)),
		LogTail: wire.LogTail(tail),
	}
}

// emit signs ev with the agent's key (wire.SignEvent) and stores it in
// the outbox, which publishes it to wire.TopicEvents. The outbox is
// durable, so an event survives an nsqd outage and an agent restart; a
// failure to store it (a full disk) is logged.
func (a *Agent) emit(ev wire.Event) {
	b, err := wire.SignEvent(ev, a.eventKey)
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
func (a *Agent) report(t wire.Task, state wire.Phase, msg string, d time.Duration, tail string) wire.Event {
	ev := a.event(t, state, msg, d, tail)
	a.emit(ev)
	a.mu.Lock()
	if i := a.findQueued(t.DeployID, t.TaskID); i >= 0 {
		a.st.Queue[i].Last = &ev
	}
	a.mu.Unlock()
	return ev
}
