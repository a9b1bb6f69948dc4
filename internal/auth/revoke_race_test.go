package auth

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
)

// Two admins revoking each other at the same moment must not leave the store
// without any admin token.
func TestConcurrentRevokeKeepsAnAdmin(t *testing.T) {
	for round := range 50 {
		s, _ := newTestService(t)
		ctx := context.Background()
		const n = 4
		ids, plains := make([]string, n), make([]string, n)
		for i := range n {
			tok, plain := mustCreate(t, s, "admin", ScopeAdmin)
			ids[i], plains[i] = tok.ID, plain
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = NewService(s.st).Revoke(ctx, ids[i])
			}()
		}
		close(start)
		wg.Wait()
		revoked := 0
		for i, err := range errs {
			switch {
			case err == nil:
				revoked++
			case !errors.Is(err, ErrLastAdmin):
				t.Fatalf("round %d: Revoke %d: %v", round, i, err)
			}
		}
		all, err := s.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		admins := 0
		for _, tok := range all {
			if slices.Contains(tok.Scopes, ScopeAdmin) {
				admins++
			}
		}
		if admins == 0 {
			t.Fatalf("round %d: concurrent revokes removed every admin token (%d revokes succeeded)", round, revoked)
		}
		if admins != n-revoked {
			t.Fatalf("round %d: %d admins left, but %d of %d revokes reported success", round, admins, revoked, n)
		}
		// A refused revoke leaves a working token; a successful one a dead token.
		for i, err := range errs {
			_, aerr := s.Authenticate(ctx, plains[i])
			if (err == nil) != errors.Is(aerr, ErrUnauthenticated) {
				t.Fatalf("round %d: Revoke %d = %v but Authenticate = %v", round, i, err, aerr)
			}
		}
	}
}
