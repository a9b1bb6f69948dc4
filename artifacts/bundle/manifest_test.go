package bundle

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/config"
)

const fullManifest = `# every field
app: shop
processes:
  web: ./server --port $PORT
  mailer: ./worker --queue mail
health:
  path: /healthz
  timeout: 1500ms
env:
  LOG_LEVEL: info
  WORKERS: 4
  DEBUG: false
hooks:
  pre_start: ./migrate
  post_start: ./warm-cache
  config_reload: ./reload
config:
  cluster: room-1
  namespaces: [application, db.yaml]
  reload_signal: hup
instances: 3
stop_signal: quit
stop_grace: 45s
`

func TestParseFull(t *testing.T) {
	m, err := Parse([]byte(fullManifest))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := &Manifest{
		App:        "shop",
		Processes:  map[string]string{"web": "./server --port $PORT", "mailer": "./worker --queue mail"},
		Health:     &Health{Path: "/healthz", Timeout: config.Duration(1500 * time.Millisecond)},
		Env:        map[string]string{"LOG_LEVEL": "info", "WORKERS": "4", "DEBUG": "false"},
		Hooks:      Hooks{PreStart: "./migrate", PostStart: "./warm-cache", ConfigReload: "./reload"},
		Config:     ConfigSpec{Cluster: "room-1", Namespaces: []string{"application", "db.yaml"}, ReloadSignal: "SIGHUP"},
		Instances:  3,
		StopSignal: "SIGQUIT",
		StopGrace:  config.Duration(45 * time.Second),
	}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("Parse:\n got %+v\nwant %+v", m, want)
	}
	// The manifest travels as JSON in the artifact metadata.
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"stop_grace":"45s"`) || !strings.Contains(string(b), `"timeout":"1.5s"`) {
		t.Fatalf("JSON: %s", b)
	}
	var back Manifest
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(&back, want) {
		t.Fatalf("JSON round trip: %+v, %v", back, err)
	}
}

func TestParseDefaults(t *testing.T) {
	m, err := Parse([]byte("app: api\nprocesses:\n  web: ./api\nhealth:\n  path: /\nenv:\nhooks:\n"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if m.Instances != 1 || m.StopSignal != "SIGTERM" || m.StopGrace.D() != 10*time.Second ||
		m.Health.Timeout.D() != 2*time.Second || len(m.Env) != 0 || m.Hooks != (Hooks{}) {
		t.Fatalf("defaults: %+v %+v", m, m.Health)
	}
	m, err = Parse([]byte("app: jobs\nprocesses:\n  worker: ./jobs\n"))
	if err != nil || m.Health != nil {
		t.Fatalf("worker-only bundle: %+v, %v", m, err)
	}
}

func TestParseErrors(t *testing.T) {
	const ok = "app: shop\nprocesses:\n  web: ./server\n"
	cases := map[string]struct {
		yaml string
		want string // a substring of the error, with line and field
	}{
		"empty":               {"", "manifest is empty"},
		"comment only":        {"# nothing\n", "manifest is empty"},
		"not a mapping":       {"- a\n- b\n", "line 1: want a mapping, got a list"},
		"syntax":              {"app: [shop\n", "line"},
		"two documents":       {ok + "---\napp: x\n", "only one YAML document"},
		"unknown key":         {ok + "helth:\n  path: /\n", `line 4: helth: unknown key`},
		"unknown nested key":  {ok + "health:\n  path: /\n  intervall: 5s\n", `line 6: health.intervall: unknown key`},
		"unknown hook":        {ok + "hooks:\n  pre_stop: x\n", `line 5: hooks.pre_stop: unknown key`},
		"config unknown key":  {ok + "config:\n  namespace: [a]\n", `line 5: config.namespace: unknown key`},
		"config bad cluster":  {ok + "config:\n  cluster: a/b\n", `line 5: config.cluster: "a/b" is not a valid cluster name`},
		"config dot dot":      {ok + "config:\n  namespaces: [a, ..]\n", `line 5: config.namespaces[1]: ".." is not a valid namespace name`},
		"config twice":        {ok + "config:\n  namespaces: [a, a]\n", `config.namespaces[1]: "a" is listed twice`},
		"config not a list":   {ok + "config:\n  namespaces: a\n", `config.namespaces: want a list`},
		"config bad signal":   {ok + "config:\n  reload_signal: SIGWINCH\n", `config.reload_signal: "SIGWINCH" is not one of`},
		"empty reload hook":   {ok + "hooks:\n  config_reload: ' '\n", `hooks.config_reload: empty command`},
		"duplicate key":       {ok + "app: other\n", `line 4: app: duplicate key (first at line 1)`},
		"missing app":         {"processes:\n  web: ./s\n", "app: required"},
		"bad app":             {"app: Shop_1\nprocesses:\n  web: ./s\n", `line 1: app: "Shop_1" is not a valid app name`},
		"app not a string":    {"app: [a]\nprocesses:\n  web: ./s\n", "line 1: app: want a string, got a list"},
		"missing processes":   {"app: shop\n", "processes: required"},
		"no processes":        {"app: shop\nprocesses: {}\n", "line 2: processes: at least one process is required"},
		"null processes":      {"app: shop\nprocesses:\n", "processes: at least one process is required"},
		"empty command":       {"app: shop\nprocesses:\n  web: \"\"\n", `line 3: processes.web: empty command`},
		"blank command":       {"app: shop\nprocesses:\n  web: '   '\n", `line 3: processes.web: empty command`},
		"null command":        {"app: shop\nprocesses:\n  web:\n", `line 3: processes.web: empty command`},
		"number command":      {"app: shop\nprocesses:\n  web: 42\n", `line 3: processes.web: want a string, got "42"`},
		"bad process name":    {"app: shop\nprocesses:\n  Web: ./s\n", `line 3: processes.Web: "Web" is not a valid process name`},
		"health without path": {ok + "health:\n  timeout: 1s\n", `line 5: health.path: required`},
		"health bad path":     {ok + "health:\n  path: healthz\n", `line 5: health.path: "healthz" must start with /`},
		"health without web":  {"app: shop\nprocesses:\n  worker: ./w\nhealth:\n  path: /\n", `line 4: health: needs a process named web`},
		"bad duration":        {ok + "health:\n  path: /\n  timeout: soon\n", `line 6: health.timeout: want a duration like 10s or 1m30s, got "soon"`},
		"number duration":     {ok + "stop_grace: 10\n", `line 4: stop_grace: want a duration like 10s or 1m30s, got "10"`},
		"negative grace":      {ok + "stop_grace: -1s\n", `line 4: stop_grace: -1s is outside 0s to 1h0m0s`},
		"huge timeout":        {ok + "health:\n  path: /\n  timeout: 1h\n", `line 6: health.timeout: 1h0m0s is outside`},
		"zero instances":      {ok + "instances: 0\n", `line 4: instances: 0 is outside 1 to 256`},
		"text instances":      {ok + "instances: two\n", `line 4: instances: want a whole number, got "two"`},
		"float instances":     {ok + "instances: 1.5\n", `line 4: instances: want a whole number`},
		"bad signal":          {ok + "stop_signal: SIGSTOP\n", `line 4: stop_signal: "SIGSTOP" is not one of SIGTERM, SIGINT`},
		"signal number":       {ok + "stop_signal: 15\n", `line 4: stop_signal: want a string, got "15"`},
		"bad env name":        {ok + "env:\n  1X: a\n", `line 5: env.1X: "1X" is not a valid variable name`},
		"env PORT":            {ok + "env:\n  PORT: 80\n", `line 5: env.PORT: PORT is set by Wharf`},
		"env list":            {ok + "env:\n  A: [1]\n", `line 5: env.A: want a value`},
		"empty hook":          {ok + "hooks:\n  post_start: ''\n", `line 5: hooks.post_start: empty command`},
		"alias":               {"app: &a shop\nprocesses:\n  web: *a\n", "anchors and aliases are not allowed"},
		"merge key":           {ok + "<<: {instances: 2}\n", "line 4"},
		"env not a mapping":   {ok + "env: [A=1]\n", `line 4: env: want a mapping, got a list`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(c.yaml))
			var me *ManifestError
			if !errors.As(err, &me) {
				t.Fatalf("want *ManifestError, got %v", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not contain %q", err, c.want)
			}
			if !IsManifestError(err) {
				t.Fatal("IsManifestError is false")
			}
		})
	}
}

// Every problem is reported at once, each naming its field.
func TestParseReportsAllProblems(t *testing.T) {
	_, err := Parse([]byte("app: shop\nprocesses:\n  web: ''\n  jobs: ./j\nstop_grace: never\ninstances: 0\n"))
	var me *ManifestError
	if !errors.As(err, &me) || len(me.Problems) != 3 {
		t.Fatalf("want 3 problems, got %v", err)
	}
	for _, f := range []string{"processes.web", "stop_grace", "instances"} {
		if me.Field(f) == nil {
			t.Fatalf("no problem reported for %s: %v", f, err)
		}
	}
}

func TestParseTooLarge(t *testing.T) {
	big := "app: shop\nprocesses:\n  web: ./s\nenv:\n  A: '" + strings.Repeat("x", MaxManifestSize) + "'\n"
	if _, err := Parse([]byte(big)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("want a size error, got %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(fullManifest))
	f.Add([]byte("app: shop\nprocesses:\n  web: ./server\n"))
	f.Add([]byte("app: &a shop\nprocesses: *a\n"))
	f.Add([]byte("a: &a [*a, *a]\nb: &b [*a, *a, *a]\n"))
	f.Add([]byte("app: shop\nprocesses: {web: x}\nhealth: {path: /, timeout: 1s}\nstop_signal: term\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			if m != nil {
				t.Fatal("manifest and error both returned")
			}
			if !IsManifestError(err) {
				t.Fatalf("error is not a *ManifestError: %v", err)
			}
			return
		}
		// A valid manifest satisfies every documented rule.
		if !validApp(m.App) || len(m.Processes) == 0 || m.Instances < 1 || m.Instances > MaxInstances {
			t.Fatalf("invalid manifest accepted: %+v", m)
		}
		for name, cmd := range m.Processes {
			if !validProcess(name) || strings.TrimSpace(cmd) == "" {
				t.Fatalf("bad process accepted: %q: %q", name, cmd)
			}
		}
		if m.StopGrace < 0 || m.StopGrace.D() > MaxStopGrace {
			t.Fatalf("stop_grace %v accepted", m.StopGrace)
		}
		if _, err := json.Marshal(m); err != nil {
			t.Fatalf("valid manifest does not marshal: %v", err)
		}
	})
}
