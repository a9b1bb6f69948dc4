package supervise

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/wharfhq/wharf/internal/logging"
)

// hookLeftoverGrace is how long processes a hook left running get after
// SIGTERM before SIGKILL.
const hookLeftoverGrace = 2 * time.Second

// HookSpec describes a one-shot command such as a pre_start or post_start
// hook. Zero fields take the defaults.
type HookSpec struct {
	// Name identifies the hook in logs and names its log file; the rules
	// of Spec.Name apply.
	Name string
	// Command is a shell command line, run as /bin/sh -c Command.
	Command string
	// Dir is the working directory; empty means the agent's.
	Dir string
	// Env holds KEY=VALUE entries added to the base environment (PATH, HOME).
	Env []string
	// Timeout bounds the run; when it passes the hook's whole process group
	// is killed. Default DefaultHookTimeout.
	Timeout time.Duration
	// LogDir, when set, receives the output in <LogDir>/<Name>.log,
	// appended and rotated with DefaultLogMaxBytes and DefaultLogKeep.
	LogDir string
	// TailLines is how many of the last output lines RunHook returns;
	// default DefaultHookTailLines.
	TailLines int
	// Credential, when set, is the user and group the hook runs as (its
	// supplementary groups are dropped); nil runs it as the caller.
	Credential *syscall.Credential
}

// RunHook runs spec.Command in its own process group and waits for it.
// exitCode is the hook's exit code, or -1 when it did not exit by itself
// (killed, timed out, not started). tail holds the last output lines of
// this run (stdout and stderr combined). err is nil only when the hook
// exited with code 0; a timeout error wraps context.DeadlineExceeded.
// Processes the hook left running are ended before RunHook returns.
func RunHook(ctx context.Context, spec HookSpec, opts Options) (exitCode int, tail []string, err error) {
	if err := checkName(spec.Name); err != nil {
		return -1, nil, fmt.Errorf("cannot run hook: %w", err)
	}
	if strings.TrimSpace(spec.Command) == "" {
		return -1, nil, fmt.Errorf("cannot run hook %q: empty command", spec.Name)
	}
	switch {
	case spec.Timeout < 0:
		return -1, nil, fmt.Errorf("cannot run hook %q: negative timeout %s", spec.Name, spec.Timeout)
	case spec.Timeout == 0:
		spec.Timeout = DefaultHookTimeout
	}
	if spec.TailLines <= 0 {
		spec.TailLines = DefaultHookTailLines
	}
	env, err := buildEnv(spec.Env)
	if err != nil {
		return -1, nil, fmt.Errorf("cannot run hook %q: %w", spec.Name, err)
	}
	log := logging.Component(opts.Logger, "supervise").With("hook", spec.Name)

	tb := newTailBuffer(hookTailBytes)
	var out io.Writer = tb
	if spec.LogDir != "" {
		if err := os.MkdirAll(spec.LogDir, 0o750); err != nil {
			return -1, nil, fmt.Errorf("cannot create log directory: %w", err)
		}
		rw, err := NewRotatingWriter(filepath.Join(spec.LogDir, spec.Name+".log"), DefaultLogMaxBytes, DefaultLogKeep)
		if err != nil {
			return -1, nil, fmt.Errorf("cannot run hook %q: %w", spec.Name, err)
		}
		defer func() {
			if cerr := rw.Close(); cerr != nil {
				log.Warn("cannot close hook log", "err", cerr)
			}
		}()
		out = io.MultiWriter(tb, rw) // the tail first: it never fails
	}

	ctx, cancel := context.WithTimeoutCause(ctx, spec.Timeout,
		fmt.Errorf("timed out after %s: %w", spec.Timeout, context.DeadlineExceeded))
	defer cancel()
	c, err := spawn(spec.Command, spec.Dir, env, spec.Credential, out, nil, log)
	if err != nil {
		return -1, nil, fmt.Errorf("cannot run hook %q: %w", spec.Name, err)
	}
	log.Info("hook started", "pid", c.pid)
	select {
	case <-c.exited:
		c.terminate(syscall.SIGTERM, hookLeftoverGrace, log)
	case <-ctx.Done():
		c.terminate(syscall.SIGKILL, 0, log)
		cause := context.Cause(ctx)
		log.Warn("hook killed", "pid", c.pid, "err", cause)
		return -1, tb.lines(spec.TailLines), fmt.Errorf("cannot run hook %q: %w", spec.Name, cause)
	}
	code := c.exitCode()
	tail = tb.lines(spec.TailLines)
	log.Info("hook exited", "pid", c.pid, "code", code, "err", c.waitErr)
	if c.waitErr != nil {
		return code, tail, fmt.Errorf("cannot run hook %q: %w", spec.Name, c.waitErr)
	}
	return code, tail, nil
}
