package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/client/config"
)

// apolloReq is one request as an Apollo client sends it: the path and
// query exactly as its code formats them, signed with the app's access
// key when secret is set.
type apolloReq struct {
	t      *testing.T
	gw     string
	app    string
	secret string
}

// send GETs pathQuery ("/configs/...?..."), signed like the Java client
// (Signature.buildHttpHeaders) and agollo (signature.go) do, and returns
// the status and body.
func (a apolloReq) send(pathQuery string) (int, string) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.gw+pathQuery, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	if a.secret != "" {
		ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
		req.Header.Set("Authorization", "Apollo "+a.app+":"+config.Signature(ts, pathQuery, a.secret))
		req.Header.Set("Timestamp", ts)
	}
	req.Header.Set("User-Agent", "Java/1.8.0_392") // what HttpURLConnection sends
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("GET %s: %v", pathQuery, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// agolloNotifications is agollo's long poll URL: notifications/v2 with
// appId, cluster and the url.QueryEscape'd JSON of the notifications.
func agolloNotifications(app, cluster, ns string, id int64) string {
	js := fmt.Sprintf(`[{"namespaceName":"%s","notificationId":%d}]`, ns, id)
	return fmt.Sprintf("/notifications/v2?appId=%s&cluster=%s&notifications=%s", url.QueryEscape(app), url.QueryEscape(cluster), url.QueryEscape(js))
}

// agolloConfigs is agollo's fetch URL: configs/{appId}/{cluster}/{ns}
// with releaseKey, ip and label.
func agolloConfigs(app, cluster, ns, releaseKey, ip string) string {
	return fmt.Sprintf("/configs/%s/%s/%s?releaseKey=%s&ip=%s&label=%s", url.QueryEscape(app), url.QueryEscape(cluster), url.QueryEscape(ns),
		url.QueryEscape(releaseKey), ip, "")
}

// javaConfigs is the Java client's fetch URL (RemoteConfigRepository):
// its query parameters in a HashMap's order, messages the
// form-parameter-escaped JSON of the notification messages.
func javaConfigs(app, cluster, ns, releaseKey, ip string, msgID int64) string {
	msgs := fmt.Sprintf(`{"details":{"%s+%s+%s":%d}}`, app, cluster, ns, msgID)
	return fmt.Sprintf("/configs/%s/%s/%s?ip=%s&messages=%s&releaseKey=%s", app, cluster, ns, ip, url.QueryEscape(msgs), url.QueryEscape(releaseKey))
}

// TestApolloClientProtocolReplay replays, against a real serve, the
// requests an Apollo client sends — service discovery, the first long
// poll with id -1, the signed fetch, the 304 of a current release key, a
// held poll answered by a publish, the fetch with the notification
// messages, a rollback seen the same way — and checks statuses and bodies
// as those clients read them.
func TestApolloClientProtocolReplay(t *testing.T) {
	dir := t.TempDir()
	p := startWharf(t, dir, nil, serveArgs(t)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	token := p.waitFor(reToken, 5*time.Second)[1]
	api := configAPI{t: t, gw: gw, token: token}
	api.must(201, http.MethodPost, gw+"/api/v1/config/apps/shop/namespaces", map[string]any{"cluster": "default", "name": "application"})
	api.publish("shop", "application", map[string]string{"timeout": "100"}, "first")
	key := api.must(201, http.MethodPost, gw+"/api/v1/config/apps/shop/accesskeys", nil)
	secret, _ := key.body["secret"].(string)
	if secret == "" {
		t.Fatalf("access key: %s", key.raw)
	}
	c := apolloReq{t: t, gw: gw, app: "shop", secret: secret}
	const ip = "10.1.2.3"

	// Service discovery (public).
	status, body := apolloReq{t: t, gw: gw}.send("/services/config?appId=shop&ip=" + ip)
	var nodes []config.ServiceNode
	if status != 200 || json.Unmarshal([]byte(body), &nodes) != nil || len(nodes) == 0 || !strings.HasPrefix(nodes[0].HomepageURL, "http") {
		t.Fatalf("/services/config: %d %s", status, body)
	}

	// The first poll (id -1) is answered at once with the current id.
	status, body = c.send(agolloNotifications("shop", "default", "application", -1))
	var notes []config.Notification
	if status != 200 || json.Unmarshal([]byte(body), &notes) != nil || len(notes) != 1 || notes[0].NamespaceName != "application" || notes[0].NotificationID < 1 {
		t.Fatalf("first poll: %d %s", status, body)
	}
	id := notes[0].NotificationID
	if notes[0].Messages == nil || notes[0].Messages.Details["shop+default+application"] != id {
		t.Fatalf("first poll messages: %s", body)
	}

	// Signed fetch: 200 with Apollo's ApolloConfig, then 304 on its key.
	status, body = c.send(agolloConfigs("shop", "default", "application", "", ip))
	var rel config.Release
	if status != 200 || json.Unmarshal([]byte(body), &rel) != nil || rel.AppID != "shop" || rel.Cluster != "default" ||
		rel.NamespaceName != "application" || rel.Configurations["timeout"] != "100" || rel.ReleaseKey == "" {
		t.Fatalf("fetch: %d %s", status, body)
	}
	if status, body = c.send(agolloConfigs("shop", "default", "application", rel.ReleaseKey, ip)); status != 304 || body != "" {
		t.Fatalf("fetch with the current release key: %d %q, want 304 and no body", status, body)
	}
	// A wrong signature is refused.
	if status, _ := (apolloReq{t: t, gw: gw, app: "shop", secret: "not-the-secret"}).send(agolloConfigs("shop", "default", "application", "", ip)); status != 401 {
		t.Fatalf("wrong signature: %d, want 401", status)
	}

	// A poll with the current id is held; a publish answers it.
	type answer struct {
		status int
		body   string
	}
	held := make(chan answer, 1)
	go func() {
		s, b := c.send(agolloNotifications("shop", "default", "application", id))
		held <- answer{s, b}
	}()
	api.publish("shop", "application", map[string]string{"timeout": "200"}, "second")
	var got answer
	select {
	case got = <-held:
	case <-time.After(20 * time.Second):
		t.Fatal("the held poll was not answered after a publish")
	}
	if got.status != 200 || json.Unmarshal([]byte(got.body), &notes) != nil || len(notes) != 1 || notes[0].NotificationID <= id {
		t.Fatalf("held poll after publish: %d %s", got.status, got.body)
	}
	id2 := notes[0].NotificationID
	// The Java client's fetch with the messages it got and its old key.
	status, body = c.send(javaConfigs("shop", "default", "application", rel.ReleaseKey, ip, id2))
	var rel2 config.Release
	if status != 200 || json.Unmarshal([]byte(body), &rel2) != nil || rel2.Configurations["timeout"] != "200" || rel2.ReleaseKey == rel.ReleaseKey {
		t.Fatalf("fetch after the notification: %d %s", status, body)
	}

	// A rollback reaches clients the same way.
	go func() {
		s, b := c.send(agolloNotifications("shop", "default", "application", id2))
		held <- answer{s, b}
	}()
	api.must(200, http.MethodPost, api.ns("shop", "application")+"/rollback", map[string]any{"comment": "back"})
	select {
	case got = <-held:
	case <-time.After(20 * time.Second):
		t.Fatal("the held poll was not answered after a rollback")
	}
	if got.status != 200 || json.Unmarshal([]byte(got.body), &notes) != nil || len(notes) != 1 || notes[0].NotificationID <= id2 {
		t.Fatalf("held poll after rollback: %d %s", got.status, got.body)
	}
	status, body = c.send(javaConfigs("shop", "default", "application", rel2.ReleaseKey, ip, notes[0].NotificationID))
	var rel3 config.Release
	if status != 200 || json.Unmarshal([]byte(body), &rel3) != nil || rel3.Configurations["timeout"] != "100" {
		t.Fatalf("fetch after the rollback: %d %s", status, body)
	}
}

// TestClientPackageAgainstServe: the client package against a real
// serve (its nodes found through /services/config) — typed values, a
// publish through its long poll with the old and
// new value, signed with an access key — and, with Wharf stopped, a new
// client starts from its backup file.
func TestClientPackageAgainstServe(t *testing.T) {
	dir := t.TempDir()
	p := startWharf(t, dir, nil, serveArgs(t)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	token := p.waitFor(reToken, 5*time.Second)[1]
	api := configAPI{t: t, gw: gw, token: token}
	api.must(201, http.MethodPost, gw+"/api/v1/config/apps/shop/namespaces", map[string]any{"cluster": "default", "name": "application"})
	api.publish("shop", "application", map[string]string{"workers": "4", "debug": "true"}, "first")
	key := api.must(201, http.MethodPost, gw+"/api/v1/config/apps/shop/accesskeys", nil)
	secret, _ := key.body["secret"].(string)

	backup := t.TempDir()
	opts := config.Options{Servers: []string{gw}, Discover: true, AppID: "shop", Secret: secret, ConfigDir: config.NoDir, BackupDir: backup,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	c, err := config.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	changes := make(chan config.ChangeEvent, 4)
	c.OnChange(func(ev config.ChangeEvent) { changes <- ev })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	ns := c.Namespace("application")
	if ns.Int("workers", 0) != 4 || !ns.Bool("debug", false) || ns.Source() != config.SourceServer {
		t.Fatalf("values %v from %q", ns.All(), ns.Source())
	}
	api.publish("shop", "application", map[string]string{"workers": "8"}, "more workers")
	select {
	case ev := <-changes:
		if len(ev.Changes) != 1 || ev.Changes[0] != (config.Change{Key: "workers", Old: "4", New: "8", Type: config.Modified}) {
			t.Fatalf("change event %+v", ev)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no change event after a publish")
	}
	c.Close()

	if code := p.stop(20 * time.Second); code != 0 {
		t.Fatalf("serve exit %d", code)
	}
	c2, err := config.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.Start(ctx); err != nil {
		t.Fatalf("Start with Wharf stopped: %v", err)
	}
	if ns := c2.Namespace("application"); ns.Int("workers", 0) != 8 || ns.Source() != config.SourceBackup {
		t.Fatalf("with Wharf stopped: %v from %q, want workers=8 from the backup", ns.All(), ns.Source())
	}
}
