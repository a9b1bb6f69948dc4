package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/promexp/promcheck"
	"github.com/wharfhq/wharf/internal/testenv"
)

var (
	reRoleHTTP     = regexp.MustCompile(`http: (http://\S+),`)
	reRoleInternal = regexp.MustCompile(`internal: (http://\S+)`)
)

func roleArgs(role string, extra ...string) []string {
	args := []string{role, "--internal-listen", "127.0.0.1:0", "--shutdown-grace", "5s"}
	if role == "gateway" || role == "functions" {
		args = append(args, "--gateway-listen", "127.0.0.1:0")
	}
	return append(args, extra...)
}

func ready(t *testing.T, internal string) (int, string) {
	r := call(t, "GET", internal+"/ready", "", nil)
	return r.status, r.raw
}

func TestGatewayRoleReadinessFollowsRedis(t *testing.T) {
	redis := testenv.StartRedis(t)
	nsqd := testenv.StartNSQD(t)
	dir := t.TempDir()
	p := startWharf(t, dir, nil, roleArgs("gateway", "--redis-addr", redis.Addr, "--nsq-nsqd", nsqd.Addr)...)
	gw := p.waitFor(reRoleHTTP, 30*time.Second)[1]
	internal := p.waitFor(reRoleInternal, 5*time.Second)[1]
	tok := p.waitFor(reToken, 5*time.Second)[1]
	if r := call(t, "GET", gw+"/api/v1/whoami", tok, nil); r.status != 200 {
		t.Fatalf("whoami over redis: %d %s", r.status, r.raw)
	}
	if code, body := ready(t, internal); code != 200 {
		t.Fatalf("ready: %d %s", code, body)
	}

	// Redis goes down: the role keeps running and reports not ready, naming redis.
	redis.Stop()
	testenv.Eventually(t, 10*time.Second, func() error {
		code, body := ready(t, internal)
		if code != 503 || !strings.Contains(body, `"name":"redis","ok":false`) {
			return fmt.Errorf("ready %d %s", code, body)
		}
		return nil
	})
	// The token cache stops trusting what it holds within a second of the
	// store's going away (auth.CacheOptions.Freshness); then 503.
	testenv.Eventually(t, 2*time.Second, func() error {
		if r := call(t, "GET", gw+"/api/v1/whoami", tok, nil); r.status != 503 {
			return fmt.Errorf("whoami with redis down: want 503, got %d %s", r.status, r.raw)
		}
		return nil
	})
	select {
	case <-p.done:
		t.Fatalf("gateway exited when redis went down: %s", p.errOut())
	default:
	}

	// Redis comes back with its data: ready again, token still valid.
	redis.Start()
	testenv.Eventually(t, 15*time.Second, func() error {
		if code, body := ready(t, internal); code != 200 {
			return fmt.Errorf("ready %d %s", code, body)
		}
		return nil
	})
	testenv.Eventually(t, 5*time.Second, func() error {
		if r := call(t, "GET", gw+"/api/v1/whoami", tok, nil); r.status != 200 {
			return fmt.Errorf("whoami %d %s", r.status, r.raw)
		}
		return nil
	})

	// A second gateway node on the same Redis does not create another admin token.
	p2 := startWharf(t, t.TempDir(), nil, roleArgs("gateway", "--redis-addr", redis.Addr, "--nsq-nsqd", nsqd.Addr)...)
	gw2 := p2.waitFor(reRoleHTTP, 30*time.Second)[1]
	if reToken.MatchString(p2.out()) {
		t.Fatal("second node printed a new admin token")
	}
	if r := call(t, "GET", gw2+"/api/v1/whoami", tok, nil); r.status != 200 {
		t.Fatalf("token on second node: %d %s", r.status, r.raw)
	}
	if code := p2.stop(10 * time.Second); code != 0 {
		t.Fatalf("second node exit %d", code)
	}
	if code := p.stop(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d: %s", code, p.errOut())
	}
}

func TestRolesExitNamingUnreachableDependency(t *testing.T) {
	redis := testenv.StartRedis(t)
	nsqd := testenv.StartNSQD(t)
	dead := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"gateway redis", roleArgs("gateway", "--redis-addr", dead, "--nsq-nsqd", nsqd.Addr), "dependency redis unreachable at " + dead},
		{"gateway nsqd", roleArgs("gateway", "--redis-addr", redis.Addr, "--nsq-nsqd", dead), "dependency nsqd unreachable"},
		{"gateway no redis configured", roleArgs("gateway", "--nsq-nsqd", nsqd.Addr), "set redis.addr"},
		{"judge lookupd", roleArgs("judge", "--redis-addr", redis.Addr, "--nsq-nsqd", nsqd.Addr, "--nsq-lookupd", dead), "dependency nsqlookupd unreachable at " + dead},
		{"notify redis", roleArgs("notify", "--redis-addr", dead, "--nsq-nsqd", nsqd.Addr), "dependency redis unreachable"},
		{"agent nsqd", roleArgs("agent", "--nsq-nsqd", dead), "dependency nsqd unreachable"},
		{"functions minio", roleArgs("functions", "--redis-addr", redis.Addr, "--nsq-nsqd", nsqd.Addr, "--minio-endpoint", dead, "--minio-access-key", "a", "--minio-secret-key", "b"), "dependency minio unreachable at " + dead},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, errOut, code := runWharf(t, t.TempDir(), nil, c.args...)
			if code == 0 || !strings.Contains(errOut, c.want) {
				t.Fatalf("want exit != 0 naming %q, got %d: %s", c.want, code, errOut)
			}
		})
	}
}

func TestAllRolesStartAndStop(t *testing.T) {
	cl := startCluster(t)
	env, minio := cl.env, cl.minio
	tokenFile := filepath.Join(t.TempDir(), "agent.token")
	if err := os.WriteFile(tokenFile, []byte("wharf_0000000000000000_00\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{"functions", "gateway", "judge", "notify", "agent"} {
		t.Run(role, func(t *testing.T) {
			env := env
			if role == "agent" {
				// The control plane need not answer for the agent to start.
				env = append(env, "WHARF_AGENT_TOKEN_FILE="+tokenFile, "WHARF_AGENT_SERVER=http://127.0.0.1:9")
			}
			p := startWharf(t, t.TempDir(), env, roleArgs(role)...)
			internal := p.waitFor(reRoleInternal, 30*time.Second)[1]
			testenv.Eventually(t, 10*time.Second, func() error {
				if code, body := ready(t, internal); code != 200 {
					return fmt.Errorf("ready %d %s", code, body)
				}
				return nil
			})
			r := call(t, "GET", internal+"/metrics", "", nil)
			if !strings.Contains(r.raw, `wharf_build_info{version="dev",role="`+role+`"}`) {
				t.Fatalf("metrics: %.300s", r.raw)
			}
			if _, err := promcheck.Parse(r.raw); err != nil { // every role's families are described
				t.Fatalf("the %s role's /metrics: %v", role, err)
			}
			if code := p.stop(10 * time.Second); code != 0 {
				t.Fatalf("exit %d: %s", code, p.errOut())
			}
		})
	}
	// MinIO down after start: functions stays up and reports not ready.
	p := startWharf(t, t.TempDir(), env, roleArgs("functions")...)
	internal := p.waitFor(reRoleInternal, 30*time.Second)[1]
	minio.Stop()
	testenv.Eventually(t, 15*time.Second, func() error {
		code, body := ready(t, internal)
		if code != 503 || !strings.Contains(body, `"name":"minio","ok":false`) {
			return fmt.Errorf("ready %d %s", code, body)
		}
		return nil
	})
	minio.Start()
	testenv.Eventually(t, 30*time.Second, func() error {
		if code, body := ready(t, internal); code != 200 {
			return fmt.Errorf("ready %d %s", code, body)
		}
		return nil
	})
	p.stop(10 * time.Second)
}
