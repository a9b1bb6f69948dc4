package main

import (
	"errors"
	"strings"

	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/tlsconf"
	"github.com/wharfhq/wharf/internal/config"
)

// gatewayTLS turns gateway.tls into the gateway's TLS options (nil: no HTTPS).
func gatewayTLS(o config.TLSOptions) (*gateway.TLSOptions, error) {
	if o.Listen == "" {
		return nil, nil
	}
	v, err := tlsconf.ParseVersion(o.MinVersion)
	if err != nil {
		return nil, err
	}
	pairs := make([]tlsconf.Pair, len(o.CertFiles))
	for i := range o.CertFiles {
		pairs[i] = tlsconf.Pair{CertFile: o.CertFiles[i], KeyFile: o.KeyFiles[i]}
	}
	return &gateway.TLSOptions{
		Listen: o.Listen, Pairs: pairs, MinVersion: v, CheckEvery: o.CheckEvery,
		RedirectHTTP: o.RedirectHTTP, RedirectPort: o.RedirectPort,
	}, nil
}

// checkLocalAgent: serve's local agent calls its own gateway over plain
// HTTP on loopback, which needs a plain listener that is not redirecting.
func checkLocalAgent(o config.Options) error {
	if !o.Agent.Local {
		return nil
	}
	if o.Gateway.Listen == "" || o.Gateway.TLS.RedirectHTTP {
		return errors.New("agent.local needs a plain gateway.listen without gateway.tls.redirect_http (the local agent calls the gateway over plain HTTP): " +
			"set --agent-local=false and run `wharf agent` against the HTTPS URL, or keep the plain listener")
	}
	return nil
}

// gatewayURLs are the URLs a person can paste for the gateway's listeners:
// plain (empty without one) and https (empty without TLS).
func gatewayURLs(gw *gateway.Gateway, o config.GatewayOptions) (plain, https string) {
	if o.Listen != "" {
		plain = displayURL(gw.Addr())
	}
	if a := gw.TLSAddr(); a != nil {
		https = "https://" + strings.TrimPrefix(displayURL(a), "http://")
	}
	return plain, https
}
