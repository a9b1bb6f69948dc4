package agent

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/client/config"
	"github.com/wharfhq/wharf/internal/testenv"
)

// configServer is a small Apollo-protocol config service behind the
// agent's bearer token, for the agent package's tests (the e2e tests in
// cmd/wharf run the agent against a real `wharf serve`).
type configServer struct {
	srv   *httptest.Server
	token string

	mu       sync.Mutex
	releases map[string]config.Release // by app/namespace
	ids      map[string]int64
	changed  chan struct{}
	closed   bool // held polls answer 304 at once
}

func newConfigServer(t *testing.T, token string) *configServer {
	cs := &configServer{token: token, releases: map[string]config.Release{}, ids: map[string]int64{}, changed: make(chan struct{})}
	cs.srv = httptest.NewServer(http.HandlerFunc(cs.serve))
	t.Cleanup(cs.close)
	return cs
}

func (cs *configServer) close() {
	cs.mu.Lock()
	cs.closed = true
	select {
	case <-cs.changed:
	default:
		close(cs.changed)
	}
	cs.mu.Unlock()
	cs.srv.Close()
}

func (cs *configServer) publish(app, ns string, values map[string]string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	k := app + "/" + ns
	cs.ids[k]++
	cs.releases[k] = config.Release{AppID: app, Cluster: "default", NamespaceName: ns, Configurations: values,
		ReleaseKey: "rk-" + strconv.FormatInt(cs.ids[k], 10)}
	close(cs.changed)
	cs.changed = make(chan struct{})
}

func (cs *configServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+cs.token {
		http.Error(w, `{"error":"bad token"}`, http.StatusUnauthorized)
		return
	}
	q := r.URL.Query()
	if parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/configs/"), "/"); strings.HasPrefix(r.URL.Path, "/configs/") && len(parts) == 3 {
		cs.mu.Lock()
		rel, ok := cs.releases[parts[0]+"/"+parts[2]]
		cs.mu.Unlock()
		switch {
		case !ok:
			http.NotFound(w, r)
		case q.Get("releaseKey") == rel.ReleaseKey:
			w.WriteHeader(http.StatusNotModified)
		default:
			json.NewEncoder(w).Encode(rel)
		}
		return
	}
	if r.URL.Path != "/notifications/v2" {
		http.NotFound(w, r)
		return
	}
	var notes []config.Notification
	if err := json.Unmarshal([]byte(q.Get("notifications")), &notes); err != nil {
		http.Error(w, `{"error":"notifications"}`, http.StatusBadRequest)
		return
	}
	for {
		cs.mu.Lock()
		var out []config.Notification
		for _, n := range notes {
			if id, ok := cs.ids[q.Get("appId")+"/"+n.NamespaceName]; ok && id != n.NotificationID {
				out = append(out, config.Notification{NamespaceName: n.NamespaceName, NotificationID: id})
			}
		}
		ch, closed := cs.changed, cs.closed
		cs.mu.Unlock()
		if closed {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if len(out) > 0 {
			json.NewEncoder(w).Encode(out)
			return
		}
		select {
		case <-ch:
		case <-r.Context().Done():
			return
		}
	}
}

// TestConfigCacheWritesReloadsAndOutlivesTheServer: the agent writes an
// app's namespace to its file before the app starts, rewrites it on a
// publish and runs the config_reload hook; with the config service gone,
// a restarted agent starts the app again, which reads its last values.
func TestConfigCacheWritesReloadsAndOutlivesTheServer(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cs := newConfigServer(t, h.cp.token)
	cs.publish("shop", "application", map[string]string{"greeting": "hello"})
	opts := h.options()
	opts.ConfigServers, opts.ConfigToken = []string{cs.srv.URL}, h.cp.token
	ra := h.start(opts)
	sha := h.cp.add("1.0.0", makeBundle(t, bundleSpec{version: "1.0.0",
		extra: "hooks:\n  config_reload: echo \"$WHARF_CONFIG_NAMESPACE $WHARF_CONFIG_DIR\" >> reloads.txt\nconfig:\n  namespaces: [application]\n"}))
	deployFirst(t, h, sha)

	file := filepath.Join(h.dir, "config", "shop", "default", "application.properties")
	if b, err := os.ReadFile(file); err != nil || string(b) != "greeting=hello\n" {
		t.Fatalf("config file %q, %v", b, err)
	}
	checkConfig := func(want string) {
		t.Helper()
		testenv.Eventually(t, 10*time.Second, func() error {
			live := h.cp.live()
			if len(live) != 2 {
				return fmt.Errorf("%d instances", len(live))
			}
			for _, b := range live {
				if got, err := getBody("http://" + b.Addr + "/config"); err != nil || got != want {
					return fmt.Errorf("instance %s started with config %q (%v), want %q", b.Addr, got, err, want)
				}
			}
			return nil
		})
	}
	checkConfig("greeting=hello\n")

	cs.publish("shop", "application", map[string]string{"greeting": "hi", "extra": "1"})
	reloads := filepath.Join(h.dir, "apps", "shop", "releases", "1.0.0", "reloads.txt")
	testenv.Eventually(t, 10*time.Second, func() error {
		b, err := os.ReadFile(file)
		if err != nil || string(b) != "extra=1\ngreeting=hi\n" {
			return fmt.Errorf("config file %q, %v", b, err)
		}
		r, err := os.ReadFile(reloads)
		if err != nil || string(r) != "application "+filepath.Dir(file)+"\n" {
			return fmt.Errorf("reload hook wrote %q, %v", r, err)
		}
		return nil
	})
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("config file mode %v, %v; want 0640", fi.Mode(), err)
	}

	// The config service goes away; the agent restarts, and so does the app.
	cs.close()
	ra.stop()
	h.start(opts)
	checkConfig("extra=1\ngreeting=hi\n")
	if b, err := os.ReadFile(file); err != nil || string(b) != "extra=1\ngreeting=hi\n" {
		t.Fatalf("config file after the outage %q, %v", b, err)
	}
}

// TestConfigReloadSignal: with config.reload_signal, a publish sends the
// signal to the app's process groups (the sample app notes each SIGHUP;
// its command execs it, or /bin/sh, its group's leader, would die of it).
func TestConfigReloadSignal(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cs := newConfigServer(t, h.cp.token)
	cs.publish("shop", "application", map[string]string{"k": "1"})
	opts := h.options()
	opts.ConfigServers, opts.ConfigToken = []string{cs.srv.URL}, h.cp.token
	h.start(opts)
	sha := h.cp.add("1.0.0", makeBundle(t, bundleSpec{version: "1.0.0", web: "exec ./server", extra: "config:\n  reload_signal: hup\n"}))
	deployFirst(t, h, sha)
	hups := filepath.Join(h.dir, "apps", "shop", "releases", "1.0.0", "sighup.txt")
	if _, err := os.Stat(hups); !os.IsNotExist(err) {
		t.Fatalf("SIGHUP before any change: %v", err)
	}
	cs.publish("shop", "application", map[string]string{"k": "2"})
	testenv.Eventually(t, 10*time.Second, func() error {
		b, err := os.ReadFile(hups)
		if lines := strings.Fields(string(b)); err != nil || len(lines) != 2 || lines[0] == lines[1] {
			return fmt.Errorf("instances noted SIGHUPs %q, %v; want one from each of the 2", b, err)
		}
		return nil
	})
}
