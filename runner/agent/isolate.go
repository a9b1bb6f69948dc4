package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/wharfhq/wharf/runner/agent/release"
)

// Values of Options.RunAs.
const (
	// RunAsAuto (the default) gives every app a uid and gid of its own
	// (from Options.AppUIDBase) when the agent runs as root, and runs apps
	// as the agent's own user, with a warning, otherwise.
	RunAsAuto = ""
	// RunAsSelf runs apps as the agent's own user: deployed code can then
	// read everything the agent can, Wharf's tokens included.
	RunAsSelf = "self"
)

// Defaults of the per-app uid range.
const (
	DefaultAppUIDBase  = 70000
	DefaultAppUIDCount = 10000
)

// Isolated reports whether an agent with Options.RunAs runAs runs apps as
// users other than its own (and then needs its data dir's parents to be
// crossable by them; see Options.RunAs).
func Isolated(runAs string) bool {
	return runAs != RunAsSelf && (runAs != RunAsAuto || os.Geteuid() == 0)
}

// isoMode is how app processes are isolated.
type isoMode int

const (
	isoSelf   isoMode = iota // as the agent's user
	isoFixed                 // every app as one configured user
	isoPerApp                // every app as its own uid/gid
)

// isolation decides the user app processes run as.
type isolation struct {
	mode     isoMode
	uid, gid uint32 // isoFixed
	base     int    // isoPerApp: the uid range
	count    int
	// fallback is where release roots go when the data dir cannot be
	// reached by apps (FallbackAppsRoot; tests choose their own).
	fallback string
}

// newIsolation reads Options.RunAs and the uid range.
func newIsolation(o Options) (isolation, error) {
	root := os.Geteuid() == 0
	switch o.RunAs {
	case RunAsSelf:
		return isolation{mode: isoSelf}, nil
	case RunAsAuto:
		if !root {
			return isolation{mode: isoSelf}, nil
		}
		base, count := o.AppUIDBase, o.AppUIDCount
		if base <= 0 {
			base = DefaultAppUIDBase
		}
		if count <= 0 {
			count = DefaultAppUIDCount
		}
		if int64(base)+int64(count) > 1<<31 {
			return isolation{}, fmt.Errorf("cannot create agent: app uid range %d+%d passes 2^31", base, count)
		}
		for _, m := range []string{"/proc/self/uid_map", "/proc/self/gid_map"} {
			if !idsMapped(m, base, count) {
				return isolation{}, fmt.Errorf("cannot create agent: the app uid range %d-%d is not mapped in this user namespace (%s); "+
					"set agent.app_uid_base and agent.app_uid_count to a mapped range", base, base+count-1, m)
			}
		}
		return isolation{mode: isoPerApp, base: base, count: count}, nil
	}
	uid, gid, err := lookupRunAs(o.RunAs)
	if err != nil {
		return isolation{}, fmt.Errorf("cannot create agent: run_as %q: %w", o.RunAs, err)
	}
	if uid == 0 {
		return isolation{}, fmt.Errorf("cannot create agent: run_as %q is root; name an unprivileged user", o.RunAs)
	}
	if !root {
		return isolation{}, fmt.Errorf("cannot create agent: run_as %q needs the agent to run as root (it runs as uid %d)", o.RunAs, os.Geteuid())
	}
	return isolation{mode: isoFixed, uid: uid, gid: gid}, nil
}

// idsMapped reports whether ids base..base+count-1 are all mapped in the
// user namespace's map file (lines "inside outside length"). A missing
// file (no user namespaces) maps everything.
func idsMapped(file string, base, count int) bool {
	b, err := os.ReadFile(file)
	if err != nil {
		return true
	}
	lo, hi := int64(base), int64(base)+int64(count)
	for l := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 {
			continue
		}
		in, err1 := strconv.ParseInt(f[0], 10, 64)
		n, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 == nil && err2 == nil && in <= lo && hi <= in+n {
			return true
		}
	}
	return false
}

// lookupRunAs resolves "name", "uid" or "uid:gid".
func lookupRunAs(s string) (uid, gid uint32, err error) {
	if u, g, ok := strings.Cut(s, ":"); ok {
		ui, err1 := strconv.ParseUint(u, 10, 31)
		gi, err2 := strconv.ParseUint(g, 10, 31)
		if err1 != nil || err2 != nil {
			return 0, 0, errors.New("want a user name, a uid or uid:gid")
		}
		return uint32(ui), uint32(gi), nil
	}
	var u *user.User
	if _, perr := strconv.ParseUint(s, 10, 31); perr == nil {
		u, err = user.LookupId(s)
		if err != nil {
			n, _ := strconv.ParseUint(s, 10, 31)
			return uint32(n), uint32(n), nil // a bare uid without a passwd entry: gid = uid
		}
	} else if u, err = user.Lookup(s); err != nil {
		return 0, 0, fmt.Errorf("cannot find user: %w", err)
	}
	ui, err1 := strconv.ParseUint(u.Uid, 10, 31)
	gi, err2 := strconv.ParseUint(u.Gid, 10, 31)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("user %s has a non-numeric uid or gid", s)
	}
	return uint32(ui), uint32(gi), nil
}

// announce logs how deployed code runs, loudly when it runs as the
// agent's own user.
func (iso isolation) announce(log *slog.Logger, runAs string) {
	switch iso.mode {
	case isoSelf:
		why := "the agent does not run as root and agent.run_as is not set"
		if runAs == RunAsSelf {
			why = "agent.run_as is self"
		}
		log.Warn("DEPLOYED CODE RUNS AS WHARF'S OWN USER: apps can read the agent's token, state and every other app's files; "+
			"run the agent as root (apps then get a uid each) or set agent.run_as", "uid", os.Geteuid(), "why", why)
	case isoFixed:
		log.Warn("every app runs as one user (agent.run_as): apps are kept from Wharf's files but not from each other",
			"uid", iso.uid, "gid", iso.gid)
	case isoPerApp:
		log.Info("apps run as a uid and gid of their own", "uid_base", iso.base, "uid_count", iso.count)
	}
}

// prepareDirs locks the agent's data dir down for isolated apps and
// returns the release root to use: the data dir can be crossed but not
// listed, the logs are the agent's alone, the release root can be
// crossed. Every ancestor of the release root must let other users cross
// it, or apps could not reach their releases: when the default root
// (<data dir>/apps) is not reachable — a data dir under a 0700 home, as
// `make run` as root in /root gives — and no apps dir was configured, the
// releases move to FallbackAppsRoot/<data dir hash>, which is.
func (iso isolation) prepareDirs(dataDir, appsDir string) (string, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return "", fmt.Errorf("cannot isolate apps: %w", err)
	}
	root := filepath.Join(abs, appsDirName)
	if appsDir != "" {
		if root, err = filepath.Abs(appsDir); err != nil {
			return "", fmt.Errorf("cannot isolate apps: %w", err)
		}
	}
	if iso.mode == isoSelf {
		return root, nil
	}
	// The data dir itself becomes 0711 below; its ancestors must already
	// be crossable (an explicit apps dir's own parent, likewise).
	reach := filepath.Dir(abs)
	if appsDir != "" {
		reach = filepath.Dir(root)
	}
	if d, mode, ok := uncrossable(reach); !ok {
		if appsDir != "" {
			return "", fmt.Errorf("cannot isolate apps: %s (mode %04o) cannot be crossed by other users, so apps could not reach their releases under %s; "+
				"allow it (chmod o+x %s) or choose another agent.apps_dir", d, mode, root, d)
		}
		sum := sha256.Sum256([]byte(abs))
		fb := iso.fallback
		if fb == "" {
			fb = FallbackAppsRoot
		}
		root = filepath.Join(fb, hex.EncodeToString(sum[:6]))
		if err := mkdirOwned(filepath.Dir(root), 0o711); err != nil {
			return "", err
		}
		if d, mode, ok := uncrossable(filepath.Dir(root)); !ok {
			return "", fmt.Errorf("cannot isolate apps: neither %s nor %s can be crossed by other users (%s is %04o); set agent.apps_dir to a directory they can reach",
				filepath.Join(abs, appsDirName), root, d, mode)
		}
	}
	for _, c := range []struct {
		path string
		mode fs.FileMode
	}{{abs, 0o711}, {root, 0o711}, {filepath.Join(abs, logsDirName), 0o700}} {
		if err := mkdirOwned(c.path, c.mode); err != nil {
			return "", err
		}
	}
	return root, nil
}

// FallbackAppsRoot holds the release roots of isolating agents whose data
// dir other users cannot reach.
const FallbackAppsRoot = "/var/lib/wharf-apps"

// uncrossable walks from dir up to / and returns the first directory other
// users cannot cross, with its mode; ok when there is none.
func uncrossable(dir string) (string, fs.FileMode, bool) {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil && fi.Mode().Perm()&0o001 == 0 {
			return d, fi.Mode().Perm(), false
		}
		if d == filepath.Dir(d) {
			return "", 0, true
		}
	}
}

// mkdirOwned makes path a directory owned by root with mode.
func mkdirOwned(path string, mode fs.FileMode) error {
	if err := os.MkdirAll(path, mode); err != nil {
		return fmt.Errorf("cannot isolate apps: %w", err)
	}
	if err := os.Chown(path, 0, 0); err != nil {
		return fmt.Errorf("cannot isolate apps: %w", err)
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("cannot isolate apps: %w", err)
	}
	return nil
}

// Names under Options.DataDir.
const (
	appsDirName = "apps"
	logsDirName = "logs"
)

// credential returns the user app runs as, allocating a uid for it the
// first time (remembered in the state file); nil means the agent's own.
func (a *Agent) credential(app string) (*syscall.Credential, error) {
	switch a.iso.mode {
	case isoSelf:
		return nil, nil
	case isoFixed:
		return &syscall.Credential{Uid: a.iso.uid, Gid: a.iso.gid, Groups: []uint32{}}, nil
	}
	a.uidMu.Lock() // one allocation at a time; the lookups below may be slow, a.mu is not held
	defer a.uidMu.Unlock()
	a.mu.Lock()
	uid, known := a.st.UIDs[app]
	used := make(map[int]bool, len(a.st.UIDs))
	for _, u := range a.st.UIDs {
		used[u] = true
	}
	a.mu.Unlock()
	if known {
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{}}, nil
	}
	ok := false
	// Releases on disk keep their owner when the state file is lost: the
	// app gets its uid back, and no app gets another's.
	owners := releaseOwners(a.appsRoot)
	if u, mine := owners[app]; mine && !used[u] && u >= a.iso.base && u < a.iso.base+a.iso.count {
		uid, ok = u, true
	}
	for _, u := range owners {
		used[u] = true
	}
	for u := a.iso.base; !ok && u < a.iso.base+a.iso.count; u++ {
		if !used[u] && !uidTaken(u) {
			uid, ok = u, true
		}
	}
	if !ok {
		return nil, fmt.Errorf("cannot give app %s a uid: the range %d-%d is used up", app, a.iso.base, a.iso.base+a.iso.count-1)
	}
	a.mu.Lock()
	if a.st.UIDs == nil {
		a.st.UIDs = map[string]int{}
	}
	a.st.UIDs[app] = uid
	a.mu.Unlock()
	if err := a.save(); err != nil {
		return nil, fmt.Errorf("cannot record app %s's uid: %w", app, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{}}, nil
}

// releaseOwners returns, for every app under root, the owner of one of
// its release directories that is not root's.
func releaseOwners(root string) map[string]int {
	out := map[string]int{}
	apps, _ := os.ReadDir(root)
	for _, app := range apps {
		rels, _ := os.ReadDir(filepath.Join(root, app.Name(), "releases"))
		for _, r := range rels {
			fi, err := os.Lstat(filepath.Join(root, app.Name(), "releases", r.Name()))
			if err != nil || !fi.IsDir() {
				continue
			}
			if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 {
				out[app.Name()] = int(st.Uid)
				break
			}
		}
	}
	return out
}

// uidTaken reports whether a user or group of the system has id u.
func uidTaken(u int) bool {
	s := strconv.Itoa(u)
	if _, err := user.LookupId(s); err == nil {
		return true
	}
	_, err := user.LookupGroupId(s)
	return err == nil
}

// grant gives the app running as cred its release, and nothing more:
// <root>/<app> and <root>/<app>/releases are root:<gid> 0750 (other apps,
// other groups, cannot enter), and a release the app was not given yet
// (its directory still root's) becomes the app's: owner uid, group gid,
// directories 0750, files their owner's bits with the group's r and x
// only, none for others. The walk only ever runs over files the agent
// unpacked and no app could touch, so an app cannot plant a link that
// makes the agent chown a file of Wharf's.
func grant(rel release.Release, cred *syscall.Credential) error {
	if cred == nil {
		return nil
	}
	releases := filepath.Dir(rel.Dir)
	uid, gid := int(cred.Uid), int(cred.Gid)
	for _, d := range []string{filepath.Dir(releases), releases} {
		if err := os.Chown(d, 0, gid); err != nil {
			return fmt.Errorf("cannot grant app its release: %w", err)
		}
		if err := os.Chmod(d, 0o750); err != nil {
			return fmt.Errorf("cannot grant app its release: %w", err)
		}
	}
	fi, err := os.Lstat(rel.Dir)
	if err != nil {
		return fmt.Errorf("cannot grant app its release: %w", err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Uid != 0 || !fi.IsDir() {
		return nil // given before (or not a plain directory: left alone)
	}
	err = filepath.WalkDir(rel.Dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == rel.Dir {
			return nil // last, below: it marks the release as given
		}
		if err := os.Lchown(p, uid, gid); err != nil {
			return err
		}
		if e.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		mode := fi.Mode().Perm()&0o700 | (fi.Mode().Perm()&0o500)>>3 // group: the owner's r and x, never w
		if e.IsDir() {
			mode = 0o750
		}
		return os.Chmod(p, mode)
	})
	if err == nil {
		err = os.Chmod(rel.Dir, 0o750)
	}
	if err == nil {
		err = os.Lchown(rel.Dir, uid, gid)
	}
	if err != nil {
		return fmt.Errorf("cannot grant app its release: %w", err)
	}
	return nil
}
