package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/wharfhq/wharf/client/config"
	"github.com/wharfhq/wharf/runner/agent/release"
)

// configDirName is the config file cache under Options.DataDir:
// config/<app>/<cluster>/<namespace file> (config.FileName).
const configDirName = "config"

// configReloadTimeout bounds a config_reload hook.
const configReloadTimeout = time.Minute

// configCache keeps the config namespaces of the apps on the host in
// files, one client (long poll) per app. Guarded by its mu.
type configCache struct {
	mu      sync.Mutex
	watches map[string]*configWatch // by app
}

// configWatch is one app's client and where its files go.
type configWatch struct {
	app, cluster string
	namespaces   []string
	dir          string // <DataDir>/config/<app>/<cluster>
	gid          int    // the group that may read the files; -1: the agent's
	client       *config.Client
}

// configDir returns the directory of app's cluster in the cache, an
// absolute path: apps run in their release directory.
func (a *Agent) configDir(app, cluster string) (string, error) {
	dir, err := filepath.Abs(filepath.Join(a.opts.DataDir, configDirName, app, cluster))
	if err != nil {
		return "", fmt.Errorf("cannot keep app %s's config: %w", app, err)
	}
	return dir, nil
}

// watchConfig makes sure app's namespaces (those of its manifest, default
// [application] of cluster default) are kept in files and returns their
// directory, for WHARF_CONFIG_DIR. The first time, or when the manifest
// names other namespaces, it starts a client (which loads them — from the
// server, else from the files already there — within APITimeout) and
// writes every loaded namespace. "" when the cache is off
// (Options.ConfigServers empty).
func (a *Agent) watchConfig(rel release.Release, cred *syscall.Credential) (string, error) {
	if len(a.opts.ConfigServers) == 0 {
		return "", nil
	}
	m := rel.Manifest
	cluster, namespaces := m.ConfigCluster(), m.ConfigNamespaces()
	dir, err := a.configDir(rel.App, cluster)
	if err != nil {
		return "", err
	}
	a.cfg.mu.Lock()
	defer a.cfg.mu.Unlock()
	if w := a.cfg.watches[rel.App]; w != nil {
		if w.cluster == cluster && slices.Equal(w.namespaces, namespaces) {
			return w.dir, nil
		}
		w.client.Close()
		delete(a.cfg.watches, rel.App)
	}
	gid := -1
	if cred != nil {
		gid = int(cred.Gid)
	}
	if err := makeConfigDirs(dir, gid); err != nil {
		return "", fmt.Errorf("cannot keep app %s's config: %w", rel.App, err)
	}
	w := &configWatch{app: rel.App, cluster: cluster, namespaces: slices.Clone(namespaces), dir: dir, gid: gid}
	c, err := config.New(config.Options{
		Servers: a.opts.ConfigServers, AppID: rel.App, Cluster: cluster, Namespaces: w.namespaces,
		Token: a.opts.ConfigToken, ConfigDir: dir, BackupDir: config.NoDir,
		InstanceID:  a.opts.HostID, // the files serve every instance on the host: gray rules see the host
		PollTimeout: a.opts.ConfigPollTimeout, Logger: a.log,
	})
	if err != nil {
		return "", fmt.Errorf("cannot keep app %s's config: %w", rel.App, err)
	}
	w.client = c
	c.OnChange(func(ev config.ChangeEvent) { a.configChanged(w, ev) })
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.APITimeout)
	err = c.Start(ctx)
	cancel()
	if err != nil {
		a.log.Warn("app starts without some config namespaces; they are written once the server has them", "app", rel.App, "err", err)
	}
	for _, ns := range w.namespaces {
		n := c.Namespace(ns)
		if n.Source() == config.SourceServer {
			if err := a.writeConfig(w, ns, n.All()); err != nil {
				a.log.Error("cannot write config file", "app", rel.App, "namespace", ns, "err", err)
			}
		}
	}
	if a.cfg.watches == nil {
		a.cfg.watches = map[string]*configWatch{}
	}
	a.cfg.watches[rel.App] = w
	return dir, nil
}

// makeConfigDirs creates config/<app>/<cluster> (dir): config crossable
// by all (0711, as the data dir), the app's directories readable by its
// group only (0750, group gid) when apps are isolated.
func makeConfigDirs(dir string, gid int) error {
	appDir := filepath.Dir(dir)
	root := filepath.Dir(appDir)
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{root, 0o711}, {appDir, 0o750}, {dir, 0o750}} {
		if err := os.Mkdir(d.path, d.mode); err != nil && !os.IsExist(err) {
			return fmt.Errorf("cannot create config dir: %w", err)
		}
		if err := os.Chmod(d.path, d.mode); err != nil {
			return fmt.Errorf("cannot create config dir: %w", err)
		}
		if gid >= 0 && d.path != root {
			if err := os.Chown(d.path, -1, gid); err != nil {
				return fmt.Errorf("cannot give the app its config dir: %w", err)
			}
		}
	}
	return nil
}

// configChanged writes a changed namespace and has the app reload it.
// It runs on the app's client goroutine.
func (a *Agent) configChanged(w *configWatch, ev config.ChangeEvent) {
	n := w.client.Namespace(ev.Namespace)
	if err := a.writeConfig(w, ev.Namespace, n.All()); err != nil {
		a.log.Error("cannot write config file", "app", w.app, "namespace", ev.Namespace, "err", err)
		return
	}
	a.log.Info("config changed", "app", w.app, "cluster", w.cluster, "namespace", ev.Namespace,
		"release_key", ev.ReleaseKey, "keys", len(ev.Changes))
	a.reloadConfig(w, ev.Namespace)
}

// writeConfig writes a namespace's file atomically: a temporary file
// (0640, group w.gid) written and fsynced, renamed over the old one, the
// directory fsynced. A reader sees the old file or the new one.
func (a *Agent) writeConfig(w *configWatch, ns string, values map[string]string) error {
	path := filepath.Join(w.dir, config.FileName(ns))
	f, err := os.CreateTemp(w.dir, ".tmp-"+config.FileName(ns)+"-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(config.EncodeFile(ns, values))
	if err == nil {
		err = f.Chmod(0o640)
	}
	if err == nil && w.gid >= 0 {
		err = f.Chown(-1, w.gid)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	d, err := os.Open(w.dir)
	if err != nil {
		return fmt.Errorf("cannot sync %s: %w", w.dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("cannot sync %s: %w", w.dir, err)
	}
	return nil
}

// reloadConfig tells the app's running release that ns changed: its
// manifest's hooks.config_reload runs (as the app, with
// WHARF_CONFIG_NAMESPACE set), and config.reload_signal goes to every
// process group — as stop_signal does, so a command that is not exec'd
// has its /bin/sh die of a signal it does not handle (and supervise
// restarts the process). Nothing runs while no release of the app runs.
func (a *Agent) reloadConfig(w *configWatch, ns string) {
	a.mu.Lock()
	var g *gen
	if ar := a.apps[w.app]; ar != nil {
		g = ar.cur
	}
	a.mu.Unlock()
	if g == nil {
		return
	}
	if cmd := g.m.Hooks.ConfigReload; cmd != "" {
		env := append(appEnv(g.m, g.app, g.version, g.dir), config.EnvConfigDir+"="+w.dir, "WHARF_CONFIG_NAMESPACE="+ns)
		ctx, cancel := context.WithTimeout(context.Background(), configReloadTimeout)
		err := a.hook(ctx, g, "config_reload", cmd, env, filepath.Join(a.opts.DataDir, logsDirName, g.app))
		cancel()
		if err != nil {
			a.log.Warn("config_reload hook failed", "app", g.app, "namespace", ns, "err", err)
		}
	}
	if name := g.m.Config.ReloadSignal; name != "" {
		sig := stopSignal(name)
		for _, p := range g.procs {
			st := p.p.Status()
			if !st.Running() || st.PID <= 0 {
				continue
			}
			if err := syscall.Kill(-st.PID, sig); err != nil {
				a.log.Warn("cannot signal process for a config change", "app", g.app, "process", p.name, "err", err)
			}
		}
	}
}

// stopConfig stops every app's client; the files stay.
func (a *Agent) stopConfig() {
	a.cfg.mu.Lock()
	defer a.cfg.mu.Unlock()
	for app, w := range a.cfg.watches {
		w.client.Close()
		delete(a.cfg.watches, app)
	}
}
