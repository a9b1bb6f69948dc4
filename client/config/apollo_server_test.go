package config_test

import (
	"crypto/hmac"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/client/config"
)

// apolloServer is a small Apollo-protocol config service for the client
// package's own tests (the package may import nothing of Wharf; the e2e
// tests in cmd/wharf run the client against a real `wharf serve`). It
// keeps one app's cluster, answers /configs with 304s on a current
// release key, holds /notifications/v2 until a publish, and checks the
// access key signature when secret is set.
type apolloServer struct {
	t      *testing.T
	srv    *httptest.Server
	appID  string
	secret string

	mu       sync.Mutex
	releases map[string]config.Release // by namespace
	ids      map[string]int64          // notification id by namespace
	changed  chan struct{}             // closed and replaced on publish
	requests []*http.Request           // every request, in order
	held     int                       // polls waiting now
	failPoll bool                      // answer polls 500
	closed   bool                      // answer held polls 304 at once
}

func newApolloServer(t *testing.T, appID, secret string) *apolloServer {
	s := &apolloServer{t: t, appID: appID, secret: secret,
		releases: map[string]config.Release{}, ids: map[string]int64{}, changed: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.close)
	return s
}

func (s *apolloServer) close() {
	s.mu.Lock()
	s.closed = true
	select {
	case <-s.changed:
	default:
		close(s.changed) // let held polls go
	}
	s.mu.Unlock()
	s.srv.Close()
}

// publish makes values namespace ns's release and answers held polls.
func (s *apolloServer) publish(ns string, values map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids[ns]++
	s.releases[ns] = config.Release{AppID: s.appID, Cluster: config.DefaultCluster, NamespaceName: ns,
		Configurations: values, ReleaseKey: "rk-" + strconv.FormatInt(s.ids[ns], 10)}
	close(s.changed)
	s.changed = make(chan struct{})
}

// log returns the requests so far whose path starts with prefix.
func (s *apolloServer) log(prefix string) []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*http.Request
	for _, r := range s.requests {
		if strings.HasPrefix(r.URL.Path, prefix) {
			out = append(out, r)
		}
	}
	return out
}

func (s *apolloServer) heldPolls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held
}

func (s *apolloServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Clone(r.Context()))
	s.mu.Unlock()
	if s.secret != "" {
		ts := r.Header.Get(config.HeaderTimestamp)
		want := "Apollo " + s.appID + ":" + config.Signature(ts, r.URL.RequestURI(), s.secret)
		if !hmac.Equal([]byte(r.Header.Get(config.HeaderAuthorization)), []byte(want)) {
			http.Error(w, `{"status":401,"message":"Unauthorized"}`, http.StatusUnauthorized)
			return
		}
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/configs/"):
		s.configs(w, r)
	case r.URL.Path == "/notifications/v2":
		s.notifications(w, r)
	case r.URL.Path == "/services/config":
		_ = json.NewEncoder(w).Encode([]config.ServiceNode{{AppName: "APOLLO-CONFIGSERVICE", InstanceID: "n1", HomepageURL: s.srv.URL + "/"}})
	default:
		http.NotFound(w, r)
	}
}

func (s *apolloServer) configs(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/configs/"), "/")
	if len(parts) != 3 || parts[0] != s.appID {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	rel, ok := s.releases[parts[2]]
	s.mu.Unlock()
	switch {
	case !ok:
		http.NotFound(w, r)
	case r.URL.Query().Get("releaseKey") == rel.ReleaseKey:
		w.WriteHeader(http.StatusNotModified)
	default:
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		_ = json.NewEncoder(w).Encode(rel)
	}
}

func (s *apolloServer) notifications(w http.ResponseWriter, r *http.Request) {
	var notes []config.Notification
	if err := json.Unmarshal([]byte(r.URL.Query().Get("notifications")), &notes); err != nil || len(notes) == 0 {
		http.Error(w, `{"status":400,"message":"notifications"}`, http.StatusBadRequest)
		return
	}
	cluster := r.URL.Query().Get("cluster")
	timeout := time.NewTimer(60 * time.Second)
	defer timeout.Stop()
	for {
		s.mu.Lock()
		if s.failPoll {
			s.mu.Unlock()
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		var out []config.Notification
		for _, n := range notes {
			if id, ok := s.ids[n.NamespaceName]; ok && id != n.NotificationID {
				key := s.appID + "+" + cluster + "+" + n.NamespaceName
				out = append(out, config.Notification{NamespaceName: n.NamespaceName, NotificationID: id,
					Messages: &config.Messages{Details: map[string]int64{key: id}}})
			}
		}
		ch := s.changed
		if s.closed {
			s.mu.Unlock()
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if len(out) == 0 {
			s.held++
		}
		s.mu.Unlock()
		if len(out) > 0 {
			w.Header().Set("Content-Type", "application/json;charset=UTF-8")
			_ = json.NewEncoder(w).Encode(out)
			return
		}
		expired := false
		select {
		case <-ch:
		case <-timeout.C:
			expired = true
		case <-r.Context().Done():
			expired = true
		}
		s.mu.Lock()
		s.held--
		s.mu.Unlock()
		if expired {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
}
