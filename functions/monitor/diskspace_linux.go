package monitor

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Space implements DiskSpace with statfs(2): the bytes available to an
// unprivileged writer, and the filesystem's size.
func (StatfsSpace) Space(dir string) (free, total uint64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, 0, fmt.Errorf("cannot statfs %s: %w", dir, err)
	}
	bs := uint64(st.Bsize)
	return st.Bavail * bs, st.Blocks * bs, nil
}
