package edge

import (
	"context"

	"github.com/wharfhq/wharf/internal/store/mirror"
)

// Watch calls apply with the current document and then with every new
// version, until ctx ends (it then returns nil). It follows the store with a
// mirror (list, then watch, starting over with backoff after a failure), so
// apply keeps the last good document while the store is unreachable. A
// version that does not decode is logged and skipped. apply is called from
// one goroutine at a time, and may see the same version twice after a
// reconnect.
func (s *Store) Watch(ctx context.Context, apply func(Doc)) error {
	m, err := mirror.New(s.st, mirror.Options{
		Prefix: s.opts.Key, OpTimeout: s.opts.OpTimeout, Logger: s.log,
		OnChange: func(entries map[string][]byte) {
			v, ok := entries[s.opts.Key]
			if !ok {
				return
			}
			d, err := decode(v)
			if err != nil {
				s.log.Error("skipping edge config version that does not decode", "err", err)
				return
			}
			apply(d)
		},
	})
	if err != nil {
		return err
	}
	return m.Run(ctx)
}
