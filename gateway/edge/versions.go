package edge

import (
	"context"
	"errors"
	"fmt"

	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/store"
)

// ErrNoSuchVersion is returned by At and Rollback for a version the history
// does not hold.
var ErrNoSuchVersion = errors.New("no such edge config version")

// VersionConflict is returned by Apply and Rollback when the stored config
// is no longer at the version the caller's diff was made against.
type VersionConflict struct {
	Expected, Current int64
}

// Error implements error.
func (e *VersionConflict) Error() string {
	return fmt.Sprintf("the edge config is at version %d, not %d: it changed since the diff was made", e.Current, e.Expected)
}

// SeedResult is what a start did with the file's edge config.
type SeedResult struct {
	// Doc is the stored config the process serves.
	Doc Doc
	// Seeded is true when the store was empty and the file was written.
	Seeded bool
	// Diff is what applying the file would change (empty when it equals the
	// stored config, or when it was just seeded).
	Diff Diff
}

// Seed writes e (the file's and flags' edge config) as version 1 when the
// store holds no edge config, authored by source (e.g. "seed:/etc/wharf.yaml").
// Otherwise it writes nothing and reports how e differs from the stored
// config: a start never overwrites what is stored.
func (s *Store) Seed(ctx context.Context, e config.Edge, source string) (SeedResult, error) {
	if err := Validate(e); err != nil {
		return SeedResult{}, err
	}
	seeded := false
	d, err := s.update(ctx, source, "seed from config file", func(d *Doc) error {
		if d.Version > 0 {
			return errStored
		}
		d.Edge, seeded = clone(Doc{Edge: e}).Edge, true
		return nil
	})
	if errors.Is(err, errStored) {
		d, _, err = s.Get(ctx)
	}
	if err != nil {
		return SeedResult{}, err
	}
	res := SeedResult{Doc: d, Seeded: seeded}
	if !seeded {
		res.Diff = Compare(d.Edge, e)
	}
	return res, nil
}

var errStored = errors.New("edge config already stored")

// Apply replaces the whole edge config with e when the stored one is still
// at version ifVersion (0: none stored yet); otherwise it returns a
// *VersionConflict and writes nothing, so a change made meanwhile is never
// lost. e is validated as a whole.
func (s *Store) Apply(ctx context.Context, by, action string, e config.Edge, ifVersion int64) (Doc, error) {
	return s.update(ctx, by, action, func(d *Doc) error {
		if d.Version != ifVersion {
			return &VersionConflict{Expected: ifVersion, Current: d.Version}
		}
		d.Edge = clone(Doc{Edge: e}).Edge
		return nil
	})
}

// At returns the config as it was at version v, or ErrNoSuchVersion.
func (s *Store) At(ctx context.Context, v int64) (Doc, error) {
	cur, _, err := s.Get(ctx)
	if err != nil {
		return Doc{}, err
	}
	if v == cur.Version && v > 0 {
		return cur, nil
	}
	if v < 1 || v > cur.Version {
		return Doc{}, fmt.Errorf("%w: %d (the newest is %d)", ErrNoSuchVersion, v, cur.Version)
	}
	cctx, cancel := context.WithTimeout(ctx, s.opts.OpTimeout)
	defer cancel()
	ent, err := s.st.Get(cctx, s.versionKey(v))
	if errors.Is(err, store.ErrNotFound) {
		return Doc{}, fmt.Errorf("%w: %d is not kept", ErrNoSuchVersion, v)
	}
	if err != nil {
		return Doc{}, fmt.Errorf("cannot read edge config version %d: %w", v, err)
	}
	return decode(ent.Value)
}

// Rollback writes the config of version to as a new version, when the
// stored one is still at ifVersion (see Apply). History is not rewritten.
func (s *Store) Rollback(ctx context.Context, by string, to, ifVersion int64) (Doc, error) {
	old, err := s.At(ctx, to)
	if err != nil {
		return Doc{}, err
	}
	return s.Apply(ctx, by, fmt.Sprintf("rollback to version %d", to), old.Edge, ifVersion)
}

// ensureRecorded writes the kept version of d when it is missing (its
// writer failed after the compare-and-swap), so every version stays
// restorable. Writers racing on the same d write the same record.
func (s *Store) ensureRecorded(ctx context.Context, d Doc) {
	if d.Version < 1 {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, s.opts.OpTimeout)
	_, err := s.st.Get(cctx, s.versionKey(d.Version))
	cancel()
	if errors.Is(err, store.ErrNotFound) {
		s.record(ctx, d)
	}
}
