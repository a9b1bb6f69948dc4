package seriesstore

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/wharfhq/wharf/monitoring/rrd"
)

// Info describes a stored series.
type Info struct {
	Key  string
	Step int64
	// CounterType is the type the series' first point was pushed with
	// (COUNTER and DERIVE are both stored as DERIVE).
	CounterType rrd.DSType
	LastUp      int64 // only from Info and Fetch; List leaves it 0
}

// Values is the answer to a fetch: Values[i] is the consolidated value of
// the interval ending at Start+(i+1)*Step; NaN is unknown (JSON null).
type Values struct {
	Info
	CF         rrd.CF
	Start, End int64
	Step       int64
	Values     []float64
}

// Fetch answers q for the series of key exactly as `rrdtool fetch` would
// (archive chosen from CF, window and wished step; see rrd.PlanFetch).
func (s *Store) Fetch(key string, q rrd.Query) (Values, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed != nil {
		return Values{}, s.closed
	}
	if err := s.lookup(key); err != nil {
		return Values{}, err
	}
	plan, err := rrd.PlanFetch(&s.h.Spec, &s.h.State, q)
	if err != nil {
		return Values{}, err
	}
	out := Values{Info: s.info(), CF: q.CF, Start: plan.Start, End: plan.End, Step: plan.Step}
	out.Values, err = plan.Read(&s.io, make([]float64, 0, plan.Rows()))
	if err != nil {
		return Values{}, fmt.Errorf("cannot fetch series %q: %w", key, err)
	}
	return out, nil
}

// Info describes the series of key.
func (s *Store) Info(key string) (Info, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed != nil {
		return Info{}, s.closed
	}
	if err := s.lookup(key); err != nil {
		return Info{}, err
	}
	return s.info(), nil
}

// lookup (under the lock) loads the series of key into s.h and s.io,
// after applying its waiting points. When they need a sync of the log
// first, the sync runs without the lock (Sync), so that Appends go on
// meanwhile; the lock is released and taken again then.
func (s *Store) lookup(key string) error {
	e := s.index[key]
	for try := 0; e != nil && try < 2 && s.needsSync(e); try++ {
		s.mu.Unlock()
		err := s.Sync()
		s.mu.Lock()
		if err != nil {
			return err // Sync failed the store
		}
		if s.closed != nil {
			return s.closed
		}
		e = s.index[key] // (quarantined meanwhile, and maybe anew)
	}
	if e == nil {
		return ErrNotFound
	}
	if e.pend != nil { // new, not in its slot before the log is synced
		if err := s.syncLog(); err != nil {
			return s.fail(err)
		}
	}
	if err := s.applySeries(e); err != nil {
		return s.fail(err)
	}
	if err := s.load(e); err != nil {
		return fmt.Errorf("cannot read series %q: %w", key, err)
	}
	return nil
}

// info describes the series loaded into s.h.
func (s *Store) info() Info {
	return Info{Key: s.h.Key, Step: s.h.Spec.Step, CounterType: s.h.CounterType, LastUp: s.h.State.LastUp}
}

// ListOptions selects and pages series keys.
type ListOptions struct {
	// Prefix keeps keys that start with it.
	Prefix string
	// After starts the page after this key (the last key of the previous page).
	After string
	// Limit is the page size; 0 means 1000, at most 10000.
	Limit int
}

// List returns series in key order and whether more follow.
func (s *Store) List(o ListOptions) ([]Info, bool, error) {
	limit := o.Limit
	if limit <= 0 {
		limit = 1000
	}
	limit = min(limit, 10000)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed != nil {
		return nil, false, s.closed
	}
	if s.sorted == nil {
		s.sorted = make([]string, 0, len(s.index))
		for k := range s.index {
			s.sorted = append(s.sorted, k)
		}
		slices.Sort(s.sorted)
	}
	from := o.Prefix
	if o.After >= from {
		from = o.After
	}
	i := sort.SearchStrings(s.sorted, from)
	if i < len(s.sorted) && s.sorted[i] == o.After {
		i++
	}
	var out []Info
	for ; i < len(s.sorted); i++ {
		k := s.sorted[i]
		if !strings.HasPrefix(k, o.Prefix) {
			break
		}
		if len(out) == limit {
			return out, true, nil
		}
		e := s.index[k]
		out = append(out, Info{Key: k, Step: e.step, CounterType: e.typ})
	}
	return out, false, nil
}

// Len is the number of series.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.index)
}
