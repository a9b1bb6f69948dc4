package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"
)

// rawPoller holds long polls over plain TCP connections: one goroutine
// and one small buffer per poll, a request written once as prepared
// bytes, and the clock read when the answer's first bytes arrive. It is
// what a client on its own machine costs the server's host: nothing but
// the socket (net/http's client spends three goroutines, two buffered
// readers and a parse per poll, on the same two CPUs as the server).
type rawPoller struct {
	addr string
	req  []byte
}

// newRawPoller prepares the GET of u (an http:// URL) with a bearer token.
func newRawPoller(u, token string) (*rawPoller, error) {
	pu, err := url.Parse(u)
	if err != nil {
		return nil, fmt.Errorf("cannot parse the poll URL: %w", err)
	}
	if pu.Scheme != "http" {
		return nil, errors.New("the raw client speaks plain http only (use -client http)")
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: wharf-config-loadgen\r\n", pu.RequestURI(), pu.Host)
	if token != "" {
		fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", token)
	}
	b.WriteString("\r\n")
	return &rawPoller{addr: pu.Host, req: b.Bytes()}, nil
}

// poll sends the request on a new connection, calls wrote once it is
// written, and returns the answer's status and the time its first bytes
// arrived. The answer is read to its end (Content-Length bodies only).
func (p *rawPoller) poll(ctx context.Context, wrote func()) (int, time.Time, error) {
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := d.DialContext(dctx, "tcp", p.addr)
	cancel()
	if err != nil {
		return 0, time.Time{}, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	if _, err := conn.Write(p.req); err != nil {
		return 0, time.Time{}, err
	}
	wrote()
	buf := make([]byte, 0, 1024)
	var first time.Time
	for {
		if len(buf) == cap(buf) {
			return 0, first, errors.New("answer larger than 1 KiB")
		}
		n, err := conn.Read(buf[len(buf):cap(buf)])
		if n > 0 && first.IsZero() {
			first = time.Now()
		}
		buf = buf[:len(buf)+n]
		if status, done, perr := parseAnswer(buf); perr != nil {
			return 0, first, perr
		} else if done {
			return status, first, nil
		}
		if err != nil {
			return 0, first, fmt.Errorf("cannot read the answer: %w", err)
		}
	}
}

// parseAnswer reports the status of an HTTP/1.1 answer in b and whether
// b holds all of it (its headers and Content-Length bytes of body).
func parseAnswer(b []byte) (status int, done bool, err error) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return 0, false, nil
	}
	head := b[:end]
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	f := bytes.Fields(line)
	if len(f) < 2 {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	status, err = strconv.Atoi(string(f[1]))
	if err != nil {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	length := 0
	for _, h := range bytes.Split(rest, []byte("\r\n")) {
		k, v, ok := bytes.Cut(h, []byte(":"))
		if ok && bytes.EqualFold(bytes.TrimSpace(k), []byte("Content-Length")) {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(v))); err != nil || length < 0 {
				return 0, false, fmt.Errorf("bad Content-Length %q", v)
			}
		}
	}
	return status, len(b) >= end+4+length, nil
}
