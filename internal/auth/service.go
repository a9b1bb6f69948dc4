package auth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/store"
)

// TokenKeyPrefix starts the store key of every token record (the token
// id follows): a watch of it sees every revoke, rewrite and expiry.
const TokenKeyPrefix = tokenKeyPrefix

const (
	tokenKeyPrefix = "auth/tokens/"
	bootstrapKey   = "auth/bootstrap"
)

var (
	// ErrUnauthenticated means the token is missing, malformed, unknown or revoked.
	ErrUnauthenticated = errors.New("invalid or revoked token")
	// ErrTokenNotFound is returned by Revoke for an unknown id.
	ErrTokenNotFound = errors.New("token not found")
	// ErrLastAdmin is returned when revoking the only admin token would lock everybody out.
	ErrLastAdmin = errors.New("refusing to revoke the last admin token")
)

// Token is a stored token's public record; the plaintext is never stored.
type Token struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by,omitempty"`
	Hash      string    `json:"hash,omitempty"`
}

// Principal returns who the token acts as.
func (t Token) Principal() Principal {
	return Principal{TokenID: t.ID, Name: t.Name, Scopes: slices.Clone(t.Scopes)}
}

// Service creates, lists, revokes and checks tokens in a store.
type Service struct {
	st  store.Store
	now func() time.Time
	// onRevoke are told the id of every token Revoke deleted (see NewCache).
	onRevoke []func(id string)
}

// OnRevoke has fn told the id of every token Revoke deletes, before
// Revoke returns; call it before s is in use.
func (s *Service) OnRevoke(fn func(id string)) { s.onRevoke = append(s.onRevoke, fn) }

// NewService returns a token service over st.
func NewService(st store.Store) *Service {
	return &Service{st: st, now: time.Now}
}

// CreateRequest describes a new token.
type CreateRequest struct {
	Name      string
	Scopes    []string
	CreatedBy string
}

// Validate checks name and scopes.
func (r CreateRequest) Validate() error {
	if !ValidName(r.Name) {
		return fmt.Errorf("invalid token name %q: use 1-63 of a-z, 0-9, '-', '_'", r.Name)
	}
	if len(r.Scopes) == 0 {
		return errors.New("a token needs at least one scope")
	}
	for _, s := range r.Scopes {
		if err := ValidateScope(s); err != nil {
			return err
		}
	}
	return nil
}

// Create stores a new token and returns its record and plaintext (shown once).
func (s *Service) Create(ctx context.Context, req CreateRequest) (Token, string, error) {
	if err := req.Validate(); err != nil {
		return Token{}, "", err
	}
	id, plain, err := newToken()
	if err != nil {
		return Token{}, "", err
	}
	scopes := slices.Clone(req.Scopes)
	slices.Sort(scopes)
	tok := Token{ID: id, Name: req.Name, Scopes: slices.Compact(scopes), CreatedAt: s.now().UTC().Truncate(time.Second),
		CreatedBy: req.CreatedBy, Hash: hashToken(plain)}
	b, err := json.Marshal(tok)
	if err != nil {
		return Token{}, "", fmt.Errorf("cannot encode token: %w", err)
	}
	if _, err := s.st.CompareAndSwap(ctx, tokenKeyPrefix+id, 0, b, store.PutOptions{}); err != nil {
		return Token{}, "", fmt.Errorf("cannot store token: %w", err)
	}
	tok.Hash = ""
	return tok, plain, nil
}

// List returns all tokens without their hashes, in id order.
func (s *Service) List(ctx context.Context) ([]Token, error) {
	var out []Token
	for e, err := range store.Entries(ctx, s.st, tokenKeyPrefix, store.ScanOptions{Limit: 500}) {
		if err != nil {
			return nil, fmt.Errorf("cannot list tokens: %w", err)
		}
		var t Token
		if err := json.Unmarshal(e.Value, &t); err != nil {
			return nil, fmt.Errorf("cannot decode token %s: %w", e.Key, err)
		}
		t.Hash = ""
		out = append(out, t)
	}
	return out, nil
}

// Exists reports whether the token with id exists (was not revoked).
func (s *Service) Exists(ctx context.Context, id string) (bool, error) {
	_, err := s.st.Get(ctx, tokenKeyPrefix+id)
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrInvalidKey):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("cannot read token: %w", err)
	}
	return true, nil
}

// Revoke deletes a token. Revoking the last admin token is refused.
func (s *Service) Revoke(ctx context.Context, id string) error {
	e, err := s.st.Get(ctx, tokenKeyPrefix+id)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalidKey) {
		return ErrTokenNotFound
	}
	if err != nil {
		return fmt.Errorf("cannot read token: %w", err)
	}
	var t Token
	if err := json.Unmarshal(e.Value, &t); err != nil {
		return fmt.Errorf("cannot decode token: %w", err)
	}
	admin := slices.Contains(t.Scopes, ScopeAdmin)
	if admin {
		admins, err := s.countAdmins(ctx)
		if err != nil {
			return err
		}
		if admins <= 1 {
			return ErrLastAdmin
		}
	}
	if _, err := s.st.CompareAndDelete(ctx, tokenKeyPrefix+id, e.Version); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ErrTokenNotFound
		}
		return fmt.Errorf("cannot delete token: %w", err)
	}
	for _, f := range s.onRevoke {
		f(id)
	}
	if !admin {
		return nil
	}
	// Concurrent revokes of different admin tokens can all pass the check
	// above. Count again after the delete: the last delete to happen sees no
	// admin left and puts its token back, so at least one admin always remains.
	admins, err := s.countAdmins(ctx)
	if err == nil && admins > 0 {
		return nil
	}
	if _, rerr := s.st.CompareAndSwap(ctx, tokenKeyPrefix+id, 0, e.Value, store.PutOptions{}); rerr != nil {
		return fmt.Errorf("cannot restore admin token %s after revoking it left no admin: %w", id, rerr)
	}
	if err != nil {
		return err
	}
	return ErrLastAdmin
}

// countAdmins returns how many stored tokens hold the admin scope.
func (s *Service) countAdmins(ctx context.Context) (int, error) {
	all, err := s.List(ctx)
	if err != nil {
		return 0, err
	}
	admins := 0
	for _, o := range all {
		if slices.Contains(o.Scopes, ScopeAdmin) {
			admins++
		}
	}
	return admins, nil
}

// Authenticate returns the principal of a plaintext token or ErrUnauthenticated.
// A store failure is returned as is, so callers answer 503 rather than 401.
func (s *Service) Authenticate(ctx context.Context, plain string) (Principal, error) {
	id, ok := parseToken(plain)
	if !ok {
		return Principal{}, ErrUnauthenticated
	}
	p, _, err := s.check(ctx, id, plain, nil)
	return p, err
}

// check is what Authenticate and Cache.Authenticate share: it reads the
// record of token id and compares its stored hash with the SHA-256 of the
// presented token plain (sum when the caller has it already, else
// computed only once the record was found). It also returns when the
// record expires (zero: never).
func (s *Service) check(ctx context.Context, id, plain string, sum *[sha256.Size]byte) (Principal, time.Time, error) {
	e, err := s.st.Get(ctx, tokenKeyPrefix+id)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, time.Time{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, time.Time{}, fmt.Errorf("cannot read token: %w", err)
	}
	var t Token
	if err := json.Unmarshal(e.Value, &t); err != nil {
		return Principal{}, time.Time{}, fmt.Errorf("cannot decode token: %w", err)
	}
	if sum == nil {
		h := tokenSum(plain)
		sum = &h
	}
	if !sumEqual(*sum, t.Hash) {
		return Principal{}, time.Time{}, ErrUnauthenticated
	}
	p := t.Principal()
	p.Expires = e.ExpiresAt
	return p, e.ExpiresAt, nil
}

// Bootstrap creates the first admin token once per store. On the first call it
// returns the plaintext and writes it to tokenFile with mode 0600; later calls
// return "" and create nothing, even from another node sharing the store.
func (s *Service) Bootstrap(ctx context.Context, tokenFile string) (string, error) {
	if _, err := s.st.Get(ctx, bootstrapKey); err == nil {
		return "", nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("cannot read bootstrap marker: %w", err)
	}
	tok, plain, err := s.Create(ctx, CreateRequest{Name: "admin", Scopes: []string{ScopeAdmin}, CreatedBy: "bootstrap"})
	if err != nil {
		return "", err
	}
	marker, _ := json.Marshal(map[string]any{"token_id": tok.ID, "at": tok.CreatedAt})
	if _, err := s.st.CompareAndSwap(ctx, bootstrapKey, 0, marker, store.PutOptions{}); err != nil {
		// Another node bootstrapped first (or the store failed): drop our token.
		_, _ = s.st.Delete(ctx, tokenKeyPrefix+tok.ID)
		if errors.Is(err, store.ErrConflict) {
			return "", nil
		}
		return "", fmt.Errorf("cannot write bootstrap marker: %w", err)
	}
	if tokenFile != "" {
		if err := writeSecret(tokenFile, plain+"\n"); err != nil {
			return "", err
		}
	}
	return plain, nil
}

// LocalToken returns the token kept in file if it still authenticates with
// scope, else creates one named name with that scope and writes it to file
// (mode 0600). serve uses it for its local agent, so restarts reuse one
// token instead of minting a new one each time.
func (s *Service) LocalToken(ctx context.Context, file, name, scope string) (string, error) {
	if b, err := os.ReadFile(file); err == nil {
		plain := strings.TrimSpace(string(b))
		if p, err := s.Authenticate(ctx, plain); err == nil && slices.Contains(p.Scopes, scope) {
			return plain, nil
		}
	}
	_, plain, err := s.Create(ctx, CreateRequest{Name: name, Scopes: []string{scope}, CreatedBy: "local"})
	if err != nil {
		return "", err
	}
	if err := writeSecret(file, plain+"\n"); err != nil {
		return "", err
	}
	return plain, nil
}

// writeSecret writes a file readable by its owner only.
func writeSecret(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("cannot create %s: %w", filepath.Dir(path), err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("cannot write token file %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("cannot chmod token file %s: %w", path, err)
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return fmt.Errorf("cannot write token file %s: %w", path, err)
	}
	return f.Close()
}
