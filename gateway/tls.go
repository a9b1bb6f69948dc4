package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway/tlsconf"
)

// TLSOptions adds an HTTPS listener to the gateway.
type TLSOptions struct {
	// Listen is the HTTPS address, e.g. ":8443".
	Listen string
	// Pairs are the certificates, chosen by SNI; the first is the default.
	Pairs []tlsconf.Pair
	// MinVersion is tls.VersionTLS12 (default) or tls.VersionTLS13.
	MinVersion uint16
	// CheckEvery is how often the certificate files are checked for
	// changes (default 10s).
	CheckEvery time.Duration
	// RedirectHTTP makes the plain listener answer 308 to the same URL over
	// https, except for ACME HTTP-01 challenges (/.well-known/acme-challenge/),
	// which are routed as usual.
	RedirectHTTP bool
	// RedirectPort is the port in redirect Locations (0: the HTTPS
	// listener's; 443 is left out).
	RedirectPort int
}

// tlsEdge is the gateway's HTTPS side.
type tlsEdge struct {
	ln    net.Listener // the TLS listener
	certs *tlsconf.Store
	// redirect serves the plain listener when RedirectHTTP is on.
	redirect *fasthttp.Server
	port     int // in redirect Locations; 0: none
}

// setupTLS loads the certificates and binds the HTTPS listener.
func (g *Gateway) setupTLS() error {
	o := g.opts.TLS
	if o == nil {
		return nil
	}
	certs, err := tlsconf.New(tlsconf.Options{Pairs: o.Pairs, CheckEvery: o.CheckEvery, Logger: g.log, Metrics: g.opts.Metrics})
	if err != nil {
		return err
	}
	raw, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("cannot listen on gateway TLS address %s: %w", o.Listen, err)
	}
	// Lingering close works below TLS, on the TCP connection.
	ll := newLingerListener(raw, false, g.opts.LingerTimeout, g.opts.LingerBytes)
	ll.writeSlack = int64(g.opts.WriteTimeout / writeSlackDivisor)
	t := &tlsEdge{ln: certs.Listener(ll, o.MinVersion), certs: certs, port: o.RedirectPort}
	if t.port == 0 {
		t.port = raw.Addr().(*net.TCPAddr).Port
	}
	if t.port == 443 {
		t.port = 0
	}
	if o.RedirectHTTP && g.ln != nil {
		s := g.srv
		t.redirect = &fasthttp.Server{
			Handler: g.handleRedirect, ErrorHandler: s.ErrorHandler, Name: s.Name,
			ReadTimeout: s.ReadTimeout, WriteTimeout: s.WriteTimeout, IdleTimeout: s.IdleTimeout,
			StreamRequestBody: s.StreamRequestBody, MaxRequestBodySize: s.MaxRequestBodySize,
			CloseOnShutdown: s.CloseOnShutdown, DisablePreParseMultipartForm: s.DisablePreParseMultipartForm,
			NoDefaultServerHeader: s.NoDefaultServerHeader, NoDefaultContentType: s.NoDefaultContentType,
			Logger: s.Logger, SecureErrorLogMessage: s.SecureErrorLogMessage, MaxIdleWorkerDuration: s.MaxIdleWorkerDuration,
		}
	}
	g.tls = t
	return nil
}

// TLSAddr is the bound HTTPS address, nil without TLS.
func (g *Gateway) TLSAddr() net.Addr {
	if g.tls == nil {
		return nil
	}
	return g.tls.ln.Addr()
}

// serveListeners runs every listener until Shutdown; the first listener that fails
// otherwise ends Run with its error.
func (g *Gateway) serveListeners() error {
	type job struct {
		srv *fasthttp.Server
		ln  net.Listener
	}
	var jobs []job
	if g.ln != nil {
		srv := g.srv
		if g.tls != nil && g.tls.redirect != nil {
			srv = g.tls.redirect
		}
		jobs = append(jobs, job{srv, g.ln})
	}
	if g.tls != nil {
		jobs = append(jobs, job{g.srv, g.tls.ln})
	}
	errs := make(chan error, len(jobs))
	for _, j := range jobs {
		go func() { errs <- j.srv.Serve(j.ln) }()
	}
	var first error
	for range jobs {
		err := <-errs
		if err == nil || g.closed.Load() || first != nil {
			continue
		}
		// One listener failed: stop the others too, so Run returns with
		// every listener closed and no Serve left running.
		first = fmt.Errorf("gateway stopped: %w", err)
		for _, j := range jobs {
			_ = j.ln.Close()
		}
	}
	return first
}

// shutdownTLS stops the redirect server and closes the TLS listener (the
// main server has already stopped serving it).
func (g *Gateway) shutdownTLS(ctx context.Context) error {
	if g.tls == nil {
		return nil
	}
	var err error
	if g.tls.redirect != nil {
		err = g.tls.redirect.ShutdownWithContext(ctx)
	}
	if cerr := g.tls.ln.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) && err == nil {
		err = cerr
	}
	return err
}
