package config_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wharfhq/wharf/internal/testenv"
)

// TestTeamAPIChecksPermissionBeforeNames: another team's token asking for
// shop's namespaces (in any case) gets the 404 of a missing app before the
// node reads anything of shop's namespaces — Redis's MONITOR sees no
// command on shop's heads while bank's requests run.
func TestTeamAPIChecksPermissionBeforeNames(t *testing.T) {
	r := testenv.StartRedis(t)
	st := openStore(t, r.Addr)
	s := newServerOn(t, st, mintTokens(t, st))
	s.setItems(t, "default", "application", "v", "1")

	// MONITOR over a raw connection: every command Redis runs, one line each.
	conn, err := net.Dial("tcp", r.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := conn.Write([]byte("MONITOR\r\n")); err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	var mu sync.Mutex
	var seen []string
	go func() {
		sc := bufio.NewScanner(conn)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			mu.Lock()
			seen = append(seen, sc.Text())
			mu.Unlock()
		}
	}()
	marker := func(m string) {
		t.Helper()
		testenv.Eventually(t, 10*time.Second, func() error {
			if err := rdb.Echo(ctx, m).Err(); err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			for _, c := range seen {
				if strings.Contains(c, m) {
					return nil
				}
			}
			return fmt.Errorf("monitor has not seen %s in %d: %.300v", m, len(seen), seen)
		})
	}
	marker("begin-bank")
	for _, p := range []string{nsURL("default", "Application"), nsURL("DEFAULT", "application"), nsURL("default", "application") + "/releases", nsURL("Default", "nope")} {
		if res := s.do(t, "GET", p, "other", ""); res.Status != 404 {
			t.Fatalf("GET %s as bank: %d %s", p, res.Status, res.Body)
		}
		if res := s.do(t, "PUT", p+"/items/k", "other", `{"value":"x"}`); res.Status != 404 {
			t.Fatalf("PUT %s as bank: %d %s", p, res.Status, res.Body)
		}
	}
	marker("end-bank")
	mu.Lock()
	defer mu.Unlock()
	in := false
	for _, c := range seen {
		switch {
		case strings.Contains(c, "begin-bank"):
			in = true
		case strings.Contains(c, "end-bank"):
			in = false
		case in && strings.Contains(c, "config/head/shop"):
			t.Fatalf("bank's requests read shop's heads: %s", c)
		}
	}
}
