// Package supervise is the process supervisor of Wharf's deploy agent: it
// runs an app's processes as supervised children, restarts them when they
// crash and stops them cleanly. It also runs one-shot hook commands
// (pre_start, post_start) with a timeout. Unix only (process groups).
//
// # Processes
//
// Start runs Spec.Command through /bin/sh -c in its own process group
// (Setpgid), with a minimal environment: PATH and HOME taken from the agent
// (with fallbacks) plus Spec.Env. Stdin is /dev/null. With Spec.Credential
// the child runs as that uid and gid with no supplementary groups (the
// caller must be root); its log file stays the caller's, it only gets the
// write end of a pipe.
//
// Whenever the child exits while it is not being stopped — whatever its exit
// code — it is a crash: the rest of its process group is ended (StopSignal,
// then SIGKILL after StopGrace) so an old instance never races a new one, and
// the command is started again after an exponential back-off delay
// (BackoffOptions). The back-off starts over once a child has run for
// BackoffOptions.ResetAfter.
//
// Stop (or cancelling the context given to Start) sends Spec.StopSignal to
// the whole process group, waits up to Spec.StopGrace for every live member
// of the group to exit and then sends SIGKILL to the group. Stop is
// idempotent, safe for concurrent use, and returns once the child and its
// group are gone and the log file is closed.
//
// # Logs
//
// Stdout and stderr of a process share one pipe and go to one combined file,
// <LogDir>/<Name>.log, in the order the child wrote them. Before a write
// would take the file past Spec.LogMaxBytes it is rotated:
// <Name>.log → <Name>.log.1 → … → <Name>.log.<LogKeep>; the oldest is
// dropped. Process.LogTail reads the last lines across that boundary.
// With Spec.OnLine, stdout and stderr get a pipe each (both still go to
// the file) and OnLine gets every line tagged with its stream, from the
// goroutine that copies it: it must not block.
//
// # Hooks
//
// RunHook runs a command to completion in its own process group. A timeout
// or a cancelled context kills the whole group with SIGKILL; processes the
// hook leaves behind when it exits are ended too. The hook's output is kept
// in memory for the returned tail and, when HookSpec.LogDir is set, appended
// to <LogDir>/<Name>.log (rotated with the defaults). Give hooks names that
// differ from the processes' names, e.g. "web.pre_start".
package supervise
