package tlsconf

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
)

// Listener makes every connection accepted from inner a TLS server
// connection over the store's ServerConfig(minVersion). A failed handshake
// (an old client, a scanner, plain HTTP sent to the HTTPS port) is counted
// in wharf_gateway_tls_handshake_errors_total and logged at debug level
// only, and the server reading the connection sees it end (io.EOF) instead
// of an error it would log per connection. A connection closed before its
// first byte (a TCP health check) is not a failure.
func (s *Store) Listener(inner net.Listener, minVersion uint16) net.Listener {
	return &listener{Listener: inner, cfg: s.ServerConfig(minVersion), s: s}
}

type listener struct {
	net.Listener
	cfg *tls.Config
	s   *Store
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &Conn{Conn: tls.Server(c, l.cfg), s: l.s}, nil
}

// Conn is a TLS server connection that handshakes on its first Read. It
// embeds *tls.Conn, so servers still see a TLS connection (Handshake,
// ConnectionState). Read is not safe for concurrent use before the
// handshake ends, like a server's reading goroutine uses it.
type Conn struct {
	*tls.Conn
	s       *Store
	shaken  bool
	started bool
}

// Read completes the handshake first; a failed one reads as io.EOF.
func (c *Conn) Read(b []byte) (int, error) {
	if !c.shaken {
		c.shaken = true
		if err := c.Conn.Handshake(); err != nil {
			if !errors.Is(err, io.EOF) {
				c.s.m.handshakeErrors.Inc()
				c.s.log.Debug("TLS handshake failed", "remote", c.RemoteAddr().String(), "err", err)
			}
			return 0, io.EOF
		}
	}
	n, err := c.Conn.Read(b)
	if n > 0 && !c.started {
		// The first decrypted bytes begin a request: tell the
		// connection below (the gateway's, which a shutdown closes
		// while silent) unless it was closed as silent first.
		c.started = true
		if m, ok := c.Conn.NetConn().(interface{ MarkStarted() bool }); ok && !m.MarkStarted() {
			return 0, net.ErrClosed
		}
	}
	return n, err
}
