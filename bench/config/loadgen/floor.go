package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// floorAnswer is the answer the floor server writes: a /notifications/v2
// answer of one namespace, about as long as Wharf's.
const floorAnswer = `[{"namespaceName":"application","notificationId":1234,"messages":{"details":{"bench+default+application":1234}}}]`

// runFloor measures what answering n held polls costs this machine with
// no HTTP server at all: a loopback listener in this process reads each
// request, holds it, and on a signal writes a prepared answer to every
// connection from one goroutine per connection (the kernel's loopback
// TCP, the scheduler and the raw client: what any server on this host
// pays). Its p50/p99 are the floor under `loadgen polls -client raw`.
func runFloor(args []string) error {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	n := fs.Int("n", 10000, "long polls to hold")
	settle := fs.Duration("settle", 2*time.Second, "wait after every poll was held")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("cannot listen on loopback: %w", err)
	}
	defer ln.Close()
	release := make(chan struct{})
	var held atomic.Int64
	resp := fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(floorAnswer), floorAnswer)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReaderSize(c, 1024)
				for {
					line, err := br.ReadSlice('\n')
					if err != nil {
						return
					}
					if len(bytes.TrimSpace(line)) == 0 {
						break
					}
				}
				held.Add(1)
				<-release
				_, _ = c.Write(resp)
				_, _ = br.ReadByte() // until the client closes
			}()
		}
	}()
	p, err := newRawPoller("http://"+ln.Addr().String()+"/notifications/v2", "")
	if err != nil {
		return err
	}
	answers := make([]time.Time, *n)
	var failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i := range *n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, first, err := p.poll(ctx, func() {})
			if err == nil && status != http.StatusOK {
				err = fmt.Errorf("answered %d", status)
			}
			if err != nil {
				firstErr.CompareAndSwap(nil, err.Error())
				failed.Add(1)
				return
			}
			answers[i] = first
		}()
	}
	for held.Load()+failed.Load() < int64(*n) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(*settle)
	t0 := time.Now()
	close(release)
	wg.Wait()
	var lat []time.Duration
	for _, at := range answers {
		if !at.IsZero() {
			lat = append(lat, max(at.Sub(t0), 0))
		}
	}
	res := pollsResult{Client: "raw", Polls: *n, Held: int(held.Load()), Answered: len(lat), Failed: int(failed.Load()),
		P50MS: ms(percentile(lat, 50)), P99MS: ms(percentile(lat, 99)), MaxMS: ms(percentile(lat, 100))}
	if s, ok := firstErr.Load().(string); ok {
		res.FirstError = s
	}
	return emit(res)
}
