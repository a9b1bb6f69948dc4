package agent

import (
	"context"
	"net/http"
	"net/url"
	"runtime"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/apiclient"
	"github.com/wharfhq/wharf/internal/config"
)

// instanceBody is the body of PUT /api/v1/services/{svc}/instances/{id}
// (gateway/adminapi.InstanceBody; the runner does not import the gateway).
type instanceBody struct {
	Addr    string            `json:"addr"`
	Room    string            `json:"room,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	Version string            `json:"version,omitempty"`
	Load    *instanceLoad     `json:"load,omitempty"`
	TTL     config.Duration   `json:"ttl"`
}

// instanceLoad is registry.Load: fractions of the host's CPU and memory.
type instanceLoad struct {
	CPU      float64 `json:"cpu"`
	Memory   float64 `json:"memory"`
	InFlight int     `json:"in_flight"`
}

func instancePath(app, id string) string {
	return "/api/v1/services/" + url.PathEscape(app) + "/instances/" + url.PathEscape(id)
}

// register registers web instance p of version (a first heartbeat). The
// registration is recorded in the state file before the call, so that a
// crash right after it still has it deleted by the next run. With lenient
// a failure is logged and left to the heartbeats, which keep trying.
func (a *Agent) register(p *proc, version string, lenient bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	a.setRegistered(regRecord{App: p.app, ID: p.id}, true)
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
		}
		if err = a.putInstance(p, version); err == nil {
			p.registered = true
			a.log.Info("instance registered", "app", p.app, "id", p.id, "addr", p.addr, "version", version)
			return nil
		}
	}
	if lenient {
		p.registered = true
		a.log.Warn("cannot register instance; heartbeats will retry", "app", p.app, "id", p.id, "err", err)
		return nil
	}
	return err
}

// putInstance sends p's registration or heartbeat. p.mu held.
func (a *Agent) putInstance(p *proc, version string) error {
	body := instanceBody{
		Addr: p.addr, Room: a.opts.Room, Version: version,
		Labels: map[string]string{"host": a.opts.HostID},
		Load:   a.sampleLoad(p), TTL: config.Duration(a.opts.InstanceTTL),
	}
	ctx, cancel := a.apiCtx()
	defer cancel()
	return a.opts.API.Do(ctx, http.MethodPut, instancePath(p.app, p.id), body, nil)
}

// deregister deletes p's registration (a 404 counts as done) and stops its
// heartbeats; it reports whether p was registered.
func (a *Agent) deregister(p *proc) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	was := p.registered
	p.registered = false
	if !was {
		return false
	}
	if err := a.deleteInstance(p.app, p.id); err != nil {
		a.log.Warn("cannot deregister instance; its TTL will expire it", "app", p.app, "id", p.id, "err", err)
		return true
	}
	a.setRegistered(regRecord{App: p.app, ID: p.id}, false)
	a.log.Info("instance deregistered", "app", p.app, "id", p.id, "addr", p.addr)
	return true
}

// deleteInstance deletes a registration; 404 is success.
func (a *Agent) deleteInstance(app, id string) error {
	ctx, cancel := a.apiCtx()
	defer cancel()
	err := a.opts.API.Do(ctx, http.MethodDelete, instancePath(app, id), nil, nil)
	if apiclient.IsStatus(err, http.StatusNotFound) {
		return nil
	}
	return err
}

// deregisterAll deregisters the web instances of gens in parallel and
// returns how many were registered.
func (a *Agent) deregisterAll(gens []*gen) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for _, g := range gens {
		for _, p := range g.procs {
			if !p.web {
				continue
			}
			wg.Go(func() {
				if a.deregister(p) {
					mu.Lock()
					n++
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	return n
}

// instanceHeartbeats refreshes every registered instance's registration
// (TTL and load) every InstanceHeartbeat, and records the process groups
// of restarted children, until ctx ends.
func (a *Agent) instanceHeartbeats(ctx context.Context) {
	defer a.loops.Done()
	t := time.NewTicker(a.opts.InstanceHeartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.mu.Lock()
		var gens []*gen
		for _, ar := range a.apps {
			if ar.cur != nil {
				gens = append(gens, ar.cur)
			}
		}
		a.mu.Unlock()
		a.refreshGroups(gens)
		var wg sync.WaitGroup
		for _, g := range gens {
			for _, p := range g.procs {
				if p.web {
					wg.Go(func() { a.beat(p, g.version) })
				}
			}
		}
		wg.Wait()
	}
}

// beat sends one heartbeat of p if it is registered and its process
// runs: an instance that crash-loops drops out when its TTL runs out and
// comes back with its next heartbeat once it runs again.
func (a *Agent) beat(p *proc, version string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.registered || !p.p.Status().Running() {
		return
	}
	if err := a.putInstance(p, version); err != nil {
		a.log.Warn("cannot refresh instance registration", "app", p.app, "id", p.id, "err", err)
	}
}

// sampleLoad measures p's process: CPU since the previous sample as a
// fraction of the host's CPUs, and resident memory as a fraction of the
// host's. Nil on the first sample or when /proc cannot tell. p.mu held.
func (a *Agent) sampleLoad(p *proc) *instanceLoad {
	pid := p.p.Status().PID
	if pid <= 0 {
		return nil
	}
	ticks, ok := procCPUTicks(pid)
	if !ok {
		return nil
	}
	now := time.Now()
	prevTicks, prevAt := p.cpuTicks, p.cpuAt
	p.cpuTicks, p.cpuAt = ticks, now
	if prevAt.IsZero() || ticks < prevTicks || now.Sub(prevAt) <= 0 {
		return nil
	}
	cpu := float64(ticks-prevTicks) / clockTicks / now.Sub(prevAt).Seconds() / float64(runtime.NumCPU())
	l := &instanceLoad{CPU: min(max(cpu, 0), 1)}
	if rss, ok := procRSS(pid); ok && a.memTotal > 0 {
		l.Memory = min(float64(rss)/float64(a.memTotal), 1)
	}
	return l
}
