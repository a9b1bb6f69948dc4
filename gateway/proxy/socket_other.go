//go:build !linux

package proxy

// idleSocketDead cannot look at a socket on this platform: a pooled
// connection closed by the upstream is found out only by using it.
func idleSocketDead(uintptr) bool { return false }

// clientSocketState cannot look at a socket on this platform: a client that
// goes away is not noticed while its request waits.
func clientSocketState(uintptr) (gone, wait bool) { return false, false }
