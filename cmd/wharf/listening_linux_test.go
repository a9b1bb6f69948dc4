package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// listensHere reports whether this process holds a listening TCP socket
// on addr's port. Dialling the address would not tell: once the port is
// free, another process (a parallel test binary) may bind it at once.
func listensHere(t *testing.T, addr string) bool {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			// sl local_address rem_address st ... inode
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 || fs[3] != "0A" { // 0A: LISTEN
				continue
			}
			if i := strings.LastIndexByte(fs[1], ':'); i >= 0 {
				if v, err := strconv.ParseInt(fs[1][i+1:], 16, 32); err == nil && int(v) == port {
					inodes[fs[9]] = true
				}
			}
		}
		fh.Close()
	}
	if len(inodes) == 0 {
		return false
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err != nil {
			continue
		}
		for ino := range inodes {
			if link == fmt.Sprintf("socket:[%s]", ino) {
				return true
			}
		}
	}
	return false
}
