package main

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestConfigCLI: a team edits, imports, publishes, watches, diffs, rolls
// back, tries a gray release and manages access keys with `wharf config`
// against a real serve; -o json gives the API's objects.
func TestConfigCLI(t *testing.T) {
	dir := t.TempDir()
	p := startWharf(t, dir, nil, serveArgs(t)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	p.waitFor(reToken, 5*time.Second)
	admin := cli{t: t, dir: dir, env: []string{"WHARF_SERVER=" + gw}}
	teamTok := createToken(t, admin, "--team", "shop")
	c := admin.with("WHARF_TOKEN=" + teamTok)

	wantLines(t, "set", c.ok("config", "set", "shop", "db.url", "jdbc:one"), "Set db.url in the draft of shop/default/application")
	c.ok("config", "set", "shop", "timeout", "30")
	c.ok("config", "set", "shop", "gone", "x")
	c.ok("config", "delete", "shop", "gone")
	wantLines(t, "get", c.ok("config", "get", "shop"), "KEY", "VALUE", "STATE", "db.url", "jdbc:one", "new, unpublished")
	if out := c.ok("config", "get", "shop", "timeout"); out != "30\n" {
		t.Fatalf("get KEY: %q", out)
	}
	wantLines(t, "diff before publish", c.ok("config", "diff", "shop"), "+", "db.url", "timeout")

	// A watch sees the first release, then the next change, and exits (--once).
	w := startWharf(t, dir, []string{"WHARF_SERVER=" + gw, "WHARF_TOKEN=" + teamTok}, "config", "watch", "shop", "--once")
	wantLines(t, "publish", c.ok("config", "publish", "shop", "--comment", "first"), "Published release 1 (main", "db.url")
	w.waitFor(regexp.MustCompile(`timeout\s+30`), 30*time.Second)
	c.ok("config", "set", "shop", "timeout", "60")
	c.ok("config", "publish", "shop", "--comment", "longer")
	w.waitFor(regexp.MustCompile(`timeout\s+60`), 30*time.Second)
	if code := w.wait(30 * time.Second); code != 0 {
		t.Fatalf("watch --once: exit %d\n%s", code, w.out())
	}
	out := c.ok("config", "history", "shop")
	wantLines(t, "history", out, "ID", "BRANCH", "READ", "AUTHOR", "PUBLISHED", "longer", "first")
	wantAgo(t, "history", out)
	wantLines(t, "diff 1..2", c.ok("config", "diff", "shop", "--from", "1", "--to", "2"), "~", "timeout", "30", "60")
	wantLines(t, "rollback", c.ok("config", "rollback", "shop", "--comment", "too long"), "read release 1")
	if r := call(t, "GET", gw+"/configs/shop/default/application", teamTok, nil); r.status != 200 || r.body["configurations"].(map[string]any)["timeout"] != "30" {
		t.Fatalf("/configs after rollback: %d %s", r.status, r.raw)
	}
	wantLines(t, "draft kept", c.ok("config", "get", "shop"), "timeout", "60", "changed, unpublished")

	// import: a JSON namespace, a bad file names the line.
	good := filepath.Join(dir, "feature.json")
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(good, []byte(`{"beta": true}`), 0o600)
	_ = os.WriteFile(bad, []byte("{\n\"beta\": true,\n}"), 0o600)
	c.fails("line 3", "config", "import", "shop", "-n", "feature.json", "-f", bad)
	wantLines(t, "import", c.ok("config", "import", "shop", "-n", "feature.json", "-f", good), "Imported 1 keys")
	var rel struct {
		ID  int64  `json:"id"`
		Key string `json:"release_key"`
	}
	if err := json.Unmarshal([]byte(c.ok("config", "publish", "shop", "-n", "feature.json", "-o", "json")), &rel); err != nil || rel.ID != 1 || rel.Key == "" {
		t.Fatalf("publish -o json: %+v %v", rel, err)
	}
	if r := call(t, "GET", gw+"/configfiles/raw/shop/default/feature.json", teamTok, nil); r.status != 200 || r.raw != `{"beta": true}` {
		t.Fatalf("raw file: %d %q", r.status, r.raw)
	}

	// Gray: 10 %, a value, publish, ramp, promote; then abandon another.
	wantLines(t, "gray create", c.ok("config", "gray", "create", "shop", "--percent", "10"), "10 % of clients")
	wantLines(t, "gray set", c.ok("config", "gray", "set", "shop", "timeout", "45"), "timeout", "45")
	c.ok("config", "gray", "set", "shop", "db.url", "x")
	c.ok("config", "gray", "delete", "shop", "db.url")
	wantLines(t, "gray publish", c.ok("config", "gray", "publish", "shop", "--comment", "try 45"), "Published gray release", "gray")
	wantLines(t, "gray rule", c.ok("config", "gray", "rule", "shop", "--percent", "30", "--ip", "10.0.0.7"), "30 % of clients")
	if r := call(t, "GET", gw+"/configs/shop/default/application?ip=10.0.0.7", teamTok, nil); r.body["configurations"].(map[string]any)["timeout"] != "45" {
		t.Fatalf("gray IP: %s", r.raw)
	}
	wantLines(t, "gray promote", c.ok("config", "gray", "promote", "shop", "--comment", "45 is good"), "Promoted the gray branch as release")
	if r := call(t, "GET", gw+"/configs/shop/default/application?ip=10.0.0.8", teamTok, nil); r.body["configurations"].(map[string]any)["timeout"] != "45" {
		t.Fatalf("after promote: %s", r.raw)
	}
	c.ok("config", "gray", "create", "shop", "--label", "canary")
	wantLines(t, "gray abandon", c.ok("config", "gray", "abandon", "shop"), "Abandoned the gray branch")

	// Access keys: created (secret once), listed (no secret), disabled,
	// enabled, deleted.
	var k struct{ ID, Secret string }
	if err := json.Unmarshal([]byte(c.ok("config", "accesskey", "create", "shop", "-o", "json")), &k); err != nil || len(k.Secret) != 32 {
		t.Fatalf("accesskey create: %+v %v", k, err)
	}
	out = c.ok("config", "accesskey", "list", "shop")
	wantLines(t, "accesskey list", out, "ID", "ENABLED", k.ID, "true")
	if strings.Contains(out, k.Secret) {
		t.Fatal("accesskey list shows the secret")
	}
	c.ok("config", "accesskey", "disable", "shop", k.ID)
	c.ok("config", "accesskey", "enable", "shop", k.ID)
	c.ok("config", "accesskey", "delete", "shop", k.ID)
	// Another team's token sees no app of that name.
	other := admin.with("WHARF_TOKEN=" + createToken(t, admin, "--team", "bank"))
	other.fails(`app \"shop\" not found`, "config", "get", "shop", "-o", "json")
}

// apolloGet sends a request as an Apollo client with an access key: the
// Authorization and Timestamp headers over path?query.
func apolloGet(t *testing.T, gw, app, secret, pathQuery string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", gw+pathQuery, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(ts + "\n" + pathQuery))
	req.Header.Set("Authorization", "Apollo "+app+":"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	req.Header.Set("Timestamp", ts)
	resp, err := (&http.Client{Timeout: 90 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestApolloClientRequests replays what agollo sends (its URL forms, an
// access key's signature) against a real serve: the meta service, the
// first notification poll with -1, /configs with an empty release key and
// a label, the 304 with the key, a poll held until a publish, and the
// rollback it then reads.
func TestApolloClientRequests(t *testing.T) {
	dir := t.TempDir()
	p := startWharf(t, dir, nil, serveArgs(t)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	p.waitFor(reToken, 5*time.Second)
	admin := cli{t: t, dir: dir, env: []string{"WHARF_SERVER=" + gw}}
	c := admin.with("WHARF_TOKEN=" + createToken(t, admin, "--team", "shop"))
	c.ok("config", "set", "shop", "greeting", "hello")
	c.ok("config", "publish", "shop")
	var k struct{ Secret string }
	if err := json.Unmarshal([]byte(c.ok("config", "accesskey", "create", "shop", "-o", "json")), &k); err != nil {
		t.Fatal(err)
	}

	status, body := apolloGet(t, gw, "shop", k.Secret, "/services/config?appId=shop&ip=10.1.2.3")
	if status != 200 || !strings.Contains(body, `"appName":"APOLLO-CONFIGSERVICE"`) || !strings.Contains(body, `"homepageUrl":"`+gw+`/"`) {
		t.Fatalf("services/config: %d %s", status, body)
	}
	notif := func(id int64) string {
		return "/notifications/v2?appId=shop&cluster=default&notifications=" + url.QueryEscape(fmt.Sprintf(`[{"namespaceName":"application","notificationId":%d}]`, id))
	}
	status, body = apolloGet(t, gw, "shop", k.Secret, notif(-1))
	var ns []struct {
		NamespaceName  string `json:"namespaceName"`
		NotificationID int64  `json:"notificationId"`
		Messages       struct {
			Details map[string]int64 `json:"details"`
		} `json:"messages"`
	}
	if err := json.Unmarshal([]byte(body), &ns); status != 200 || err != nil || len(ns) != 1 || ns[0].NamespaceName != "application" || ns[0].Messages.Details["shop+default+application"] != ns[0].NotificationID {
		t.Fatalf("first poll: %d %s", status, body)
	}
	status, body = apolloGet(t, gw, "shop", k.Secret, "/configs/shop/default/application?releaseKey=&ip=10.1.2.3&label=")
	var cfg struct {
		AppID          string            `json:"appId"`
		Cluster        string            `json:"cluster"`
		NamespaceName  string            `json:"namespaceName"`
		Configurations map[string]string `json:"configurations"`
		ReleaseKey     string            `json:"releaseKey"`
	}
	if err := json.Unmarshal([]byte(body), &cfg); status != 200 || err != nil || cfg.AppID != "shop" || cfg.Cluster != "default" ||
		cfg.NamespaceName != "application" || cfg.Configurations["greeting"] != "hello" || cfg.ReleaseKey == "" {
		t.Fatalf("configs: %d %s", status, body)
	}
	if status, body = apolloGet(t, gw, "shop", k.Secret, "/configs/shop/default/application?releaseKey="+url.QueryEscape(cfg.ReleaseKey)+"&ip=10.1.2.3&label="); status != 304 || body != "" {
		t.Fatalf("configs with the current key: %d %q", status, body)
	}
	// A held poll, answered by a publish.
	type answer struct {
		status int
		body   string
	}
	held := make(chan answer, 1)
	go func() {
		s, b := apolloGet(t, gw, "shop", k.Secret, notif(ns[0].NotificationID))
		held <- answer{s, b}
	}()
	c.ok("config", "set", "shop", "greeting", "hi")
	c.ok("config", "publish", "shop")
	a := <-held
	if a.status != 200 || !strings.Contains(a.body, `"namespaceName":"application"`) {
		t.Fatalf("held poll: %d %s", a.status, a.body)
	}
	if status, body = apolloGet(t, gw, "shop", k.Secret, "/configs/shop/default/application?releaseKey="+url.QueryEscape(cfg.ReleaseKey)+"&ip=10.1.2.3&label="); status != 200 || !strings.Contains(body, `"greeting":"hi"`) {
		t.Fatalf("configs after publish: %d %s", status, body)
	}
	c.ok("config", "rollback", "shop")
	if status, body = apolloGet(t, gw, "shop", k.Secret, "/configs/shop/default/application?releaseKey=&ip=10.1.2.3&label="); status != 200 || !strings.Contains(body, `"greeting":"hello"`) {
		t.Fatalf("configs after rollback: %d %s", status, body)
	}
	// A wrong secret is refused.
	if status, _ = apolloGet(t, gw, "shop", "0123456789abcdef0123456789abcdef", "/configs/shop/default/application"); status != 401 {
		t.Fatalf("wrong secret: %d", status)
	}
}
