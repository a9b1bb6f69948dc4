package auth

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/buntstore"
	"github.com/wharfhq/wharf/internal/store/redisstore"
	"github.com/wharfhq/wharf/internal/testenv"
)

func openBunt(t testing.TB) *buntstore.Store {
	t.Helper()
	st, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func newTestService(t testing.TB) (*Service, *buntstore.Store) {
	t.Helper()
	st := openBunt(t)
	return NewService(st), st
}

func mustCreate(t testing.TB, s *Service, name string, scopes ...string) (Token, string) {
	t.Helper()
	tok, plain, err := s.Create(context.Background(), CreateRequest{Name: name, Scopes: scopes, CreatedBy: "test"})
	if err != nil {
		t.Fatalf("Create(%s, %v): %v", name, scopes, err)
	}
	return tok, plain
}

func TestCreateThenAuthenticate(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	fixed := time.Date(2030, 1, 2, 3, 4, 5, 678, time.FixedZone("X", 3600))
	s.now = func() time.Time { return fixed }

	tok, plain, err := s.Create(ctx, CreateRequest{Name: "shop-ci", Scopes: []string{TeamScope("shop"), ScopeAgent, TeamScope("shop")}, CreatedBy: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := parseToken(plain); !ok || id != tok.ID {
		t.Fatalf("plaintext %q does not parse to id %q", plain, tok.ID)
	}
	if tok.Hash != "" {
		t.Fatalf("Create returned the hash %q", tok.Hash)
	}
	if want := []string{ScopeAgent, TeamScope("shop")}; !slices.Equal(tok.Scopes, want) {
		t.Fatalf("scopes %q, want sorted and de-duplicated %q", tok.Scopes, want)
	}
	if tok.Name != "shop-ci" || tok.CreatedBy != "alice" || !tok.CreatedAt.Equal(fixed.Truncate(time.Second)) || tok.CreatedAt.Location() != time.UTC {
		t.Fatalf("record %+v", tok)
	}

	p, err := s.Authenticate(ctx, plain)
	if err != nil {
		t.Fatal(err)
	}
	want := Principal{TokenID: tok.ID, Name: "shop-ci", Scopes: []string{ScopeAgent, TeamScope("shop")}}
	if p.TokenID != want.TokenID || p.Name != want.Name || !slices.Equal(p.Scopes, want.Scopes) {
		t.Fatalf("principal %+v, want %+v", p, want)
	}
	if !p.Allows(TeamScope("shop")) || p.Allows(ScopeAdmin) {
		t.Fatalf("principal %+v has wrong permissions", p)
	}

	// The principal is a copy: changing it does not change the next one.
	p.Scopes[0] = ScopeAdmin
	p2, err := s.Authenticate(ctx, plain)
	if err != nil || p2.IsAdmin() {
		t.Fatalf("second Authenticate = %+v, %v", p2, err)
	}
}

func TestCreateValidates(t *testing.T) {
	s, st := newTestService(t)
	ctx := context.Background()
	tests := []struct {
		req     CreateRequest
		wantErr string
	}{
		{CreateRequest{Name: "", Scopes: []string{ScopeAdmin}}, `invalid token name ""`},
		{CreateRequest{Name: "Bad Name", Scopes: []string{ScopeAdmin}}, `invalid token name "Bad Name"`},
		{CreateRequest{Name: "ok"}, "at least one scope"},
		{CreateRequest{Name: "ok", Scopes: []string{}}, "at least one scope"},
		{CreateRequest{Name: "ok", Scopes: []string{"root"}}, `unknown scope "root"`},
		{CreateRequest{Name: "ok", Scopes: []string{ScopeAdmin, "team:Shop!"}}, `invalid team name "Shop!"`},
	}
	for _, tt := range tests {
		_, plain, err := s.Create(ctx, tt.req)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Create(%+v) = %v, want error containing %q", tt.req, err, tt.wantErr)
		}
		if plain != "" {
			t.Errorf("Create(%+v) returned a plaintext with an error", tt.req)
		}
	}
	page, err := st.List(ctx, tokenKeyPrefix, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != 0 {
		t.Fatalf("invalid requests stored %d tokens", len(page.Entries))
	}
}

func TestAuthenticateRejects(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	tok, plain := mustCreate(t, s, "shop", TeamScope("shop"))
	_, other := mustCreate(t, s, "blog", TeamScope("blog"))

	// Same id, different (well-formed) secret.
	last := plain[len(plain)-1]
	flip := byte('0')
	if last == '0' {
		flip = '1'
	}
	wrongSecret := plain[:len(plain)-1] + string(flip)
	// A token whose id is unknown to the store.
	_, unknown, err := newToken()
	if err != nil {
		t.Fatal(err)
	}
	// Another token's secret under this token's id.
	swapped := tokenPrefix + tok.ID + other[len(tokenPrefix)+idLen:]

	for name, tc := range map[string]string{
		"empty":           "",
		"malformed":       "not-a-token",
		"upper-case":      strings.ToUpper(plain),
		"unknown id":      unknown,
		"wrong secret":    wrongSecret,
		"swapped secret":  swapped,
		"trailing space":  plain + " ",
		"bearer included": "Bearer " + plain,
	} {
		p, err := s.Authenticate(ctx, tc)
		if !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%s: Authenticate(%q) = %+v, %v; want ErrUnauthenticated", name, tc, p, err)
		}
		if p.TokenID != "" || len(p.Scopes) != 0 {
			t.Errorf("%s: a rejected token returned principal %+v", name, p)
		}
	}
	if _, err := s.Authenticate(ctx, plain); err != nil {
		t.Fatalf("the real token stopped working: %v", err)
	}
}

func TestRevokedTokenIsUnauthenticated(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	mustCreate(t, s, "admin", ScopeAdmin)
	tok, plain := mustCreate(t, s, "shop", TeamScope("shop"))
	if _, err := s.Authenticate(ctx, plain); err != nil {
		t.Fatal(err)
	}
	if err := s.Revoke(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, plain); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("revoked token: %v, want ErrUnauthenticated", err)
	}
	if err := s.Revoke(ctx, tok.ID); !errors.Is(err, ErrTokenNotFound) {
		t.Fatalf("second revoke: %v, want ErrTokenNotFound", err)
	}
}

// allValues returns every value in the store, whatever its key.
func allValues(t *testing.T, st store.Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	var after string
	for {
		page, err := st.List(context.Background(), "", store.ListOptions{After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Entries {
			out[e.Key] = string(e.Value)
		}
		if page.Next == "" {
			return out
		}
		after = page.Next
	}
}

func TestStoredRecordNeverHoldsThePlaintext(t *testing.T) {
	s, st := newTestService(t)
	ctx := context.Background()
	dir := t.TempDir()
	boot, err := s.Bootstrap(ctx, filepath.Join(dir, "admin.token"))
	if err != nil || boot == "" {
		t.Fatalf("Bootstrap = %q, %v", boot, err)
	}
	plains := []string{boot}
	for i, scopes := range [][]string{{ScopeAdmin}, {TeamScope("shop")}, {ScopeAgent, ScopeIngest}} {
		_, p := mustCreate(t, s, "t"+string(rune('a'+i)), scopes...)
		plains = append(plains, p)
	}
	values := allValues(t, st)
	if len(values) < len(plains) {
		t.Fatalf("store holds %d keys, want at least %d", len(values), len(plains))
	}
	for _, plain := range plains {
		secret := plain[len(tokenPrefix)+idLen+1:]
		for k, v := range values {
			if strings.Contains(v, plain) || strings.Contains(v, secret) || strings.Contains(k, secret) {
				t.Fatalf("store key %q holds the token %q or its secret: %s", k, plain, v)
			}
		}
		id, _ := parseToken(plain)
		raw, ok := values[tokenKeyPrefix+id]
		if !ok {
			t.Fatalf("no record at %s", tokenKeyPrefix+id)
		}
		var rec Token
		if err := json.Unmarshal([]byte(raw), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Hash != hashToken(plain) {
			t.Fatalf("stored hash %q, want sha256 of the token", rec.Hash)
		}
	}
}

func TestListNeverReturnsHashes(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	if got, err := s.List(ctx); err != nil || len(got) != 0 {
		t.Fatalf("empty List = %v, %v", got, err)
	}
	want := map[string]Token{}
	for i := range 7 {
		tok, _ := mustCreate(t, s, "tok"+string(rune('a'+i)), TeamScope("shop"))
		want[tok.ID] = tok
	}
	got, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("List returned %d tokens, want %d", len(got), len(want))
	}
	if !slices.IsSortedFunc(got, func(a, b Token) int { return strings.Compare(a.ID, b.ID) }) {
		t.Fatal("List is not in id order")
	}
	for _, tok := range got {
		if tok.Hash != "" {
			t.Fatalf("List returned hash %q for %s", tok.Hash, tok.ID)
		}
		w, ok := want[tok.ID]
		if !ok || w.Name != tok.Name || !slices.Equal(w.Scopes, tok.Scopes) || !w.CreatedAt.Equal(tok.CreatedAt) || tok.CreatedBy != "test" {
			t.Fatalf("listed %+v, created %+v", tok, w)
		}
		b, _ := json.Marshal(tok)
		if strings.Contains(string(b), "hash") {
			t.Fatalf("listed token encodes a hash field: %s", b)
		}
	}
}

func TestListPagesThroughManyTokens(t *testing.T) {
	s, _ := newTestService(t)
	const n = 1203 // more than two pages of 500
	for range n {
		mustCreate(t, s, "bulk", ScopeIngest)
	}
	got, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("List returned %d tokens, want %d", len(got), n)
	}
	ids := map[string]bool{}
	for _, tok := range got {
		if ids[tok.ID] {
			t.Fatalf("id %s listed twice", tok.ID)
		}
		ids[tok.ID] = true
	}
}

func TestRevokeUnknown(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	mustCreate(t, s, "admin", ScopeAdmin)
	for _, id := range []string{"0000000000000000", "", "nope", "../../bootstrap", "a\x00b"} {
		if err := s.Revoke(ctx, id); !errors.Is(err, ErrTokenNotFound) {
			t.Errorf("Revoke(%q) = %v, want ErrTokenNotFound", id, err)
		}
	}
}

func TestRevokeLastAdmin(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	first, firstPlain := mustCreate(t, s, "admin", ScopeAdmin)
	team, _ := mustCreate(t, s, "shop", TeamScope("shop"))

	if err := s.Revoke(ctx, first.ID); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("revoking the only admin: %v, want ErrLastAdmin", err)
	}
	if _, err := s.Authenticate(ctx, firstPlain); err != nil {
		t.Fatalf("refused revoke still removed the token: %v", err)
	}
	// Non-admin tokens can always go.
	if err := s.Revoke(ctx, team.ID); err != nil {
		t.Fatal(err)
	}

	second, secondPlain := mustCreate(t, s, "admin2", ScopeAdmin, ScopeAgent)
	if err := s.Revoke(ctx, first.ID); err != nil {
		t.Fatalf("revoking one of two admins: %v", err)
	}
	if _, err := s.Authenticate(ctx, firstPlain); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("revoked admin: %v", err)
	}
	if err := s.Revoke(ctx, second.ID); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("revoking the remaining admin: %v, want ErrLastAdmin", err)
	}
	if p, err := s.Authenticate(ctx, secondPlain); err != nil || !p.IsAdmin() {
		t.Fatalf("remaining admin: %+v, %v", p, err)
	}
}

func TestBootstrap(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "state", "nested", "admin.token")

	plain, err := s.Bootstrap(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := parseToken(plain); !ok {
		t.Fatalf("Bootstrap returned %q, not a token", plain)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != plain+"\n" {
		t.Fatalf("token file holds %q, want %q", b, plain+"\n")
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	p, err := s.Authenticate(ctx, plain)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "admin" || !slices.Equal(p.Scopes, []string{ScopeAdmin}) {
		t.Fatalf("bootstrap principal %+v", p)
	}
	toks, err := s.List(ctx)
	if err != nil || len(toks) != 1 || toks[0].CreatedBy != "bootstrap" {
		t.Fatalf("after bootstrap List = %+v, %v", toks, err)
	}

	// Second call: nothing new, file untouched.
	past := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(file, past, past); err != nil {
		t.Fatal(err)
	}
	again, err := s.Bootstrap(ctx, file)
	if err != nil || again != "" {
		t.Fatalf("second Bootstrap = %q, %v; want \"\", nil", again, err)
	}
	fi2, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if !fi2.ModTime().Equal(past) {
		t.Fatalf("second Bootstrap rewrote the token file (mtime %v, want %v)", fi2.ModTime(), past)
	}
	if b2, _ := os.ReadFile(file); string(b2) != string(b) {
		t.Fatalf("token file changed to %q", b2)
	}
	// Even with a different file, and even after the file is gone.
	other := filepath.Join(t.TempDir(), "other.token")
	if again, err := s.Bootstrap(ctx, other); err != nil || again != "" {
		t.Fatalf("third Bootstrap = %q, %v", again, err)
	}
	if _, err := os.Stat(other); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("later Bootstrap wrote %s: %v", other, err)
	}
	if toks, _ := s.List(ctx); len(toks) != 1 {
		t.Fatalf("%d tokens after repeated bootstraps, want 1", len(toks))
	}
}

func TestBootstrapWithoutFile(t *testing.T) {
	s, _ := newTestService(t)
	plain, err := s.Bootstrap(context.Background(), "")
	if err != nil || plain == "" {
		t.Fatalf("Bootstrap(\"\") = %q, %v", plain, err)
	}
}

func TestBootstrapTightensExistingFileMode(t *testing.T) {
	s, _ := newTestService(t)
	file := filepath.Join(t.TempDir(), "admin.token")
	if err := os.WriteFile(file, []byte("old contents that are longer than a token, to check truncation ...........................\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	plain, err := s.Bootstrap(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	if b, _ := os.ReadFile(file); string(b) != plain+"\n" {
		t.Fatalf("file holds %q", b)
	}
}

func TestConcurrentBootstrap(t *testing.T) {
	for _, engine := range []string{"buntdb", "redis"} {
		t.Run(engine, func(t *testing.T) {
			var st store.Store
			if engine == "buntdb" {
				st = openBunt(t)
			} else {
				st = openRedis(t)
			}
			testConcurrentBootstrap(t, st)
		})
	}
}

func testConcurrentBootstrap(t *testing.T, st store.Store) {
	const n = 16
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "admin.token")
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		toks  = make([]string, n)
		errs  = make([]error, n)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := NewService(st) // one service per "node", one shared store
			<-start
			toks[i], errs[i] = s.Bootstrap(ctx, file)
		}()
	}
	close(start)
	wg.Wait()

	var winner string
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Bootstrap %d: %v", i, errs[i])
		}
		if toks[i] == "" {
			continue
		}
		if winner != "" {
			t.Fatalf("two Bootstraps returned tokens: %q and %q", winner, toks[i])
		}
		winner = toks[i]
	}
	if winner == "" {
		t.Fatal("no Bootstrap returned a token")
	}
	s := NewService(st)
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
	if admins != 1 || len(all) != 1 {
		t.Fatalf("%d tokens, %d admins after concurrent bootstrap; want exactly one admin token: %+v", len(all), admins, all)
	}
	p, err := s.Authenticate(ctx, winner)
	if err != nil || !p.IsAdmin() || p.TokenID != all[0].ID {
		t.Fatalf("winner token: %+v, %v (stored %+v)", p, err, all[0])
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != winner+"\n" {
		t.Fatalf("token file holds %q, %v; want the winner's token", b, err)
	}
	if again, err := s.Bootstrap(ctx, file); err != nil || again != "" {
		t.Fatalf("Bootstrap after the race = %q, %v", again, err)
	}
}

func TestStoreFailureIsNotUnauthenticated(t *testing.T) {
	s, st := newTestService(t)
	ctx := context.Background()
	_, plain := mustCreate(t, s, "admin", ScopeAdmin)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := s.Authenticate(ctx, plain)
	if err == nil {
		t.Fatal("Authenticate on a closed store succeeded")
	}
	if errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("store failure reported as ErrUnauthenticated: %v", err)
	}
	if !errors.Is(err, store.ErrClosed) {
		t.Fatalf("store failure lost its cause: %v", err)
	}
	// A malformed token is rejected without asking the store.
	if _, err := s.Authenticate(ctx, "garbage"); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("malformed token on closed store: %v", err)
	}
	// The other operations report the failure too, not a domain error.
	if _, err := s.List(ctx); err == nil {
		t.Fatal("List on a closed store succeeded")
	}
	if err := s.Revoke(ctx, "0123456789abcdef"); err == nil || errors.Is(err, ErrTokenNotFound) {
		t.Fatalf("Revoke on a closed store = %v", err)
	}
	if _, _, err := s.Create(ctx, CreateRequest{Name: "x", Scopes: []string{ScopeAdmin}}); err == nil {
		t.Fatal("Create on a closed store succeeded")
	}
	if tok, err := s.Bootstrap(ctx, ""); err == nil || tok != "" {
		t.Fatalf("Bootstrap on a closed store = %q, %v", tok, err)
	}
}

func TestCanceledContextIsNotUnauthenticated(t *testing.T) {
	s, _ := newTestService(t)
	_, plain := mustCreate(t, s, "admin", ScopeAdmin)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Authenticate(ctx, plain); err == nil || errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("Authenticate with a canceled context = %v; want a non-auth error", err)
	}
}

func TestCorruptRecordIsNotUnauthenticated(t *testing.T) {
	s, st := newTestService(t)
	ctx := context.Background()
	tok, plain := mustCreate(t, s, "admin", ScopeAdmin)
	if _, err := st.Put(ctx, tokenKeyPrefix+tok.ID, []byte("{not json"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, plain); err == nil || errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("corrupt record: %v", err)
	}
	// A record without a hash never authenticates anything.
	if _, err := st.Put(ctx, tokenKeyPrefix+tok.ID, []byte(`{"id":"`+tok.ID+`","name":"x","scopes":["admin"]}`), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, plain); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("record without hash: %v", err)
	}
}

func openRedis(t testing.TB) store.Store {
	t.Helper()
	r := testenv.StartRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := redisstore.Open(ctx, redisstore.Options{Addr: r.Addr, Namespace: "authtest"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// TestServiceOnRedis runs the token life cycle against the shared engine.
func TestServiceOnRedis(t *testing.T) {
	st := openRedis(t)
	s := NewService(st)
	ctx := context.Background()

	boot, err := s.Bootstrap(ctx, filepath.Join(t.TempDir(), "admin.token"))
	if err != nil || boot == "" {
		t.Fatalf("Bootstrap = %q, %v", boot, err)
	}
	admin, err := s.Authenticate(ctx, boot)
	if err != nil || !admin.IsAdmin() {
		t.Fatalf("bootstrap token: %+v, %v", admin, err)
	}
	tok, plain := mustCreate(t, s, "shop", TeamScope("shop"))
	if p, err := s.Authenticate(ctx, plain); err != nil || !p.Allows(TeamScope("shop")) || p.IsAdmin() {
		t.Fatalf("team token: %+v, %v", p, err)
	}
	// A second service (another node) sees the same tokens and the bootstrap marker.
	s2 := NewService(st)
	if again, err := s2.Bootstrap(ctx, ""); err != nil || again != "" {
		t.Fatalf("second node Bootstrap = %q, %v", again, err)
	}
	if _, err := s2.Authenticate(ctx, plain); err != nil {
		t.Fatal(err)
	}
	toks, err := s.List(ctx)
	if err != nil || len(toks) != 2 {
		t.Fatalf("List = %+v, %v", toks, err)
	}
	for _, tk := range toks {
		if tk.Hash != "" {
			t.Fatalf("List returned a hash: %+v", tk)
		}
	}
	if err := s.Revoke(ctx, admin.TokenID); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("revoke last admin: %v", err)
	}
	if err := s.Revoke(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Authenticate(ctx, plain); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("revoked token on the other node: %v", err)
	}
	if err := s.Revoke(ctx, tok.ID); !errors.Is(err, ErrTokenNotFound) {
		t.Fatalf("revoke twice: %v", err)
	}
	if _, err := s.Authenticate(ctx, tokenPrefix+"ffffffffffffffff_"+validSecret); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("unknown id on redis: %v", err)
	}
}
