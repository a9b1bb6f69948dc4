package tenancy

import (
	"context"
	"errors"
	"fmt"

	"github.com/wharfhq/wharf/internal/store"
)

// OwnersPrefix starts the store keys that name each app's owning team
// (written by functions/artifacts on an app's first push).
const OwnersPrefix = "artifacts/owners/"

// OwnerKey is the store key of app's owning team.
func OwnerKey(app string) string { return OwnersPrefix + app }

// Owner returns the team that owns app, or "" when nobody claimed it.
func (h *Hosts) Owner(ctx context.Context, app string) (string, error) {
	cctx, cancel := h.ctx(ctx)
	defer cancel()
	e, err := h.st.Get(cctx, OwnerKey(app))
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("cannot read the owner of app %s: %w", app, err)
	}
	return string(e.Value), nil
}
