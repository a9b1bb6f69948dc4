package fntest_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nsqio/go-nsq"

	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/fntest"
	"github.com/wharfhq/wharf/internal/store/redisstore"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestTokensOnBothEngines: each token authenticates with the scopes its
// name promises, on buntdb and on Redis.
func TestTokensOnBothEngines(t *testing.T) {
	want := map[string][]string{
		"admin": {auth.ScopeAdmin}, "ingest": {auth.ScopeIngest}, "agent": {auth.ScopeAgent},
		"team": {auth.TeamScope("shop")}, "other": {auth.TeamScope("bank")}, "multi": {auth.TeamScope("shop"), auth.TeamScope("bank")},
	}
	for _, engine := range []string{"buntdb", "redis"} {
		t.Run(engine, func(t *testing.T) {
			o := redisstore.Options{Namespace: "fntest"}
			if engine == "redis" {
				o.Addr = testenv.StartRedis(t).Addr
			}
			svc := auth.NewService(fntest.OpenStore(t, o))
			toks := fntest.Tokens(t, svc)
			if len(toks) != len(want) {
				t.Fatalf("got %d tokens, want %d", len(toks), len(want))
			}
			for name, scopes := range want {
				p, err := svc.Authenticate(context.Background(), toks[name])
				if err != nil {
					t.Fatalf("token %s: %v", name, err)
				}
				if !slices.Equal(slices.Sorted(slices.Values(p.Scopes)), slices.Sorted(slices.Values(scopes))) {
					t.Errorf("token %s has scopes %v, want %v", name, p.Scopes, scopes)
				}
			}
		})
	}
}

// TestConsumeSeesWhatIsPublished: a body published after Consume arrives.
func TestConsumeSeesWhatIsPublished(t *testing.T) {
	nsqd := testenv.StartNSQD(t)
	got := fntest.Consume(t, nsqd.Addr, "fntest")
	p, err := nsq.NewProducer(nsqd.Addr, nsq.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	p.SetLoggerLevel(nsq.LogLevelError)
	defer p.Stop()
	if err := p.Publish("fntest", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if string(b) != "hello" {
			t.Fatalf("got %q, want hello", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing arrived in 10 s")
	}
}
