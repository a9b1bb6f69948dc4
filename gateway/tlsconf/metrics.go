package tlsconf

import (
	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/internal/promexp"
)

type storeMetrics struct {
	reloads         *metrics.Counter
	errors          *metrics.Counter
	handshakeErrors *metrics.Counter
}

func newStoreMetrics(set *metrics.Set, s *Store) storeMetrics {
	set.NewGauge(`wharf_gateway_tls_certificate_expiry_timestamp_seconds`, func() float64 { return s.firstExpiry() })
	return storeMetrics{
		reloads:         set.NewCounter(`wharf_gateway_tls_reloads_total`),
		errors:          set.NewCounter(`wharf_gateway_tls_reload_errors_total`),
		handshakeErrors: set.NewCounter(`wharf_gateway_tls_handshake_errors_total`),
	}
}

// MetricFamilies describes the TLS store's metric families.
func MetricFamilies() []promexp.Family {
	return []promexp.Family{
		{Name: "wharf_gateway_tls_certificate_expiry_timestamp_seconds", Type: promexp.Gauge,
			Help: "Unix time at which the first of the loaded certificates expires, in seconds (alert on it minus time())."},
		{Name: "wharf_gateway_tls_reloads_total", Type: promexp.Counter,
			Help: "Certificate sets loaded (at start and on every change)."},
		{Name: "wharf_gateway_tls_reload_errors_total", Type: promexp.Counter,
			Help: "Certificate reloads that failed; the previous certificates kept serving."},
		{Name: "wharf_gateway_tls_handshake_errors_total", Type: promexp.Counter,
			Help: "TLS handshakes that failed."},
	}
}
