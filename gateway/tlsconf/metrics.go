package tlsconf

import "github.com/VictoriaMetrics/metrics"

type storeMetrics struct {
	reloads         *metrics.Counter
	errors          *metrics.Counter
	handshakeErrors *metrics.Counter
}

func newStoreMetrics(set *metrics.Set, s *Store) storeMetrics {
	set.NewGauge(`wharf_gateway_tls_certificate_expiry_seconds`, func() float64 { return s.expiresIn().Seconds() })
	return storeMetrics{
		reloads:         set.NewCounter(`wharf_gateway_tls_reloads_total`),
		errors:          set.NewCounter(`wharf_gateway_tls_reload_errors_total`),
		handshakeErrors: set.NewCounter(`wharf_gateway_tls_handshake_errors_total`),
	}
}
