// Package hostmetrics reads a host's cpu, memory, load and disk usage from
// /proc (and statfs) and turns them into Open-Falcon's host metrics
// (cpu.busy, mem.memused.percent, load.1min, df.bytes.used.percent, ...),
// which a deploy agent feeds to the monitor each step. The parsers are
// pure (bytes in, numbers out) and tested on fixture files.
package hostmetrics

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// CPU are the jiffies of /proc/stat's aggregate "cpu" line.
type CPU struct {
	User, Nice, System, Idle, IOWait, IRQ, SoftIRQ, Steal uint64
}

// Total is the sum of every field.
func (c CPU) Total() uint64 {
	return c.User + c.Nice + c.System + c.Idle + c.IOWait + c.IRQ + c.SoftIRQ + c.Steal
}

// ParseStat reads the "cpu" line of /proc/stat.
func ParseStat(data []byte) (CPU, error) {
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		f := bytes.Fields(s.Bytes())
		if len(f) == 0 || string(f[0]) != "cpu" {
			continue
		}
		if len(f) < 5 {
			return CPU{}, fmt.Errorf("cannot read /proc/stat: cpu line has %d fields", len(f))
		}
		var v [8]uint64
		for i := 1; i < len(f) && i <= len(v); i++ {
			n, err := strconv.ParseUint(string(f[i]), 10, 64)
			if err != nil {
				return CPU{}, fmt.Errorf("cannot read /proc/stat: field %d: %w", i, err)
			}
			v[i-1] = n
		}
		return CPU{User: v[0], Nice: v[1], System: v[2], Idle: v[3], IOWait: v[4], IRQ: v[5], SoftIRQ: v[6], Steal: v[7]}, nil
	}
	return CPU{}, errors.New("cannot read /proc/stat: no cpu line")
}

// CPUUsage is the share (percent) of each state between two readings.
type CPUUsage struct {
	Busy, Idle, User, System, IOWait, Steal float64
}

// Usage returns the percentages between prev and c; ok is false when no
// time passed (or the counters went back).
func (c CPU) Usage(prev CPU) (u CPUUsage, ok bool) {
	if c.Total() <= prev.Total() {
		return CPUUsage{}, false
	}
	total := float64(c.Total() - prev.Total())
	pct := func(now, before uint64) float64 {
		if now < before {
			return 0
		}
		return 100 * float64(now-before) / total
	}
	u.Idle = pct(c.Idle, prev.Idle)
	u.User = pct(c.User, prev.User)
	u.System = pct(c.System, prev.System)
	u.IOWait = pct(c.IOWait, prev.IOWait)
	u.Steal = pct(c.Steal, prev.Steal)
	u.Busy = 100 - u.Idle
	return u, true
}

// Memory is /proc/meminfo's view, in bytes.
type Memory struct {
	Total, Free, Available, SwapTotal, SwapFree uint64
}

// ParseMeminfo reads /proc/meminfo. MemAvailable missing (kernels before
// 3.14) is estimated as free + buffers + cached, as Falcon does.
func ParseMeminfo(data []byte) (Memory, error) {
	kb := map[string]uint64{}
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		name, rest, ok := bytes.Cut(s.Bytes(), []byte(":"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("cannot read /proc/meminfo: %s: %w", name, err)
		}
		kb[string(name)] = n
	}
	total, ok := kb["MemTotal"]
	if !ok || total == 0 {
		return Memory{}, errors.New("cannot read /proc/meminfo: no MemTotal")
	}
	avail, ok := kb["MemAvailable"]
	if !ok {
		avail = kb["MemFree"] + kb["Buffers"] + kb["Cached"]
	}
	return Memory{Total: total << 10, Free: kb["MemFree"] << 10, Available: min(avail, total) << 10,
		SwapTotal: kb["SwapTotal"] << 10, SwapFree: kb["SwapFree"] << 10}, nil
}

// Load is /proc/loadavg's averages.
type Load struct{ One, Five, Fifteen float64 }

// ParseLoadavg reads /proc/loadavg.
func ParseLoadavg(data []byte) (Load, error) {
	f := bytes.Fields(data)
	if len(f) < 3 {
		return Load{}, fmt.Errorf("cannot read /proc/loadavg: %d fields", len(f))
	}
	var v [3]float64
	for i := range v {
		n, err := strconv.ParseFloat(string(f[i]), 64)
		if err != nil {
			return Load{}, fmt.Errorf("cannot read /proc/loadavg: %w", err)
		}
		v[i] = n
	}
	return Load{v[0], v[1], v[2]}, nil
}
