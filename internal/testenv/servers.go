package testenv

import (
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	redisInstall = "apt-get install -y redis-server (or: make deps)"
	minioInstall = "make deps (builds .bin/minio from the Go module proxy)"
	nsqInstall   = "make deps (builds .bin/nsqd and .bin/nsqlookupd)"
)

// Redis is a running redis-server.
type Redis struct {
	*Process
}

// StartRedis starts redis-server with append-only persistence in a temp dir,
// so Restart keeps the data it had acknowledged.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	bin := binary(t, "redis-server", redisInstall)
	dir := t.TempDir()
	port := FreePort(t)
	p := newProcess(t, "redis-server", bin, loopback(port), dir,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "",
		"--protected-mode", "no", "--daemonize", "no", "--logfile", "")
	p.Start()
	return &Redis{p}
}

// MinIO is a running MinIO server.
type MinIO struct {
	*Process
	// AccessKey and SecretKey are the root credentials.
	AccessKey, SecretKey string
}

// StartMinIO starts a single-node MinIO server on a temp dir.
func StartMinIO(t testing.TB) *MinIO {
	t.Helper()
	bin := binary(t, "minio", minioInstall)
	dir := t.TempDir()
	ports := FreePorts(t, 2)
	port, console := ports[0], ports[1]
	p := newProcess(t, "minio", bin, loopback(port), dir,
		"server", "--quiet", "--address", loopback(port), "--console-address", loopback(console), filepath.Join(dir, "data"))
	m := &MinIO{Process: p, AccessKey: "wharftest", SecretKey: "wharftest-secret-key"}
	p.env = []string{
		"MINIO_ROOT_USER=" + m.AccessKey,
		"MINIO_ROOT_PASSWORD=" + m.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"HOME=" + dir,
	}
	m.Start()
	return m
}

// Start launches MinIO and returns only once it is ready to serve S3 calls:
// MinIO accepts connections before it has initialised, answering
// "Server not initialized yet" (503) until its object layer is up. Its
// /minio/health/ready can say 200 a moment before that after a restart on
// existing data, so Start also waits until an S3 request (an anonymous
// bucket listing, refused with 403 once the server works) stops getting 503.
func (m *MinIO) Start() {
	m.t.Helper()
	m.Process.Start()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for _, path := range []string{"/minio/health/ready", "/"} {
		for {
			resp, err := client.Get("http://" + m.Addr + path)
			if err == nil {
				resp.Body.Close()
				if path == "/minio/health/ready" && resp.StatusCode == http.StatusOK ||
					path == "/" && resp.StatusCode != http.StatusServiceUnavailable {
					break
				}
			}
			if time.Now().After(deadline) {
				m.t.Fatalf("minio on %s not ready within 60s (%s): %v\n%s", m.Addr, path, err, m.Output())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// Restart stops MinIO and starts it again, ready, on the same address and data.
func (m *MinIO) Restart() {
	m.t.Helper()
	m.Stop()
	m.Start()
}

// NSQD is a running nsqd.
type NSQD struct {
	*Process
	// HTTPAddr is nsqd's HTTP API address.
	HTTPAddr string
}

// NSQDOptions tunes StartNSQD.
type NSQDOptions struct {
	// LookupdTCPAddrs makes nsqd register with these nsqlookupd instances.
	LookupdTCPAddrs []string
	// Args are extra nsqd flags, e.g. --tls-required=true or --auth-http-address.
	Args []string
}

// StartNSQD starts nsqd with its data in a temp dir.
func StartNSQD(t testing.TB, opts ...NSQDOptions) *NSQD {
	t.Helper()
	bin := binary(t, "nsqd", nsqInstall)
	dir := t.TempDir()
	ports := FreePorts(t, 3)
	tcp, http := ports[0], ports[1]
	args := []string{
		"--tcp-address", loopback(tcp), "--http-address", loopback(http),
		"--broadcast-address", "127.0.0.1", "--data-path", dir, "--log-level", "warn",
	}
	for _, o := range opts {
		for _, a := range o.LookupdTCPAddrs {
			args = append(args, "--lookupd-tcp-address", a)
		}
		args = append(args, o.Args...)
		if slices.ContainsFunc(o.Args, func(a string) bool { return strings.HasPrefix(a, "--tls-cert") }) {
			// With a certificate nsqd also serves HTTPS, by default on 0.0.0.0:4152.
			args = append(args, "--https-address", loopback(ports[2]))
		}
	}
	p := newProcess(t, "nsqd", bin, loopback(tcp), dir, args...)
	p.Start()
	return &NSQD{Process: p, HTTPAddr: loopback(http)}
}

// NSQLookupd is a running nsqlookupd.
type NSQLookupd struct {
	*Process
	// HTTPAddr is where consumers ask for producers.
	HTTPAddr string
}

// StartNSQLookupd starts nsqlookupd.
func StartNSQLookupd(t testing.TB) *NSQLookupd {
	t.Helper()
	bin := binary(t, "nsqlookupd", nsqInstall)
	ports := FreePorts(t, 2)
	tcp, http := ports[0], ports[1]
	p := newProcess(t, "nsqlookupd", bin, loopback(tcp), t.TempDir(),
		"--tcp-address", loopback(tcp), "--http-address", loopback(http),
		"--broadcast-address", "127.0.0.1", "--log-level", "warn")
	p.Start()
	return &NSQLookupd{Process: p, HTTPAddr: loopback(http)}
}
