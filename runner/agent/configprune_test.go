package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/testenv"
)

// watchedApps is the apps whose config the agent keeps now.
func watchedApps(a *Agent) map[string]string {
	a.cfg.mu.Lock()
	defer a.cfg.mu.Unlock()
	out := map[string]string{}
	for app, w := range a.cfg.watches {
		out[app] = w.cluster
	}
	return out
}

// TestConfigCacheFollowsTheInstances: a redeploy keeps the app's config
// files (its old instance reads them until it is retired); a redeploy
// to another config cluster removes the old cluster's files once the old
// instance is gone; an app whose deploy left no instance on the host is
// no longer polled and its files are removed.
func TestConfigCacheFollowsTheInstances(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cs := newConfigServer(t, h.cp.token)
	cs.publish("shop", "application", map[string]string{"greeting": "hello"})
	opts := h.options()
	opts.ConfigServers, opts.ConfigToken = []string{cs.srv.URL}, h.cp.token
	a := h.start(opts)
	deployFirst(t, h, h.cp.add("1.0.0", makeBundle(t, bundleSpec{version: "1.0.0"})))
	def := filepath.Join(h.dir, "config", "shop", "default", "application.properties")
	if b, err := os.ReadFile(def); err != nil || string(b) != "greeting=hello\n" {
		t.Fatalf("config file %q, %v", b, err)
	}

	// A redeploy, same cluster: the file stays, the app is still watched.
	h.publish(h.task("d1", 1, wire.TaskDeploy, "1.1.0", h.cp.add("1.1.0", makeBundle(t, bundleSpec{version: "1.1.0"}))))
	if ev := h.waitFinal("d1", 1, 30*time.Second); ev.State != wire.PhaseHealthy {
		t.Fatalf("deploy of 1.1.0: %s: %s", ev.State, ev.Msg)
	}
	if _, err := os.Stat(def); err != nil {
		t.Fatalf("after a redeploy: %v", err)
	}
	if w := watchedApps(a.Agent); w["shop"] != "default" {
		t.Fatalf("watched after a redeploy: %v", w)
	}

	// A redeploy to cluster blue: blue's file is written; default's goes
	// once the old instance is retired (the task's end).
	h.publish(h.task("d2", 1, wire.TaskDeploy, "2.0.0", h.cp.add("2.0.0", makeBundle(t, bundleSpec{version: "2.0.0", extra: "config:\n  cluster: blue\n"}))))
	if ev := h.waitFinal("d2", 1, 30*time.Second); ev.State != wire.PhaseHealthy {
		t.Fatalf("deploy of 2.0.0: %s: %s", ev.State, ev.Msg)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if _, err := os.Stat(filepath.Join(h.dir, "config", "shop", "blue", "application.properties")); err != nil {
			return err
		}
		if _, err := os.Stat(filepath.Dir(def)); !os.IsNotExist(err) {
			return fmt.Errorf("cluster default's files after the move to blue: %v", err)
		}
		if w := watchedApps(a.Agent); w["shop"] != "blue" {
			return fmt.Errorf("watched: %v", w)
		}
		return nil
	})
}

// TestConfigCacheDropsAnAppWithoutInstances: a first deploy that fails
// leaves no instance of the app on the host: the agent stops polling its
// namespaces and removes its files.
func TestConfigCacheDropsAnAppWithoutInstances(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cs := newConfigServer(t, h.cp.token)
	cs.publish("shop", "application", map[string]string{"greeting": "hello"})
	opts := h.options()
	opts.ConfigServers, opts.ConfigToken = []string{cs.srv.URL}, h.cp.token
	a := h.start(opts)
	h.publish(h.task("d1", 1, wire.TaskDeploy, "3.0.0", h.cp.add("3.0.0", makeBundle(t, bundleSpec{version: "3.0.0", env: map[string]string{"CRASH": "1"}}))))
	if ev := h.waitFinal("d1", 1, 30*time.Second); ev.State != wire.PhaseFailed || !strings.Contains(ev.Msg, "exited") {
		t.Fatalf("deploy of a crashing 3.0.0: %s: %s", ev.State, ev.Msg)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if w := watchedApps(a.Agent); len(w) != 0 {
			return fmt.Errorf("watched with no instance: %v", w)
		}
		if _, err := os.Stat(filepath.Join(h.dir, "config", "shop")); !os.IsNotExist(err) {
			return fmt.Errorf("the app's config files with no instance: %v", err)
		}
		return nil
	})
}

// TestConfigCacheFailedRedeployKeepsWatching: 1.0.0 runs on cluster
// default; 2.0.0 on cluster blue crashes and its deploy fails. The agent
// goes back to following the running 1.0.0's namespaces: a publish to
// default reaches its file.
func TestConfigCacheFailedRedeployKeepsWatching(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cs := newConfigServer(t, h.cp.token)
	cs.publish("shop", "application", map[string]string{"greeting": "hello"})
	opts := h.options()
	opts.ConfigServers, opts.ConfigToken = []string{cs.srv.URL}, h.cp.token
	a := h.start(opts)
	deployFirst(t, h, h.cp.add("1.0.0", makeBundle(t, bundleSpec{version: "1.0.0"})))
	h.publish(h.task("d2", 1, wire.TaskDeploy, "2.0.0", h.cp.add("2.0.0", makeBundle(t, bundleSpec{version: "2.0.0",
		extra: "config:\n  cluster: blue\n", env: map[string]string{"CRASH": "1"}}))))
	if ev := h.waitFinal("d2", 1, 30*time.Second); ev.State != wire.PhaseFailed {
		t.Fatalf("deploy of a crashing 2.0.0: %s: %s", ev.State, ev.Msg)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if w := watchedApps(a.Agent); w["shop"] != "default" {
			return fmt.Errorf("watched after the failed redeploy: %v", w)
		}
		return nil
	})
	cs.publish("shop", "application", map[string]string{"greeting": "again"})
	def := filepath.Join(h.dir, "config", "shop", "default", "application.properties")
	testenv.Eventually(t, 20*time.Second, func() error {
		if b, err := os.ReadFile(def); err != nil || string(b) != "greeting=again\n" {
			return fmt.Errorf("config file after a publish: %q, %v", b, err)
		}
		return nil
	})
}
