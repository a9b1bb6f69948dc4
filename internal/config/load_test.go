package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/wharfhq/wharf/internal/cidr"
)

func load(t *testing.T, args, env []string, file string) (Options, error) {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	l := Bind(fs)
	if file != "" {
		p := filepath.Join(t.TempDir(), "wharf.yaml")
		if err := os.WriteFile(p, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", p)
	}
	if err := fs.Parse(args); err != nil {
		return Options{}, err
	}
	return l.Load(env)
}

func TestDefaults(t *testing.T) {
	o, err := load(t, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if o.DataDir != "./data" || o.Gateway.Listen != ":8080" || o.Internal.Listen != "127.0.0.1:9090" || o.ShutdownGrace != 10*time.Second {
		t.Fatalf("defaults: %+v", o)
	}
}

func TestPrecedence(t *testing.T) {
	file := "data_dir: /from/file\ngateway:\n  listen: \":1111\"\n  trusted_proxies: [10.0.0.0/8]\nlog:\n  level: warn\nshutdown_grace: 3s\n"
	env := []string{"WHARF_GATEWAY_LISTEN=:2222", "WHARF_LOG_LEVEL=debug", "PATH=/bin"}
	o, err := load(t, []string{"--gateway-listen", ":3333"}, env, file)
	if err != nil {
		t.Fatal(err)
	}
	if o.Gateway.Listen != ":3333" {
		t.Errorf("flag should win: %q", o.Gateway.Listen)
	}
	if o.Log.Level != "debug" {
		t.Errorf("env should beat file: %q", o.Log.Level)
	}
	if o.DataDir != "/from/file" || o.ShutdownGrace != 3*time.Second {
		t.Errorf("file should beat defaults: %+v", o)
	}
	if len(o.Gateway.TrustedProxies) != 1 || o.Internal.Listen != "127.0.0.1:9090" {
		t.Errorf("untouched values: %+v", o)
	}
}

func TestEnvListAndBool(t *testing.T) {
	o, err := load(t, []string{"--minio-secure"}, []string{"WHARF_NSQ_NSQD=a:1, b:2", "WHARF_REDIS_DB=3"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if !o.MinIO.Secure || len(o.NSQ.NSQD) != 2 || o.NSQ.NSQD[1] != "b:2" || o.Redis.DB != 3 {
		t.Fatalf("%+v", o)
	}
}

func TestUnknownKeyNamesKeyAndLine(t *testing.T) {
	_, err := load(t, nil, nil, "data_dir: x\ngateway:\n  listen: \":1\"\n  lisen: \":2\"\n")
	if err == nil || !strings.Contains(err.Error(), `line 4`) || !strings.Contains(err.Error(), `"gateway.lisen"`) {
		t.Fatalf("want unknown key error naming gateway.lisen at line 4, got %v", err)
	}
	_, err = load(t, nil, nil, "bogus: 1\n")
	if err == nil || !strings.Contains(err.Error(), `line 1`) || !strings.Contains(err.Error(), `"bogus"`) {
		t.Fatalf("got %v", err)
	}
}

func TestBadValues(t *testing.T) {
	cases := map[string]struct {
		args []string
		env  []string
		file string
		want string
	}{
		"bad duration env":   {env: []string{"WHARF_SHUTDOWN_GRACE=soon"}, want: "WHARF_SHUTDOWN_GRACE"},
		"bad int file":       {file: "redis:\n  db: many\n", want: "line 2"},
		"bad format":         {args: []string{"--log-format", "xml"}, want: "log.format"},
		"bad cidr":           {file: "gateway:\n  trusted_proxies: [10.0.0.0/33]\n", want: "10.0.0.0/33"},
		"bad listen":         {env: []string{"WHARF_INTERNAL_LISTEN=9090"}, want: "internal.listen"},
		"not a mapping":      {file: "gateway: 3\n", want: "gateway must be a mapping"},
		"negative grace":     {args: []string{"--shutdown-grace", "-1s"}, want: "shutdown_grace"},
		"missing file":       {env: []string{"WHARF_CONFIG=/nonexistent/wharf.yaml"}, want: "cannot read config file"},
		"bad flag duration":  {args: []string{"--shutdown-grace", "ten"}, want: "duration"},
		"duplicate key":      {file: "gateway:\n  listen: \":8080\"\n  listen: \":9\"\n", want: "already defined"},
		"duplicate nested":   {file: "routes:\n  - {path: /x, function: api, path: /api/}\n", want: "already defined"},
		"advertise scheme":   {env: []string{"WHARF_MONITORING_ADVERTISE_URL=ftp://10.0.0.7:8080"}, want: "monitoring.advertise_url must be http(s)://host:port"},
		"advertise path":     {file: "monitoring:\n  advertise_url: http://10.0.0.7:8080/wharf\n", want: "monitoring.advertise_url"},
		"advertise no host":  {file: "monitoring:\n  advertise_url: \"http://\"\n", want: "monitoring.advertise_url"},
		"sync interval env":  {env: []string{"WHARF_MONITORING_SERIES_SYNC_INTERVAL=2s"}, want: "monitoring.series_sync_interval must be 0 (after every group commit) to 1s, got 2s"},
		"sync interval file": {file: "monitoring:\n  series_sync_interval: soon\n", want: "line 2"},
		"shadowing route":    {file: "services: [{name: s, instances: [{addr: \"127.0.0.1:1\"}]}]\nroutes:\n  - {path: /api/v1/, service: s}\n", want: "routes[0].path: shadows the built-in /api/"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := load(t, c.args, c.env, c.file)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want error containing %q, got %v", c.want, err)
			}
		})
	}
}

func TestEmptyFile(t *testing.T) {
	if _, err := load(t, nil, nil, "# nothing\n"); err != nil {
		t.Fatal(err)
	}
}

func TestBindGroups(t *testing.T) {
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	Bind(fs, "redis")
	if fs.Lookup("redis-addr") == nil || fs.Lookup("gateway-listen") != nil || fs.Lookup("config") == nil {
		t.Fatal("group binding wrong")
	}
}

func TestParsePrefix(t *testing.T) {
	for in, want := range map[string]string{
		"10.1.2.3":            "10.1.2.3/32",
		"10.1.2.3/8":          "10.0.0.0/8",
		"::ffff:10.0.0.0/104": "10.0.0.0/8",
		"2001:db8::1":         "2001:db8::1/128",
	} {
		p, err := cidr.Parse(in)
		if err != nil || p.String() != want {
			t.Errorf("%s: got %v %v want %s", in, p, err, want)
		}
	}
}

func FuzzDecodeYAML(f *testing.F) {
	f.Add([]byte("gateway:\n  listen: \":1\"\n"))
	f.Add([]byte("agent: {labels: [a, b]}\n"))
	f.Add([]byte("- 1\n- 2\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		o := Defaults()
		_ = decodeYAML(b, &o)
	})
}

// TestAdvertiseURL: a good monitoring.advertise_url loads; one with a
// user and password is refused without repeating them.
func TestAdvertiseURL(t *testing.T) {
	o, err := load(t, []string{"--monitoring-advertise-url", "https://10.0.0.7:8443/"}, nil, "")
	if err != nil || o.Monitoring.AdvertiseURL != "https://10.0.0.7:8443/" {
		t.Fatalf("%q %v", o.Monitoring.AdvertiseURL, err)
	}
	_, err = load(t, nil, []string{"WHARF_MONITORING_ADVERTISE_URL=http://ops:hunter2@10.0.0.7:8080"}, "")
	if err == nil || !strings.Contains(err.Error(), "no user") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("want a refusal without the password, got %v", err)
	}
}
