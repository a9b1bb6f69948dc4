package testenv

import "testing"

const rrdtoolInstall = "apt-get install -y rrdtool (or: make deps)"

// RRDTool is the path of the reference rrdtool binary (Debian's rrdtool
// 1.7) that the round-robin series tests compare against.
func RRDTool(t testing.TB) string {
	t.Helper()
	return binary(t, "rrdtool", rrdtoolInstall)
}
