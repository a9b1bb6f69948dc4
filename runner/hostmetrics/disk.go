package hostmetrics

import (
	"fmt"
	"syscall"
)

// Disk is one file system's usage, in bytes.
type Disk struct {
	Total, Used, Free uint64
}

// StatDisk reads the usage of the file system holding path. Free is what
// an unprivileged user may still use, as df shows it.
func StatDisk(path string) (Disk, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return Disk{}, fmt.Errorf("cannot stat file system of %s: %w", path, err)
	}
	bs := uint64(st.Bsize)
	total := st.Blocks * bs
	return Disk{Total: total, Used: total - st.Bfree*bs, Free: st.Bavail * bs}, nil
}
