package agent

import (
	"os"
	"path/filepath"
)

// pruneConfig stops keeping the config namespaces of app's clusters that
// no instance of the app on this host reads any more, and removes their
// files — all of the app's once it has no instance here (its first
// deploy failed, say): the agent does not poll, nor keep files, for an
// app it does not run. While an instance runs (a redeploy's old one
// included) its cluster's files stay. Nothing is pruned while a task of
// the app is queued or running: it may start an instance that reads them.
func (a *Agent) pruneConfig(app string) {
	a.mu.Lock()
	inUse := map[string]bool{}
	pending := false
	if ar := a.apps[app]; ar != nil {
		pending = ar.busy != nil
		for _, g := range append([]*gen{ar.cur}, ar.retiring...) {
			if g != nil {
				inUse[g.m.ConfigCluster()] = true
			}
		}
	}
	for _, q := range a.st.Queue {
		pending = pending || q.Task.App == app
	}
	a.mu.Unlock()
	if pending {
		return
	}
	a.cfg.mu.Lock()
	defer a.cfg.mu.Unlock()
	if w := a.cfg.watches[app]; w != nil && !inUse[w.cluster] {
		w.client.Close()
		delete(a.cfg.watches, app)
		a.log.Info("config: no instance of the app reads this cluster any more; its namespaces are no longer kept", "app", app, "cluster", w.cluster)
	}
	appDir := filepath.Join(a.opts.DataDir, configDirName, app)
	if len(inUse) == 0 {
		if err := os.RemoveAll(appDir); err != nil {
			a.log.Warn("cannot remove an app's config files", "app", app, "err", err)
		}
		return
	}
	entries, err := os.ReadDir(appDir)
	if err != nil {
		return // nothing kept (the cache is off, or nothing was written yet)
	}
	for _, e := range entries {
		if !inUse[e.Name()] {
			if err := os.RemoveAll(filepath.Join(appDir, e.Name())); err != nil {
				a.log.Warn("cannot remove an app's config files", "app", app, "cluster", e.Name(), "err", err)
			}
		}
	}
}
