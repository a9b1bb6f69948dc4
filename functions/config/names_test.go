package config_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/config"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestNamesIgnoreCase: namespace and cluster names are case-insensitive,
// as in Apollo. A namespace created as "Database" in cluster "SHA" is read
// as sha/database, polled as Sha/DataBase (the answer echoes the name the
// client asked with, the messages name it as stored, so the
// read-your-notification check holds), and written as sha/DATABASE — all
// the one namespace; creating it again in another case is a 409.
func TestNamesIgnoreCase(t *testing.T) {
	s := newServer(t)
	s.must(t, 201, "POST", "/api/v1/config/apps/shop/namespaces", "team", `{"cluster":"SHA","name":"Database"}`)
	s.setItems(t, "SHA", "Database", "url", "db1")
	s.publish(t, "SHA", "Database", "one")

	// Another spelling of a stored name is the same namespace.
	if r := s.do(t, "POST", "/api/v1/config/apps/shop/namespaces", "team", `{"cluster":"sha","name":"database"}`); r.Status != 409 || !strings.Contains(r.String(), "Database") {
		t.Fatalf("create sha/database next to SHA/Database: %d %s", r.Status, r.Body)
	}
	s.setItems(t, "sha", "DATABASE", "pool", "5")
	if l := decode[config.NamespaceList](t, s.must(t, 200, "GET", "/api/v1/config/apps/shop/namespaces", "team", "")); len(l.Namespaces) != 1 {
		t.Fatalf("namespaces after writes in other cases: %+v", l.Namespaces)
	}
	if v := decode[config.NamespaceView](t, s.must(t, 200, "GET", nsURL("Sha", "dataBase"), "team", "")); v.Namespace != "Database" || v.Cluster != "SHA" || v.Draft.Items["pool"] != "5" {
		t.Fatalf("the namespace read as Sha/dataBase: %+v", v)
	}

	// Reads in any case (once this node's notifications know the
	// namespace: the hub resolves the names).
	var c config.ApolloConfig
	testenv.Eventually(t, 10*time.Second, func() error {
		r := s.do(t, "GET", "/configs/shop/sha/database", "team", "")
		if r.Status != 200 {
			return fmt.Errorf("/configs/shop/sha/database: %d %s", r.Status, r.Body)
		}
		c = decode[config.ApolloConfig](t, r)
		return nil
	})
	if c.NamespaceName != "database" || c.Configurations["url"] != "db1" || c.Configurations["pool"] != "" {
		t.Fatalf("read as sha/database: %+v", c)
	}
	if r := s.must(t, 200, "GET", "/configfiles/json/shop/sHa/DATABASE", "team", ""); strings.TrimSpace(r.String()) != `{"url":"db1"}` {
		t.Fatalf("configfiles as sHa/DATABASE: %s", r.Body)
	}

	// Polls in any case: -1 answered at once with the asked name.
	first := <-s.startPoll(t, pollQuery("shop", "Sha", map[string]int64{"DataBase": -1}), bearer(s, "team"))
	if first.err != nil || first.status != 200 || len(first.body) != 1 || first.body[0].NamespaceName != "DataBase" ||
		first.body[0].Messages == nil || first.body[0].Messages.Details["shop+SHA+Database"] != first.body[0].NotificationID {
		t.Fatalf("first poll as Sha/DataBase: %+v", first)
	}
	held := s.startPoll(t, pollQuery("shop", "Sha", map[string]int64{"DataBase": first.body[0].NotificationID}), bearer(s, "team"))
	waitHeld(t, s, 1)
	s.publish(t, "sha", "DATABASE", "two")
	a := <-held
	if a.err != nil || a.status != 200 || len(a.body) != 1 || a.body[0].NamespaceName != "DataBase" || a.body[0].NotificationID <= first.body[0].NotificationID {
		t.Fatalf("held poll as Sha/DataBase after a publish as sha/DATABASE: %+v", a)
	}
	// The read the client makes next, with the messages it was sent.
	msgs, _ := json.Marshal(a.body[0].Messages)
	c = decode[config.ApolloConfig](t, s.must(t, 200, "GET", "/configs/shop/Sha/DataBase?messages="+url.QueryEscape(string(msgs)), "team", ""))
	if c.NamespaceName != "DataBase" || c.Configurations["pool"] != "5" {
		t.Fatalf("read after the notification: %+v", c)
	}
	if _, err := s.st.Get(context.Background(), "config/head/shop/sha/database"); err == nil {
		t.Fatal("a second head under the lowercase names was stored")
	}
}
