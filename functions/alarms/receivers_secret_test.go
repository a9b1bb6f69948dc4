package alarms_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/functions/alarms"
	"github.com/wharfhq/wharf/functions/alarms/wire"
)

// TestReceiverPutSecretFollowsTheWinner: writers PUT the same receiver
// at once, each with its own URL and secret under one secret_ref and no
// version (the last write wins); a PUT whose compare-and-swap loses
// answers 409. Whatever the interleaving, the stored secret is the one of
// the PUT whose receiver is stored: a losing PUT leaves no secret behind
// (before, the secret was written ahead of the receiver's
// compare-and-swap, and a loser's secret could outlive the winner's).
func TestReceiverPutSecretFollowsTheWinner(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			s := newServerOn(t, engine)
			const path = "/api/v1/receivers/shop/chat"
			conflicts := 0
			for round := range 6 {
				var wg sync.WaitGroup
				var mu sync.Mutex
				for i := range 8 {
					wg.Go(func() {
						body := fmt.Sprintf(`{"kind":"webhook","url":"http://127.0.0.1:9/w%d-%d","secret_ref":"k","secret":"s3cr3t-%d-%d"}`, round, i, round, i)
						r := s.do(t, "PUT", path, "team", body)
						if r.Status == 409 {
							mu.Lock()
							conflicts++
							mu.Unlock()
						} else if r.Status != 200 {
							t.Errorf("PUT: %s", r)
						}
					})
				}
				wg.Wait()
				got := s.do(t, "GET", path, "team", "")
				if got.Status != 200 {
					t.Fatalf("GET: %s", got)
				}
				url := decode[alarms.VersionedReceiver](t, got).URL
				winner := strings.TrimPrefix(url, "http://127.0.0.1:9/w")
				e, err := s.st.Get(t.Context(), wire.SecretKey("shop", "k"))
				if err != nil {
					t.Fatalf("no secret stored: %v", err)
				}
				if string(e.Value) != "s3cr3t-"+winner {
					t.Fatalf("round %d: the receiver stored is the PUT of %s, the secret another PUT's", round, winner)
				}
			}
			t.Logf("%d PUTs lost their compare-and-swap (409)", conflicts)
		})
	}
}
