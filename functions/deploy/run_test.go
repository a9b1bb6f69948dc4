package deploy_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/internal/testenv"
)

// consumerHandlers counts go-nsq consumer handler goroutines.
func consumerHandlers() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "go-nsq.(*Consumer).handlerLoop")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// TestRunWithEndedContextLeavesNoConsumer: a deploy function stopped before
// its Run got going (a process whose start failed right after it) returns
// an error and leaves none of its consumer's goroutines behind.
func TestRunWithEndedContextLeavesNoConsumer(t *testing.T) {
	e := newEnv(t, envOptions{})
	fn := e.newFn(nil, metrics.NewSet())
	before := consumerHandlers()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := fn.Run(ctx); err == nil {
		t.Fatal("Run with an ended context must fail")
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := consumerHandlers(); n > before {
			return fmt.Errorf("%d consumer handler goroutines, %d before Run", n, before)
		}
		return nil
	})
}
