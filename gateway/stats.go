package gateway

// Stats are a node's live counters, served by GET /api/v1/gateway/stats.
type Stats struct {
	ConfigVersion int64                 `json:"config_version"`
	InFlight      uint64                `json:"in_flight"`
	Requests      map[string]uint64     `json:"requests"`
	Denied        uint64                `json:"denied"`
	Banned        uint64                `json:"banned"`
	ActiveBans    int                   `json:"active_bans"`
	Reloads       uint64                `json:"config_reloads"`
	ReloadErrors  uint64                `json:"config_reload_errors"`
	Routes        map[string]RouteStats `json:"routes"`
	// LimitMode is "local" or what the cluster limiter reports.
	LimitMode string `json:"limit_mode"`
}

// Stats returns the node's live counters.
func (g *Gateway) Stats() any {
	s := Stats{
		ConfigVersion: g.applied.Load(),
		InFlight:      g.m.inflight.Get(),
		Requests:      map[string]uint64{},
		Denied:        g.m.denied.Get(),
		Banned:        g.m.banned.Get(),
		Reloads:       g.m.reloads.Get(),
		ReloadErrors:  g.m.reloadErrors.Get(),
		Routes:        map[string]RouteStats{},
		LimitMode:     "local",
	}
	if g.opts.LimitMode != nil {
		s.LimitMode = g.opts.LimitMode()
	}
	for i, c := range []string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"} {
		if n := g.m.byClass[i].Get(); n > 0 {
			s.Requests[c] = n
		}
	}
	if g.bans != nil {
		s.ActiveBans = g.bans.Len()
	}
	for _, r := range g.snap.Load().routes {
		s.Routes[r.name] = r.m.stats()
	}
	return s
}
