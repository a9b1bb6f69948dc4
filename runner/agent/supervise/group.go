package supervise

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"
)

// groupAlive reports whether process group pgid has a member that has not
// exited. Zombies count as exited: an orphaned member stays a zombie until
// PID 1 (or a subreaper) reaps it, which some container inits do late.
// Without a readable /proc any member counts as alive.
func groupAlive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	live, ok := procGroupHasLiveMember(pgid)
	return live || !ok
}

// procGroupHasLiveMember scans /proc/<pid>/stat for a process in group
// pgid whose state is not zombie or dead; ok is false when /proc cannot be
// listed.
func procGroupHasLiveMember(pgid int) (live, ok bool) {
	d, err := os.Open("/proc")
	if err != nil {
		return false, false
	}
	names, err := d.Readdirnames(-1)
	_ = d.Close()
	if err != nil {
		return false, false
	}
	for _, name := range names {
		if name == "" || name[0] < '0' || name[0] > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + name + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		state, pg, ok := parseStat(b)
		if ok && pg == pgid && state != 'Z' && state != 'X' && state != 'x' {
			return true, true
		}
	}
	return false, true
}

// parseStat extracts the state and process group from a /proc/<pid>/stat
// line: "pid (comm) state ppid pgrp ..."; comm may hold spaces and ')'.
func parseStat(b []byte) (state byte, pgrp int, ok bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 3 || len(f[0]) != 1 {
		return 0, 0, false
	}
	pg, err := strconv.Atoi(string(f[2]))
	if err != nil {
		return 0, 0, false
	}
	return f[0][0], pg, true
}
