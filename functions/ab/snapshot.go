package ab

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/wharfhq/wharf/functions/ab/experiment"
)

// sdkKey is the value of a client key: the team whose running
// experiments GET /api/features/{clientKey} serves.
type sdkKey struct {
	Team string `json:"team"`
	experiment.Audit
}

// apply builds the snapshot of the mirrored definitions and swaps it in,
// keeping each running experiment's exposure counter.
func (f *Function) apply(entries map[string][]byte) {
	var layers []experiment.Layer
	var exps []experiment.Experiment
	keys := map[string]string{}
	for k, v := range entries {
		switch {
		case strings.HasPrefix(k, layerPrefix):
			var l experiment.Layer
			if err := json.Unmarshal(v, &l); err != nil {
				f.log.Warn("undecodable layer", "key", k, "err", err)
				continue
			}
			layers = append(layers, l)
		case strings.HasPrefix(k, experimentPrefix):
			e, err := decodeExperiment(v)
			if err != nil {
				f.log.Warn("undecodable experiment", "key", k, "err", err)
				continue
			}
			exps = append(exps, e)
		case strings.HasPrefix(k, sdkKeyPrefix):
			var s sdkKey
			if err := json.Unmarshal(v, &s); err != nil {
				f.log.Warn("undecodable client key", "err", err)
				continue
			}
			keys[strings.TrimPrefix(k, sdkKeyPrefix)] = s.Team
		}
	}
	snap := experiment.NewSnapshot(layers, exps)
	st := &state{snap: snap, counters: make([]*counter, len(snap.All)), sdkKeys: keys}
	f.mu.Lock()
	for i, c := range snap.All {
		st.counters[i] = f.counterLocked(c.Exp)
	}
	// Stored under f.mu: Flush drops the counters the current snapshot
	// does not use, so it must never see this snapshot's before it is in.
	f.state.Store(st)
	f.mu.Unlock()
	f.m.running.Store(int64(len(snap.All)))
	f.readyOne.Do(func() { close(f.ready) })
}

// counter counts the exposures of one experiment's bucket version per
// variation since the last flush.
type counter struct {
	// id is counterID of the experiment.
	id     string
	counts []atomic.Int64
	// units are the units exposed (exposed.go).
	units *unitLog
	// idleFlushes counts the flushes in a row that found the counter out
	// of the snapshot and idle (guarded by Function.mu; exposures.go).
	idleFlushes int
	// used is set by a flush that found exposures to add.
	used atomic.Bool
}

// counterID names e's bucket version: team/key/creation/bucket version.
func counterID(e experiment.Experiment) string {
	return e.Team + "/" + e.Key + "/" + strconv.FormatInt(e.CreatedAt.UnixNano(), 10) + "/" + strconv.Itoa(e.BucketVersion)
}

// counterLocked returns e's counter, creating it (f.mu held).
func (f *Function) counterLocked(e experiment.Experiment) *counter {
	id := counterID(e)
	c := f.counters[id]
	if c == nil || len(c.counts) != len(e.Variations) {
		if c != nil {
			// The variations changed: keep the old counts to flush
			// under a name of their own.
			f.counters[id+"/old"] = c
		}
		units := newUnitLog(e, f.limits())
		if c != nil {
			units = c.units
		}
		c = &counter{id: id, counts: make([]atomic.Int64, len(e.Variations)), units: units}
		f.counters[id] = c
	}
	return c
}

// snapshot is the current snapshot.
func (f *Function) snapshot() *state { return f.state.Load() }
