package proxy

import (
	"syscall"
	"unsafe"
)

// idleSocketDead reports, without consuming or waiting, whether an idle
// upstream socket is of no further use: the peer closed it (FIN), reset it,
// or sent bytes nobody asked for.
func idleSocketDead(fd uintptr) bool {
	var b [1]byte
	for {
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return false // open, nothing pending
		}
		return true // reset, FIN (0 bytes), or bytes nobody asked for
	}
}

// clientSocketState looks at a client socket while its request waits for
// the upstream, without consuming or waiting: gone when the client closed
// (FIN) or reset the connection; otherwise wait says whether the next
// readiness event can tell more (false: stop watching).
func clientSocketState(fd uintptr) (gone, wait bool) {
	var b [1]byte
	for {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return false, true
		case err != nil:
			return true, false
		case n == 0:
			return true, false
		}
		// Bytes are pending (a pipelined request): the client may still
		// have closed its side after them.
		return peerHungUp(fd), true
	}
}

// pollFd is struct pollfd of poll(2).
type pollFd struct {
	fd      int32
	events  int16
	revents int16
}

const (
	pollErr   = 0x8
	pollHup   = 0x10
	pollRdHup = 0x2000
)

// peerHungUp reports whether the peer shut down its side of the socket (or
// the socket failed), whatever data is still unread.
func peerHungUp(fd uintptr) bool {
	p := pollFd{fd: int32(fd), events: pollRdHup}
	var ts syscall.Timespec // zero: do not wait
	_, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&p)), 1, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	return errno == 0 && p.revents&(pollRdHup|pollHup|pollErr) != 0
}
