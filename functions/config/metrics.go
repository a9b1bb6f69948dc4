package config

import (
	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/internal/promexp"
)

// counters are the function's metrics.
type counters struct {
	publishes, grayPublishes, rollbacks *metrics.Counter
	pollsChanged, pollsTimedOut         *metrics.Counter
	notModified                         *metrics.Counter
	staleReads, staleCreds              *metrics.Counter
	// followedTokens, followedKeys count the changes the token and access
	// key watches applied to what is kept for an outage (follow.go).
	followedTokens, followedKeys *metrics.Counter
}

// newCounters registers the metrics in set (nil: a private set nobody
// reads) with a gauge of the polls h holds.
func newCounters(set *metrics.Set, h *hub) *counters {
	if set == nil {
		set = metrics.NewSet()
	}
	c := func(name string) *metrics.Counter { return set.GetOrCreateCounter("wharf_config_" + name) }
	set.GetOrCreateGauge("wharf_config_polls_held", func() float64 { return float64(h.heldPolls()) })
	return &counters{
		publishes:      c(`releases_total{branch="main"}`),
		grayPublishes:  c(`releases_total{branch="gray"}`),
		rollbacks:      c("rollbacks_total"),
		pollsChanged:   c(`polls_total{result="changed"}`),
		pollsTimedOut:  c(`polls_total{result="timeout"}`),
		notModified:    c("configs_not_modified_total"),
		staleReads:     c(`stale_total{what="read"}`),
		staleCreds:     c(`stale_total{what="credential"}`),
		followedTokens: c(`outage_cache_updates_total{what="token"}`),
		followedKeys:   c(`outage_cache_updates_total{what="accesskeys"}`),
	}
}

// MetricFamilies describes the config function's metric families.
func MetricFamilies() []promexp.Family {
	return []promexp.Family{
		{Name: "wharf_config_releases_total", Type: promexp.Counter, Labels: []string{"branch"}, Help: "Releases published (promotes count as main)."},
		{Name: "wharf_config_rollbacks_total", Type: promexp.Counter, Help: "Rollbacks of a namespace's main release."},
		{Name: "wharf_config_polls_total", Type: promexp.Counter, Labels: []string{"result"}, Help: "Notification polls answered: changed (200) or timeout (304)."},
		{Name: "wharf_config_configs_not_modified_total", Type: promexp.Counter, Help: "Config reads answered 304 (the client's release key is current)."},
		{Name: "wharf_config_stale_total", Type: promexp.Counter, Labels: []string{"what"}, Help: "Client reads answered from what was last read while the store could not be reached: a store read, or a token's read check (stale.go)."},
		{Name: "wharf_config_outage_cache_updates_total", Type: promexp.Counter, Labels: []string{"what"}, Help: "Changes of token records and access keys seen on the store's watch and applied to what is kept for an outage (stale.go)."},
		{Name: "wharf_config_polls_held", Type: promexp.Gauge, Help: "Notification polls this node holds now."},
	}
}
