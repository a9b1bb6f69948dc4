package alarms_test

import (
	"strings"
	"testing"

	"github.com/wharfhq/wharf/functions/alarms"
	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
)

// TestReceiverPutOptimisticConcurrency: a receiver carries a version;
// a PUT that names the version it read (version=, If-Match or "version"
// in the body) is refused with 409 when another write came first, and the
// refused write changes nothing (not even the secret). A PUT naming no
// version replaces the receiver as before.
func TestReceiverPutOptimisticConcurrency(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			s := newServerOn(t, engine)
			const path = "/api/v1/receivers/shop/chat"
			put := func(query, ifMatch, body string) gatewaytest.Response {
				t.Helper()
				hdr := map[string]string{"Authorization": "Bearer " + s.tokens["team"], "Content-Type": "application/json", "If-Match": ifMatch}
				r := gatewaytest.Do(t, s.addr, "PUT", path+query, hdr, body)
				gatewaytest.NoSecrets(t, r)
				return r
			}
			body := func(url string) string { return `{"kind":"webhook","url":"` + url + `"}` }
			version := func(r gatewaytest.Response) int64 {
				t.Helper()
				return decode[alarms.VersionedReceiver](t, r).Version
			}

			if r := put("?version=3", "", body("http://127.0.0.1:9/a")); r.Status != 409 || !strings.Contains(string(r.Body), "version 0, not 3") {
				t.Fatalf("create at a version that does not exist: %s", r)
			}
			r := put("?version=0", "", body("http://127.0.0.1:9/a"))
			if r.Status != 200 || version(r) != 1 || r.Get("ETag") != `"1"` {
				t.Fatalf("create: %s", r)
			}
			if r := put("?version=0", "", body("http://127.0.0.1:9/b")); r.Status != 409 {
				t.Fatalf("a second create: %s", r)
			}
			if r := put("?version=1", "", body("http://127.0.0.1:9/b")); r.Status != 200 || version(r) != 2 {
				t.Fatalf("update at the version read: %s", r)
			}
			// Another editor still holds version 1: every way of saying so is refused.
			for _, c := range []struct{ query, ifMatch, body string }{
				{"?version=1", "", body("http://127.0.0.1:9/stale")},
				{"", `"1"`, body("http://127.0.0.1:9/stale")},
				{"", "", `{"kind":"webhook","url":"http://127.0.0.1:9/stale","version":1,"secret_ref":"k","secret":"s3cr3t-stale"}`},
			} {
				r := put(c.query, c.ifMatch, c.body)
				if r.Status != 409 || !strings.Contains(string(r.Body), `receiver \"chat\" of team \"shop\" is at version 2, not 1`) {
					t.Fatalf("stale write %+v: %s", c, r)
				}
			}
			got := s.do(t, "GET", path, "team", "")
			if got.Status != 200 || version(got) != 2 || !strings.Contains(string(got.Body), "/b") || got.Get("ETag") != `"2"` {
				t.Fatalf("after the refused writes: %s", got)
			}
			if _, err := s.st.Get(t.Context(), wire.SecretKey("shop", "k")); err == nil {
				t.Fatalf("a refused write stored its secret")
			}
			if r := put("", `"2"`, body("http://127.0.0.1:9/c")); r.Status != 200 || version(r) != 3 {
				t.Fatalf("If-Match of the current version: %s", r)
			}
			if r := put("", "", body("http://127.0.0.1:9/d")); r.Status != 200 || version(r) != 4 {
				t.Fatalf("a write without a version: %s", r)
			}
			list := decode[alarms.ReceiverList](t, s.do(t, "GET", "/api/v1/receivers/shop", "team", ""))
			if len(list.Receivers) != 1 || list.Receivers[0].Version != 4 {
				t.Fatalf("list: %+v", list)
			}
			for _, bad := range []struct{ query, ifMatch, field string }{
				{"?version=x", "", "version must be"},
				{"?version=-1", "", "version must be"},
				{"", `"abc"`, "If-Match must be"},
			} {
				if r := put(bad.query, bad.ifMatch, body("http://127.0.0.1:9/e")); r.Status != 400 || !strings.Contains(string(r.Body), bad.field) {
					t.Fatalf("%+v: %s", bad, r)
				}
			}
		})
	}
}
