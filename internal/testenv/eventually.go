package testenv

import (
	"testing"
	"time"
)

// Eventually calls cond every tick until it returns nil or the timeout passes,
// then fails the test with the last error. Use it instead of sleeps.
func Eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	tick := 10 * time.Millisecond
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v: %v", timeout, err)
		}
		time.Sleep(tick)
		if tick < 200*time.Millisecond {
			tick *= 2
		}
	}
}
