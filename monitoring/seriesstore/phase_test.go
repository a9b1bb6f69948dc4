package seriesstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/seriesstore"
)

// TestCheckpointPhase: Run's first checkpoint comes after CheckpointPhase
// of the interval (here 1/100,000 of an hour, 36 ms), not after a whole
// one: it starts a new log segment and leaves no point waiting.
func TestCheckpointPhase(t *testing.T) {
	st, err := seriesstore.Open(seriesstore.Options{Dir: t.TempDir(), Logger: quietLogger(), Spec: smallSpec,
		CheckpointEvery: time.Hour, CheckpointPhase: 1e-5})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Update([]seriesstore.Point{{Key: "h/m", Step: 30, CounterType: "GAUGE", Time: 1_700_000_010, Value: 1}}); err != nil {
		t.Fatal(err)
	}
	before, _, _ := st.LogState()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	defer func() { cancel(); <-done }()
	testenv.Eventually(t, 10*time.Second, func() error {
		if path, _, _ := st.LogState(); path == before {
			return errors.New("no checkpoint yet: the log segment is still " + path)
		}
		return nil
	})
}
