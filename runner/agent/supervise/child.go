package supervise

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

const (
	// groupPollInterval is how often terminate checks whether a process
	// group still has live members.
	groupPollInterval = 20 * time.Millisecond
	// killWait bounds the wait for a group to vanish after SIGKILL.
	killWait = 5 * time.Second
	// pumpGrace is how long terminate waits for the output pipe to reach
	// EOF once the group is gone (a process that left the group may still
	// hold it) before it closes the pipe.
	pumpGrace = time.Second
	// pumpBuffer is the read size of the output pump.
	pumpBuffer = 32 << 10
)

// child is one run of a shell command in its own process group. Its
// goroutines serve it: wait reaps the leader, a pump per output pipe
// copies the output. They end once terminate has returned.
type child struct {
	pid     int // also the process group id
	started time.Time
	cmd     *exec.Cmd
	outs    []*os.File // read ends of the output pipes

	exited  chan struct{} // closed once the leader is reaped
	state   *os.ProcessState
	waitErr error
	pumped  chan struct{} // closed once every pump stopped
}

// spawn starts /bin/sh -c command in a new process group whose output is
// copied to out; with cred, as that user and group and no supplementary
// groups. Without onLine stdout and stderr share one pipe, so out gets
// them in the order the child wrote them; with onLine each has its own
// pipe (both copied to out) and onLine gets every line of each, tagged
// "stdout" or "stderr".
func spawn(command, dir string, env []string, cred *syscall.Credential, out io.Writer, onLine LineFunc, log *slog.Logger) (*child, error) {
	streams := []string{"stdout"}
	if onLine != nil {
		streams = append(streams, "stderr")
	}
	var rs, ws []*os.File
	closeAll := func(fs []*os.File) {
		for _, f := range fs {
			_ = f.Close()
		}
	}
	for range streams {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll(rs)
			closeAll(ws)
			return nil, fmt.Errorf("cannot create output pipe: %w", err)
		}
		rs, ws = append(rs, r), append(ws, w)
	}
	cmd := exec.Command(shellPath, "-c", command)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = ws[0] // an *os.File: the child gets it directly, no copying goroutine in exec
	cmd.Stderr = ws[len(ws)-1]
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if cred != nil {
		c := *cred
		c.Groups, c.NoSetGroups = []uint32{}, false // setgroups(0): drop every supplementary group
		cmd.SysProcAttr.Credential = &c
	}
	err := cmd.Start()
	closeAll(ws) // the child holds its own copies
	if err != nil {
		closeAll(rs)
		return nil, fmt.Errorf("cannot start %s: %w", shellPath, err)
	}
	c := &child{
		pid:     cmd.Process.Pid,
		started: time.Now(),
		cmd:     cmd,
		outs:    rs,
		exited:  make(chan struct{}),
		pumped:  make(chan struct{}),
	}
	go c.wait()
	var wg sync.WaitGroup
	for i, r := range rs {
		var lines *lineSplitter
		if onLine != nil {
			lines = &lineSplitter{stream: streams[i], fn: onLine}
		}
		wg.Go(func() { c.pump(r, out, lines, log) })
	}
	go func() {
		wg.Wait()
		close(c.pumped)
	}()
	return c, nil
}

func (c *child) wait() {
	c.waitErr = c.cmd.Wait()
	c.state = c.cmd.ProcessState
	close(c.exited)
}

// pump copies the pipe src to dst (and its lines to lines, if set) until
// every writer closed it or terminate closed the read end. Write errors
// are logged (once per distinct error) and the output dropped, so the
// child never blocks on a full pipe. With lines (stdout and stderr on two
// pipes into one file) only whole lines are written, so a line of one
// stream never splices into an unfinished line of the other; a partial
// line waits for its newline, up to MaxLineBytes, or the stream's end.
func (c *child) pump(src *os.File, dst io.Writer, lines *lineSplitter, log *slog.Logger) {
	buf := make([]byte, pumpBuffer)
	var partial []byte // with lines: the unfinished line not yet written
	var lastErr string
	write := func(b []byte) {
		if len(b) == 0 {
			return
		}
		if _, werr := dst.Write(b); werr != nil && werr.Error() != lastErr {
			lastErr = werr.Error()
			log.Warn("cannot write process output", "pid", c.pid, "err", werr)
		}
	}
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if lines == nil {
				write(buf[:n])
			} else {
				partial = append(partial, buf[:n]...)
				cut := bytes.LastIndexByte(partial, '\n') + 1
				if cut == 0 && len(partial) >= MaxLineBytes {
					cut = len(partial)
				}
				write(partial[:cut])
				partial = append(partial[:0], partial[cut:]...)
				lines.write(buf[:n])
			}
		}
		if err != nil {
			write(partial)
			if lines != nil {
				lines.flush()
			}
			return
		}
	}
}

// exitCode returns the leader's exit code, -1 when a signal ended it. Only
// valid once exited is closed.
func (c *child) exitCode() int {
	if c.state == nil {
		return -1
	}
	return c.state.ExitCode()
}

// signal sends sig to the whole process group; a group that is already gone
// is not an error. If the leader moved itself to another group, it gets sig
// directly.
//
// The group id is the leader's pid. Linux does not hand out a pid while a
// process group of that id has members, so signalling the group after the
// leader was reaped reaches only its former members.
func (c *child) signal(sig syscall.Signal) error {
	err := syscall.Kill(-c.pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		select {
		case <-c.exited:
			return nil
		default:
		}
		err = c.cmd.Process.Signal(sig)
		if errors.Is(err, os.ErrProcessDone) {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("cannot send %s to process group %d: %w", sig, c.pid, err)
	}
	return nil
}

// terminate ends the process group: sig to the group, up to grace for the
// leader and every other live member to exit, then SIGKILL to the group.
// It returns once the leader is reaped, the group is gone (bounded by
// killWait) and the output pump has stopped. Used both to stop a child and,
// after the leader exited by itself, to clear what it left behind.
func (c *child) terminate(sig syscall.Signal, grace time.Duration, log *slog.Logger) {
	if err := c.signal(sig); err != nil {
		log.Warn("cannot signal process group", "pid", c.pid, "err", err)
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	killed := false
	select {
	case <-c.exited:
	case <-timer.C:
		c.kill(log)
		killed = true
		<-c.exited
	}
	ticker := time.NewTicker(groupPollInterval)
	defer ticker.Stop()
	for !killed && groupAlive(c.pid) {
		select {
		case <-ticker.C:
		case <-timer.C:
			c.kill(log)
			killed = true
		}
	}
	// Members that exited are zombies until their new parent reaps them and
	// groupAlive ignores zombies; a final SIGKILL costs nothing and makes
	// sure a member missed by the /proc scan cannot outlive the group.
	_ = c.signal(syscall.SIGKILL)

	pumpTimer := time.NewTimer(pumpGrace)
	defer pumpTimer.Stop()
	select {
	case <-c.pumped:
	case <-pumpTimer.C:
		log.Warn("process output still open after its group ended; closing it", "pid", c.pid)
	}
	for _, r := range c.outs {
		_ = r.Close()
	}
	<-c.pumped
}

// kill sends SIGKILL to the group and waits (up to killWait) until it has
// no live member left.
func (c *child) kill(log *slog.Logger) {
	if err := c.signal(syscall.SIGKILL); err != nil {
		log.Warn("cannot kill process group", "pid", c.pid, "err", err)
		return
	}
	deadline := time.Now().Add(killWait)
	for groupAlive(c.pid) && time.Now().Before(deadline) {
		time.Sleep(groupPollInterval)
	}
}
