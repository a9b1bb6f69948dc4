package supervise

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// Not parallel: it counts the goroutines of the whole test binary.
func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	running, err := Start(context.Background(), testSpec(t, "running", `echo up; exec sleep 30`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	crashing, err := Start(context.Background(), testSpec(t, "crashing", `sleep 300 & exit 1`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	stubborn := testSpec(t, "stubborn", `trap '' TERM; while :; do sleep 0.05; done`)
	stubborn.StopGrace = 100 * time.Millisecond
	scoped, err := Start(ctx, stubborn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, _ = RunHook(context.Background(), HookSpec{Name: "h", Command: "exec sleep 300", Timeout: 50 * time.Millisecond}, Options{})
	waitFor(t, 10*time.Second, "a restart", func() bool { return crashing.Status().Restarts >= 1 })

	if err := running.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := crashing.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-scoped.Done()

	var now int
	waitFor(t, 5*time.Second, "goroutines to settle", func() bool {
		now = runtime.NumGoroutine()
		return now <= before+1
	})
	t.Logf("goroutines: %d before, %d after", before, now)
}
