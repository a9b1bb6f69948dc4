package experiment

import (
	"hash/fnv"
	"slices"
	"strconv"
)

// Snapshot is an immutable set of layers and experiments with the running
// experiments compiled for decisions. Build one with NewSnapshot and
// replace it whole on every change.
type Snapshot struct {
	// Version identifies the set of experiments and layers (a hash of each
	// one's team, name, creation time and revision): the same definitions
	// give the same version on every node, so a logged decision can be
	// replayed against the set it was made with.
	Version string
	// Layers and Experiments by team, then name or key.
	Layers      map[string]map[string]Layer
	Experiments map[string]map[string]Experiment
	// Running are the running experiments of each team, by key.
	Running map[string][]*Compiled
	// byKey finds a running experiment by team and key.
	byKey map[string]*Compiled
	// All are the running experiments of every team (Index is the
	// position here).
	All []*Compiled
}

// NewSnapshot compiles the running experiments of layers and exps. An
// experiment whose layer is missing is left out of the running ones.
func NewSnapshot(layers []Layer, exps []Experiment) *Snapshot {
	s := &Snapshot{Layers: map[string]map[string]Layer{}, Experiments: map[string]map[string]Experiment{},
		Running: map[string][]*Compiled{}, byKey: map[string]*Compiled{}}
	h := fnv.New64a()
	slices.SortFunc(layers, func(a, b Layer) int { return cmp2(a.Team, b.Team, a.Name, b.Name) })
	slices.SortFunc(exps, func(a, b Experiment) int { return cmp2(a.Team, b.Team, a.Key, b.Key) })
	for _, l := range layers {
		if s.Layers[l.Team] == nil {
			s.Layers[l.Team] = map[string]Layer{}
		}
		s.Layers[l.Team][l.Name] = l
		h.Write([]byte("l\x00" + l.Team + "\x00" + l.Name + "\x00" + strconv.FormatInt(l.CreatedAt.UnixNano(), 10) + "\x00" + strconv.Itoa(l.Revision) + "\x00"))
	}
	for _, e := range exps {
		if s.Experiments[e.Team] == nil {
			s.Experiments[e.Team] = map[string]Experiment{}
		}
		s.Experiments[e.Team][e.Key] = e
		h.Write([]byte("e\x00" + e.Team + "\x00" + e.Key + "\x00" + strconv.FormatInt(e.CreatedAt.UnixNano(), 10) + "\x00" + strconv.Itoa(e.Revision) + "\x00"))
		if e.Status != Running {
			continue
		}
		var lp *Layer
		if e.Layer != "" {
			l, ok := s.Layers[e.Team][e.Layer]
			if !ok {
				continue
			}
			lp = &l
		}
		c := Compile(e, lp)
		c.Index = len(s.All)
		s.All = append(s.All, c)
		s.Running[e.Team] = append(s.Running[e.Team], c)
		s.byKey[e.Team+"\x00"+e.Key] = c
	}
	s.Version = strconv.FormatUint(h.Sum64(), 16)
	return s
}

// Find returns the running experiment key of team, or nil.
func (s *Snapshot) Find(team, key string) *Compiled { return s.byKey[team+"\x00"+key] }

func cmp2(a1, b1, a2, b2 string) int {
	if a1 != b1 {
		if a1 < b1 {
			return -1
		}
		return 1
	}
	switch {
	case a2 < b2:
		return -1
	case a2 > b2:
		return 1
	}
	return 0
}
