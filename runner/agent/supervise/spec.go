package supervise

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"time"
)

// Defaults applied to zero fields of Spec, BackoffOptions and HookSpec.
const (
	// DefaultStopGrace is how long Stop waits after StopSignal before SIGKILL.
	DefaultStopGrace = 10 * time.Second
	// DefaultLogMaxBytes is the size at which a log file is rotated (10 MiB).
	DefaultLogMaxBytes = 10 << 20
	// DefaultLogKeep is the number of rotated log files kept.
	DefaultLogKeep = 3
	// DefaultBackoffMin is the delay before the first restart after a crash.
	DefaultBackoffMin = 100 * time.Millisecond
	// DefaultBackoffMax caps the delay between restarts.
	DefaultBackoffMax = 30 * time.Second
	// DefaultBackoffFactor multiplies the delay after each consecutive crash.
	DefaultBackoffFactor = 2.0
	// DefaultBackoffResetAfter is how long a child must run before the
	// back-off starts over from BackoffOptions.Min.
	DefaultBackoffResetAfter = 10 * time.Second
	// DefaultHookTimeout bounds a hook's run time.
	DefaultHookTimeout = time.Minute
	// DefaultHookTailLines is the number of output lines RunHook returns.
	DefaultHookTailLines = 50
)

const (
	shellPath   = "/bin/sh"
	defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// Spec describes one supervised process. Zero fields take the defaults above.
type Spec struct {
	// Name identifies the process in logs and names its log file
	// <LogDir>/<Name>.log. Letters, digits, '.', '_' and '-' only.
	Name string
	// Command is a shell command line, run as /bin/sh -c Command.
	Command string
	// Dir is the working directory; empty means the agent's.
	Dir string
	// Env holds KEY=VALUE entries added to the base environment (PATH, HOME);
	// they override the base and later entries override earlier ones.
	Env []string
	// StopSignal is sent to the process group by Stop; default SIGTERM.
	StopSignal syscall.Signal
	// StopGrace is how long the group may take to exit after StopSignal
	// before it gets SIGKILL; default DefaultStopGrace.
	StopGrace time.Duration
	// LogDir is the directory of the log files; required, created if missing.
	LogDir string
	// LogMaxBytes is the size limit of the log file; default DefaultLogMaxBytes.
	LogMaxBytes int64
	// LogKeep is the number of rotated log files kept; default DefaultLogKeep.
	LogKeep int
	// Backoff shapes the delays between restarts after crashes.
	Backoff BackoffOptions
	// Credential, when set, is the user and group the process runs as
	// (its supplementary groups are dropped); nil runs it as the caller.
	// The log file stays the caller's: the child only gets a pipe.
	Credential *syscall.Credential
	// OnLine, when set, gets every line the process writes, tagged with
	// its stream (stdout, stderr); stdout and stderr then go through two
	// pipes, so lines of the two may be interleaved in the log file in a
	// slightly different order than written. See LineFunc.
	OnLine LineFunc
}

// BackoffOptions shapes the restart delay: the n-th consecutive crash waits
// Min*Factor^(n-1), capped at Max. A child that ran for ResetAfter or longer
// before it crashed starts the sequence over.
type BackoffOptions struct {
	// Min is the first delay; default DefaultBackoffMin.
	Min time.Duration
	// Max caps the delay; default DefaultBackoffMax.
	Max time.Duration
	// Factor multiplies the delay per consecutive crash, >= 1; default
	// DefaultBackoffFactor.
	Factor float64
	// ResetAfter is the run time after which a child counts as stable;
	// default DefaultBackoffResetAfter.
	ResetAfter time.Duration
}

// Options are the optional dependencies of Start and RunHook.
type Options struct {
	// Logger receives lifecycle events (start, exit, restart, stop); nil
	// discards them.
	Logger *slog.Logger
}

// withDefaults validates s and fills its zero fields.
func (s Spec) withDefaults() (Spec, error) {
	if err := checkName(s.Name); err != nil {
		return s, err
	}
	if strings.TrimSpace(s.Command) == "" {
		return s, errors.New("empty command")
	}
	if s.LogDir == "" {
		return s, errors.New("empty log directory")
	}
	if s.StopSignal == 0 {
		s.StopSignal = syscall.SIGTERM
	}
	switch {
	case s.StopGrace < 0:
		return s, fmt.Errorf("negative stop grace %s", s.StopGrace)
	case s.StopGrace == 0:
		s.StopGrace = DefaultStopGrace
	}
	switch {
	case s.LogMaxBytes < 0:
		return s, fmt.Errorf("negative log size limit %d", s.LogMaxBytes)
	case s.LogMaxBytes == 0:
		s.LogMaxBytes = DefaultLogMaxBytes
	}
	switch {
	case s.LogKeep < 0:
		return s, fmt.Errorf("negative log keep %d", s.LogKeep)
	case s.LogKeep == 0:
		s.LogKeep = DefaultLogKeep
	}
	b, err := s.Backoff.withDefaults()
	if err != nil {
		return s, err
	}
	s.Backoff = b
	return s, nil
}

// checkName accepts names that are safe as a file name.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("invalid name %q", name)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '.' || r == '_' || r == '-'
		if !ok {
			return fmt.Errorf("invalid name %q: want letters, digits, '.', '_' or '-'", name)
		}
	}
	return nil
}

// buildEnv returns the base environment (PATH and HOME of the agent, with
// fallbacks) overridden by extra, one entry per key.
func buildEnv(extra []string) ([]string, error) {
	path := os.Getenv("PATH")
	if path == "" {
		path = defaultPath
	}
	home := os.Getenv("HOME")
	if home == "" {
		home = "/"
	}
	keys := []string{"PATH", "HOME"}
	vals := map[string]string{"PATH": path, "HOME": home}
	for _, kv := range extra {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid environment entry %q: want KEY=VALUE", kv)
		}
		if _, seen := vals[k]; !seen {
			keys = append(keys, k)
		}
		vals[k] = v
	}
	env := make([]string, 0, len(keys))
	for _, k := range keys {
		env = append(env, k+"="+vals[k])
	}
	return env, nil
}
