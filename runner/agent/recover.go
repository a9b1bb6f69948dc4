package agent

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Stopping the children of a previous run.
const (
	// orphanGrace is how long the process groups left by a previous run
	// get after SIGTERM before SIGKILL.
	orphanGrace = 5 * time.Second
	// orphanKillWait bounds the wait for them to vanish after SIGKILL.
	orphanKillWait = 2 * time.Second
	// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times (100 on
	// every Linux architecture Go supports).
	clockTicks = 100
)

// recoverPrevious cleans up after the previous run of the agent on this
// DataDir: it stops the process groups it left, deletes its
// registrations, and schedules the restart of every app's release and the
// resumption of the unfinished tasks (see the package doc).
func (a *Agent) recoverPrevious(ctx context.Context) {
	a.mu.Lock()
	groups := slices.Clone(a.st.Groups)
	regs := slices.Clone(a.st.Registered)
	boot := a.st.BootID
	a.mu.Unlock()

	switch {
	case len(groups) == 0:
	case boot != "" && a.bootID != "" && boot != a.bootID:
		a.log.Info("the previous run was before a reboot; its processes are gone", "groups", len(groups))
	default:
		a.killGroups(groups)
	}
	var wg sync.WaitGroup
	for _, r := range regs {
		wg.Go(func() {
			if err := a.deleteInstance(r.App, r.ID); err != nil {
				a.log.Warn("cannot delete a registration of the previous run; its TTL will expire it", "app", r.App, "id", r.ID, "err", err)
			}
		})
	}
	wg.Wait()

	a.mu.Lock()
	a.st.Groups, a.st.Registered = nil, nil
	var apps []string
	for name, ar := range a.apps {
		if ar.version != "" {
			ar.restore = true
			apps = append(apps, name)
		}
	}
	for _, q := range a.st.Queue {
		if !slices.Contains(apps, q.Task.App) {
			apps = append(apps, q.Task.App)
		}
	}
	queued := len(a.st.Queue)
	a.mu.Unlock()
	a.saveOrLog()
	if len(apps) > 0 {
		a.log.Info("restoring apps and tasks of the previous run", "apps", apps, "queued_tasks", queued)
	}
	for _, app := range apps {
		if ctx.Err() == nil {
			a.kick(app)
		}
	}
}

// killGroups ends the process groups of a previous run that are still
// there: SIGTERM, then SIGKILL after orphanGrace.
func (a *Agent) killGroups(groups []groupRecord) {
	var live []groupRecord
	for _, g := range groups {
		if !ourGroup(g) {
			continue
		}
		if err := syscall.Kill(-g.PGID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			a.log.Warn("cannot signal a process group of the previous run", "pgid", g.PGID, "err", err)
		}
		live = append(live, g)
	}
	if len(live) == 0 {
		return
	}
	a.log.Info("stopping processes left by the previous run", "groups", len(live))
	waitGone := func(d time.Duration) []groupRecord {
		deadline := time.Now().Add(d)
		for {
			left := live[:0:0]
			for _, g := range live {
				if groupAlive(g.PGID) {
					left = append(left, g)
				}
			}
			if len(left) == 0 || time.Now().After(deadline) {
				return left
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	live = waitGone(orphanGrace)
	for _, g := range live {
		_ = syscall.Kill(-g.PGID, syscall.SIGKILL)
	}
	if left := waitGone(orphanKillWait); len(left) > 0 {
		a.log.Error("process groups of the previous run survive SIGKILL", "groups", len(left))
	}
}

// ourGroup reports whether the recorded group is still the one the
// previous run started. When a process with pid == pgid exists it must be
// the group's leader with the recorded start time (else the pid was
// reused); when it does not, a group of that id can only be what is left
// of ours, since a process group id is only ever created by a leader of
// that pid.
func ourGroup(g groupRecord) bool {
	if g.PGID <= 1 || g.PGID == os.Getpid() {
		return false
	}
	if st, ok := readStat(g.PGID); ok {
		return st.pgrp == g.PGID && (g.Start == 0 || st.start == g.Start)
	}
	return groupAlive(g.PGID)
}

// procStat is what the agent reads from /proc/<pid>/stat.
type procStat struct {
	state byte
	pgrp  int
	ticks uint64 // utime + stime
	start uint64 // starttime, clock ticks after boot
}

// readStat reads /proc/<pid>/stat.
func readStat(pid int) (procStat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	return parseStat(b)
}

// parseStat parses "pid (comm) state ppid pgrp ... utime stime ...
// starttime ..."; comm may hold spaces and ')'.
func parseStat(b []byte) (procStat, bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, false
	}
	f := bytes.Fields(b[i+1:]) // f[k-3] is field k (1-based) of proc(5)
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, false
	}
	pgrp, err1 := strconv.Atoi(string(f[2]))
	utime, err2 := strconv.ParseUint(string(f[11]), 10, 64)
	stime, err3 := strconv.ParseUint(string(f[12]), 10, 64)
	start, err4 := strconv.ParseUint(string(f[19]), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		return procStat{}, false
	}
	return procStat{state: f[0][0], pgrp: pgrp, ticks: utime + stime, start: start}, true
}

// procStart returns pid's start time (0 when unknown).
func procStart(pid int) uint64 {
	st, _ := readStat(pid)
	return st.start
}

// procCPUTicks returns pid's CPU time in clock ticks.
func procCPUTicks(pid int) (uint64, bool) {
	st, ok := readStat(pid)
	return st.ticks, ok
}

// procRSS returns pid's resident memory in bytes.
func procRSS(pid int) (uint64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0, false
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseUint(string(f[1]), 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * uint64(os.Getpagesize()), true
}

// memTotal returns the host's memory in bytes (0 when unknown).
func memTotal() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}

// bootID returns the kernel's boot id ("" when unknown).
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// groupAlive reports whether process group pgid has a member that is not
// a zombie. Without a readable /proc, any member counts.
func groupAlive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	d, err := os.Open("/proc")
	if err != nil {
		return true
	}
	names, err := d.Readdirnames(-1)
	_ = d.Close()
	if err != nil {
		return true
	}
	for _, name := range names {
		if name == "" || name[0] < '0' || name[0] > '9' {
			continue
		}
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		st, ok := readStat(pid)
		if ok && st.pgrp == pgid && st.state != 'Z' && st.state != 'X' && st.state != 'x' {
			return true
		}
	}
	return false
}
