package seriesstore_test

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/monitoring/rrd"
	"github.com/wharfhq/wharf/monitoring/seriesstore"
)

const childEnv = "WHARF_SERIESSTORE_CRASH_CHILD_DIR"

// TestMain turns the test binary into the crash child when childEnv is set.
func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		os.Exit(crashChild(dir))
	}
	os.Exit(m.Run())
}

// crashBatch is batch i of the crash schedule (the same in both processes).
func crashBatch(i int) []seriesstore.Point {
	r := rand.New(rand.NewPCG(uint64(i), 99))
	keys := keysN(6)
	types := []string{"GAUGE", "COUNTER", "DERIVE"}
	pts := make([]seriesstore.Point, 50)
	for j := range pts {
		k := r.IntN(len(keys))
		pts[j] = seriesstore.Point{
			Key: keys[k], Step: 60, CounterType: types[k%3],
			Time:  1_750_000_000 + int64(i)*900 + int64(j)*17 - int64(r.IntN(60)),
			Value: float64(i*1000 + r.IntN(5000)),
		}
	}
	return pts
}

// crashChild updates batch after batch, printing "ack N" after each one
// the store acknowledged, until it is killed; meanwhile another goroutine
// checkpoints over and over (its fsyncs run beside the updates), so the
// kill lands in every phase of a checkpoint too.
func crashChild(dir string) int {
	st, err := seriesstore.Open(seriesstore.Options{Dir: dir, Logger: quietLogger(), MaxWALBytes: 64 << 10, SegmentBytes: 4 * 73728})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	go func() {
		for st.Checkpoint() == nil {
		}
	}()
	for i := 0; ; i++ {
		if _, err := st.Update(crashBatch(i)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("ack %d\n", i)
	}
}

// sameAs is m.compare without failing: whether store and model agree.
func (m *model) sameAs(st *seriesstore.Store) bool {
	for key, s := range m.series {
		for _, cf := range []rrd.CF{rrd.Average, rrd.Max, rrd.Min} {
			for _, a := range s.Spec.Archives {
				res := a.PDPs * s.Spec.Step
				q := rrd.Query{CF: cf, Start: max(0, s.State.LastUp-a.Rows*res), End: s.State.LastUp, Step: res}
				_, want, _ := s.Fetch(q, nil)
				got, err := st.Fetch(key, q)
				if err != nil || got.LastUp != s.State.LastUp || len(got.Values) != len(want) {
					return false
				}
				for i := range want {
					if math.Float64bits(want[i]) != math.Float64bits(got.Values[i]) && !(math.IsNaN(want[i]) && math.IsNaN(got.Values[i])) {
						return false
					}
				}
			}
		}
	}
	return st.Len() == len(m.series)
}

// TestKilledProcessLosesNothingAcknowledged SIGKILLs a process in the
// middle of updates and checkpoints; the reopened store holds every
// acknowledged batch and, of the batch in flight, a prefix of its points.
func TestKilledProcessLosesNothingAcknowledged(t *testing.T) {
	for round, killAfter := range []int{5, 23, 61} {
		dir := t.TempDir()
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		acked := -1
		for sc.Scan() {
			n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "ack "))
			if err != nil {
				t.Fatalf("child said %q", sc.Text())
			}
			acked = n
			if n == killAfter {
				_ = cmd.Process.Kill() // SIGKILL
				break
			}
		}
		for sc.Scan() { // acks already in the pipe
			acked, _ = strconv.Atoi(strings.TrimPrefix(sc.Text(), "ack "))
		}
		_ = cmd.Wait()
		if acked < killAfter {
			t.Fatalf("round %d: child stopped at ack %d: %s", round, acked, stderr.String())
		}
		st := open(t, dir)
		m := newModel()
		for i := 0; i <= acked; i++ {
			m.apply(t, crashBatch(i))
		}
		next := crashBatch(acked + 1)
		found := -1
		for k := 0; k <= len(next); k++ {
			if k > 0 {
				m.apply(t, next[k-1:k])
			}
			if m.sameAs(st) {
				found = k
				break
			}
		}
		st.Abandon()
		if found < 0 {
			t.Fatalf("round %d: store after SIGKILL at ack %d matches no prefix of the batch in flight", round, acked)
		}
		t.Logf("round %d: killed after ack %d; recovered every acknowledged batch and %d points of the next", round, acked, found)
	}
}
