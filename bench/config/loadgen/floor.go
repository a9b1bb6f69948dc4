package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
)

// floorAnswer is the answer the floor server writes to a held poll: a
// /notifications/v2 answer of one namespace, as long as Wharf's.
const floorAnswer = `[{"namespaceName":"application","notificationId":1235,"messages":{"details":{"bench+default+application":1235}}}]`

// floorFirst answers a poll with notificationId -1: the current id.
const floorFirst = `[{"namespaceName":"application","notificationId":1234}]`

// runFloor serves the part of the Apollo protocol `loadgen polls` uses,
// with no HTTP server and no config service behind it: a GET of
// /notifications/v2 with notificationId -1 is answered at once, any other
// is held; any POST answers every held poll with one prepared answer (one
// goroutine per connection, one write each); any other request gets an
// empty 200. Run `loadgen polls` against it as against Wharf: its p50/p99
// are what the host (its loopback TCP, its scheduler, the client) costs
// any server, the floor under Wharf's numbers in the same run.
func runFloor(args []string) error {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "loopback address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("cannot listen: %w", err)
	}
	defer ln.Close()
	if err := emit(map[string]string{"listen": ln.Addr().String()}); err != nil {
		return err
	}
	f := &floor{release: make(chan struct{}),
		held:    answer(floorAnswer),
		current: answer(floorFirst),
		ok:      []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")}
	for {
		c, err := ln.Accept()
		if err != nil {
			return fmt.Errorf("cannot accept: %w", err)
		}
		go f.serve(c)
	}
}

// floor is the state of the floor server: the channel that answers the
// polls held now.
type floor struct {
	mu      sync.Mutex
	release chan struct{}
	// the prepared answers: to a held poll, to a poll asking for the
	// current id, to anything else
	held, current, ok []byte
}

// answer is a prepared 200 with a JSON body.
func answer(body string) []byte {
	return fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}

func (f *floor) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 2048)
	first, length := "", 0
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		s := strings.TrimSpace(string(line))
		if s == "" {
			break
		}
		if first == "" {
			first = s
		} else if k, v, ok := strings.Cut(s, ":"); ok && strings.EqualFold(k, "Content-Length") {
			_, _ = fmt.Sscan(strings.TrimSpace(v), &length)
		}
	}
	if length > 0 {
		if _, err := br.Discard(length); err != nil {
			return
		}
	}
	method, target, _ := strings.Cut(first, " ")
	target, _, _ = strings.Cut(target, " ")
	switch {
	case method == "POST":
		f.mu.Lock()
		close(f.release)
		f.release = make(chan struct{})
		f.mu.Unlock()
		_, _ = c.Write(f.ok)
	case method == "GET" && strings.HasPrefix(target, "/notifications/v2") && asksCurrent(target):
		_, _ = c.Write(f.current)
	case method == "GET" && strings.HasPrefix(target, "/notifications/v2"):
		f.mu.Lock()
		release := f.release
		f.mu.Unlock()
		<-release
		_, _ = c.Write(f.held)
		_, _ = br.ReadByte() // until the client closes
	default:
		_, _ = c.Write(f.ok)
	}
}

// asksCurrent reports whether a poll's target asks with notificationId -1.
func asksCurrent(target string) bool {
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return false
	}
	var ns []struct {
		NotificationID int64 `json:"notificationId"`
	}
	return json.Unmarshal([]byte(u.Query().Get("notifications")), &ns) == nil && len(ns) > 0 && ns[0].NotificationID == -1
}
