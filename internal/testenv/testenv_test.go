package testenv

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func redisPing(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}

func TestRedisStartStopRestart(t *testing.T) {
	r := StartRedis(t)
	if err := redisPing(r.Addr); err != nil {
		t.Fatal(err)
	}
	r.Stop()
	if err := redisPing(r.Addr); err == nil {
		t.Fatal("redis still answers after Stop")
	}
	r.Start()
	Eventually(t, 5*time.Second, func() error { return redisPing(r.Addr) })
}

func TestNSQDWithLookupd(t *testing.T) {
	l := StartNSQLookupd(t)
	n := StartNSQD(t, NSQDOptions{LookupdTCPAddrs: []string{l.Addr}})
	resp, err := http.Get("http://" + n.HTTPAddr + "/ping")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("nsqd /ping: %d", resp.StatusCode)
	}
	Eventually(t, 10*time.Second, func() error {
		resp, err := http.Get("http://" + l.HTTPAddr + "/nodes")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = bufio.NewReader(resp.Body).WriteTo(&b)
		if !strings.Contains(b.String(), "127.0.0.1") {
			return fmt.Errorf("nsqd not registered: %s", b.String())
		}
		return nil
	})
}

func TestMinIO(t *testing.T) {
	m := StartMinIO(t)
	// StartMinIO returns only when MinIO is ready, so no waiting here.
	check := func() {
		t.Helper()
		resp, err := http.Get("http://" + m.Addr + "/minio/health/ready")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("minio ready: %d", resp.StatusCode)
		}
	}
	check()
	m.Restart()
	check()
}
