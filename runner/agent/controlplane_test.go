package agent

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
)

// regOp is a registry call the control plane saw.
type regOp struct {
	Method  string
	ID      string
	Version string
	// New marks a PUT that created the registration (not a heartbeat).
	New bool
	// Serving says whether the instance answered GET / when its DELETE
	// arrived.
	Serving bool
}

// controlPlane is the test's Wharf server: host heartbeats, artifact
// downloads and the instance registry, behind a bearer token.
type controlPlane struct {
	srv   *httptest.Server
	token string

	mu        sync.Mutex
	bundles   map[string][]byte
	downloads map[string]int
	hosts     []wire.Host
	regs      map[string]instanceBody
	ops       []regOp
	key       ed25519.PrivateKey // the task-signing key it serves
	keyGets   int
	keysDown  bool // GET task-keys answers 503
	batches   []wire.LogBatch
	refused   []wire.LogBatch // those answered 503 while logsDown
	logsDown  bool            // POST .../logs answers 503
}

func newControlPlane(t testing.TB) *controlPlane {
	cp := &controlPlane{
		token: "agent-token-" + t.Name(), bundles: map[string][]byte{},
		downloads: map[string]int{}, regs: map[string]instanceBody{},
	}
	cp.rotate()
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+wire.TaskKeysPath, func(w http.ResponseWriter, r *http.Request) {
		cp.mu.Lock()
		pub := cp.key.Public().(ed25519.PublicKey)
		cp.keyGets++
		down := cp.keysDown
		cp.mu.Unlock()
		if down {
			http.Error(w, `{"error":"store unavailable"}`, http.StatusServiceUnavailable)
			return
		}
		json.NewEncoder(w).Encode(wire.TaskKeys{Keys: []wire.TaskKey{{KeyID: wire.KeyID(pub), PublicKey: pub}}})
	})
	mux.HandleFunc("PUT "+wire.HostPath+"{id}", func(w http.ResponseWriter, r *http.Request) {
		var h wire.Host
		if err := json.NewDecoder(r.Body).Decode(&h); err != nil || h.ID != r.PathValue("id") {
			http.Error(w, `{"error":"bad host"}`, http.StatusBadRequest)
			return
		}
		cp.mu.Lock()
		cp.hosts = append(cp.hosts, h)
		cp.mu.Unlock()
		io.WriteString(w, `{}`)
	})
	mux.HandleFunc("POST "+wire.HostPath+"{id}"+wire.LogShipPath, func(w http.ResponseWriter, r *http.Request) {
		var b wire.LogBatch
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil || len(b.Lines) > wire.MaxLogBatch {
			http.Error(w, `{"error":"bad batch"}`, http.StatusBadRequest)
			return
		}
		cp.mu.Lock()
		defer cp.mu.Unlock()
		if cp.logsDown {
			cp.refused = append(cp.refused, b)
			http.Error(w, `{"error":"store unavailable"}`, http.StatusServiceUnavailable)
			return
		}
		cp.batches = append(cp.batches, b)
		io.WriteString(w, `{}`)
	})
	mux.HandleFunc("GET /api/v1/apps/{app}/artifacts/{version}/download", func(w http.ResponseWriter, r *http.Request) {
		cp.mu.Lock()
		b, ok := cp.bundles[r.PathValue("app")+"/"+r.PathValue("version")]
		cp.downloads[r.PathValue("version")]++
		cp.mu.Unlock()
		if !ok {
			http.Error(w, `{"error":"no such artifact"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(b)
	})
	mux.HandleFunc("PUT /api/v1/services/{svc}/instances/{id}", func(w http.ResponseWriter, r *http.Request) {
		var body instanceBody
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Addr == "" || !strings.Contains(r.PathValue("id"), "."+r.PathValue("svc")+".") {
			http.Error(w, `{"error":"bad instance"}`, http.StatusBadRequest)
			return
		}
		id := r.PathValue("id")
		cp.mu.Lock()
		_, had := cp.regs[id]
		cp.regs[id] = body
		cp.ops = append(cp.ops, regOp{Method: "PUT", ID: id, Version: body.Version, New: !had})
		cp.mu.Unlock()
		io.WriteString(w, `{"instance":{}}`)
	})
	mux.HandleFunc("DELETE /api/v1/services/{svc}/instances/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		cp.mu.Lock()
		body, ok := cp.regs[id]
		delete(cp.regs, id)
		cp.mu.Unlock()
		if !ok {
			http.Error(w, `{"error":"no such instance"}`, http.StatusNotFound)
			return
		}
		_, err := getBody("http://" + body.Addr + "/")
		cp.mu.Lock()
		cp.ops = append(cp.ops, regOp{Method: "DELETE", ID: id, Version: body.Version, Serving: err == nil})
		cp.mu.Unlock()
		io.WriteString(w, `{}`)
	})
	cp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+cp.token {
			http.Error(w, `{"error":"bad token"}`, http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(cp.srv.Close)
	return cp
}

// add serves a bundle of shop for version and returns its sha256.
func (cp *controlPlane) add(version string, b []byte) string { return cp.addApp("shop", version, b) }

// addApp serves a bundle of app for version and returns its sha256.
func (cp *controlPlane) addApp(app, version string, b []byte) string {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	cp.bundles[app+"/"+version] = b
	return sum(b)
}

func (cp *controlPlane) downloadsOf(version string) int {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return cp.downloads[version]
}

// live returns the live registrations: id → body.
func (cp *controlPlane) live() map[string]instanceBody {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	out := make(map[string]instanceBody, len(cp.regs))
	for k, v := range cp.regs {
		out[k] = v
	}
	return out
}

func (cp *controlPlane) opsCopy() []regOp {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return slices.Clone(cp.ops)
}

func (cp *controlPlane) lastHost() (wire.Host, bool) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if len(cp.hosts) == 0 {
		return wire.Host{}, false
	}
	return cp.hosts[len(cp.hosts)-1], true
}

// liveVersions returns the versions of the live registrations, sorted.
func (cp *controlPlane) liveVersions() []string {
	var vs []string
	for _, b := range cp.live() {
		vs = append(vs, b.Version)
	}
	slices.Sort(vs)
	return vs
}

var plainClient = &http.Client{Timeout: 2 * time.Second}

func getBody(url string) (string, error) {
	resp, err := plainClient.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("%s: %s", url, resp.Status)
	}
	return string(b), err
}

// rotate makes a new task-signing key and serves it instead.
func (cp *controlPlane) rotate() {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	cp.mu.Lock()
	cp.key = priv
	cp.mu.Unlock()
}

// signed wraps a task as the deploy function does, unsigned yet: a new
// nonce, issued now, expiring after wire.TaskTTL.
func signed(task wire.Task) wire.SignedTask {
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	now := time.Now().UTC()
	return wire.SignedTask{Task: task, Nonce: hex.EncodeToString(nonce), IssuedAt: now, ExpiresAt: now.Add(wire.TaskTTL)}
}

// sign returns the message of a task signed with the current key.
func (cp *controlPlane) sign(task wire.Task) []byte {
	s := signed(task)
	cp.mu.Lock()
	s.Sign(cp.key)
	cp.mu.Unlock()
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return b
}

// setKeysDown makes GET task-keys fail (or work again).
func (cp *controlPlane) setKeysDown(down bool) {
	cp.mu.Lock()
	cp.keysDown = down
	cp.mu.Unlock()
}

func (cp *controlPlane) keyFetches() int {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return cp.keyGets
}

func (cp *controlPlane) setLogsDown(down bool) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	cp.logsDown = down
}

// shipped returns the log lines shipped so far and the lost counts.
func (cp *controlPlane) shipped() ([]wire.LogBatchLine, map[string]uint64) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	var lines []wire.LogBatchLine
	lost := map[string]uint64{}
	for _, b := range cp.batches {
		lines = append(lines, b.Lines...)
		for app, n := range b.Lost {
			lost[app] += n
		}
	}
	return lines, lost
}

// refusedLines counts the lines of refused batches whose text contains s.
func (cp *controlPlane) refusedLines(s string) int {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	n := 0
	for _, b := range cp.refused {
		for _, l := range b.Lines {
			if strings.Contains(l.Text, s) {
				n++
			}
		}
	}
	return n
}
