package agent

import (
	"os"
	"path/filepath"
	"slices"

	"github.com/wharfhq/wharf/runner/agent/release"
)

// pruneConfig stops keeping the config namespaces of app's clusters that
// no instance of the app on this host reads any more, and removes their
// files — all of the app's once it has no instance here (its first
// deploy failed, say): the agent does not poll, nor keep files, for an
// app it does not run. While an instance runs (a redeploy's old one
// included) its cluster's files stay, and the app's client follows the
// namespaces of the release that runs: a redeploy that failed had swapped
// it to the new release's (watchConfig runs before the new release is
// healthy), so it is swapped back. Nothing is pruned while a task of the
// app is queued or running: it may start an instance that reads them.
func (a *Agent) pruneConfig(app string) {
	a.mu.Lock()
	inUse := map[string]bool{}
	pending := false
	var cur *gen
	if ar := a.apps[app]; ar != nil {
		pending = ar.busy != nil
		cur = ar.cur
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
	if cur != nil {
		a.rewatchConfig(cur)
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

// rewatchConfig has app's client follow the namespaces of g, the release
// that runs, if it follows others (those of a redeploy that failed).
func (a *Agent) rewatchConfig(g *gen) {
	if len(a.opts.ConfigServers) == 0 || g.m == nil {
		return
	}
	a.cfg.mu.Lock()
	w := a.cfg.watches[g.app]
	same := w != nil && w.cluster == g.m.ConfigCluster() && slices.Equal(w.namespaces, g.m.ConfigNamespaces())
	a.cfg.mu.Unlock()
	if same {
		return
	}
	rel := release.Release{App: g.app, Version: g.version, Dir: g.dir, SHA256: g.sha, Manifest: g.m}
	if _, err := a.watchConfig(rel, g.cred); err != nil {
		a.log.Warn("cannot follow the running release's config namespaces again", "app", g.app, "version", g.version, "err", err)
		return
	}
	a.log.Info("config: following the running release's namespaces again", "app", g.app, "version", g.version, "cluster", g.m.ConfigCluster())
}
