//go:build !linux

package monitor

import (
	"errors"
	"fmt"
)

// Space implements DiskSpace where statfs is not wired: unknown, so the
// guard lets every write through (and says so once).
func (StatfsSpace) Space(dir string) (free, total uint64, err error) {
	return 0, 0, fmt.Errorf("cannot measure free space of %s: %w", dir, errors.ErrUnsupported)
}
