package rrd_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/rrd"
)

// rrdPipe drives one `rrdtool -` process: one command per line, answered by
// its output and a closing "OK ..." or "ERROR: ..." line.
type rrdPipe struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func startRRDTool(t *testing.T) *rrdPipe {
	t.Helper()
	cmd := exec.Command(testenv.RRDTool(t), "-")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start rrdtool: %v", err)
	}
	p := &rrdPipe{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<16)}
	t.Cleanup(func() {
		_ = in.Close()
		_ = cmd.Wait()
	})
	return p
}

// do runs one command and returns its output lines, or the error text.
func (p *rrdPipe) do(t *testing.T, line string) (out []string, errText string) {
	t.Helper()
	if _, err := io.WriteString(p.in, line+"\n"); err != nil {
		t.Fatalf("cannot write to rrdtool: %v", err)
	}
	for {
		l, err := p.out.ReadString('\n')
		if err != nil {
			t.Fatalf("cannot read from rrdtool after %q: %v", line, err)
		}
		l = strings.TrimRight(l, "\n")
		switch {
		case strings.HasPrefix(l, "OK "):
			return out, ""
		case strings.HasPrefix(l, "ERROR:"):
			return out, l
		}
		out = append(out, l)
	}
}

type row struct {
	t int64
	v float64
}

// fetch runs `rrdtool fetch` and parses its rows, or returns its error.
func (p *rrdPipe) fetch(t *testing.T, file string, q rrd.Query) ([]row, string) {
	t.Helper()
	cmd := fmt.Sprintf("fetch %s %s -s %d -e %d", file, q.CF, q.Start, q.End)
	if q.Step != 0 {
		cmd += fmt.Sprintf(" -r %d", q.Step)
	}
	lines, e := p.do(t, cmd)
	if e != "" {
		return nil, e
	}
	var rows []row
	for _, l := range lines {
		ts, val, ok := strings.Cut(l, ": ")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(ts), 10, 64)
		if err != nil {
			t.Fatalf("%s: cannot parse line %q", cmd, l)
		}
		v := math.NaN()
		if !strings.Contains(val, "nan") {
			if v, err = strconv.ParseFloat(strings.TrimSpace(val), 64); err != nil {
				t.Fatalf("%s: cannot parse value in %q", cmd, l)
			}
		}
		rows = append(rows, row{n, v})
	}
	return rows, ""
}

// createArgs is the `rrdtool create` line for a spec.
func createArgs(file string, spec *rrd.Spec, start int64) string {
	bound := func(v float64) string {
		if math.IsNaN(v) {
			return "U"
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "create %s --start %d --step %d DS:metric:%s:%d:%s:%s", file, start, spec.Step,
		spec.Type, spec.Heartbeat, bound(spec.Min), bound(spec.Max))
	for _, a := range spec.Archives {
		fmt.Fprintf(&b, " RRA:%s:%g:%d:%d", a.CF, a.XFF, a.PDPs, a.Rows)
	}
	return b.String()
}

// sameValue compares within the 10 significant digits rrdtool prints.
func sameValue(want, got float64) bool {
	if math.IsNaN(want) || math.IsNaN(got) {
		return math.IsNaN(want) && math.IsNaN(got)
	}
	if want == got {
		return true
	}
	return math.Abs(want-got) <= 1e-9*math.Max(math.Abs(want), math.Abs(got))
}

// sideBySide counts what the comparison covered.
type sideBySide struct {
	schedules, updates, refused, skipped, fetches, values, known int
}

// TestSideBySideWithRRDTool feeds the same generated schedules to rrdtool
// and to the model and compares `rrdtool fetch` with Fetch for every
// consolidation function and resolution, at several moments of each
// schedule.
func TestSideBySideWithRRDTool(t *testing.T) {
	p := startRRDTool(t)
	dir := t.TempDir()
	var sum sideBySide
	seeds := 20
	if testing.Short() {
		seeds = 2
	}
	for _, typ := range []string{"GAUGE", "COUNTER", "DERIVE"} {
		for _, step := range []int64{30, 60} {
			for seed := range seeds {
				name := fmt.Sprintf("%s/step%d/seed%d", typ, step, seed)
				file := filepath.Join(dir, strings.ReplaceAll(name, "/", "_")+".rrd")
				r := rand.New(rand.NewPCG(uint64(seed), uint64(step)*7+uint64(len(typ))))
				compareSchedule(t, p, name, file, typ, step, r, &sum)
			}
		}
	}
	// Beyond Falcon's layout: random specs exercise xff > 0, LAST, true
	// COUNTER wraps, rate bounds and other heartbeats and steps.
	for seed := range seeds {
		r := rand.New(rand.NewPCG(uint64(seed), 4242))
		spec := randomSpec(r)
		name := fmt.Sprintf("custom/%s/step%d/seed%d", spec.Type, spec.Step, seed)
		file := filepath.Join(dir, fmt.Sprintf("custom%d.rrd", seed))
		compareScheduleSpec(t, p, name, file, spec, r, &sum)
	}
	t.Logf("compared %d schedules: %d updates (%d refused as stale, %d skipped as out of range), %d fetches, %d values (%d known)",
		sum.schedules, sum.updates, sum.refused, sum.skipped, sum.fetches, sum.values, sum.known)
}

func compareSchedule(t *testing.T, p *rrdPipe, name, file, typ string, step int64, r *rand.Rand, sum *sideBySide) {
	spec, err := rrd.FalconSpec(step, typ)
	if err != nil {
		t.Fatal(err)
	}
	compareScheduleSpec(t, p, name, file, spec, r, sum)
}

// randomSpec draws a spec unlike Falcon's.
func randomSpec(r *rand.Rand) rrd.Spec {
	step := []int64{10, 30, 60, 300}[r.IntN(4)]
	s := rrd.Spec{
		Step:      step,
		Heartbeat: step/2 + r.Int64N(5*step),
		Type:      []rrd.DSType{rrd.Gauge, rrd.Derive, rrd.Counter}[r.IntN(3)],
		Min:       math.NaN(),
		Max:       math.NaN(),
	}
	if r.IntN(2) == 0 {
		s.Min = float64(r.IntN(20)) - 10
	}
	if r.IntN(2) == 0 {
		s.Max = 1000 + float64(r.IntN(100000))
	}
	for range 2 + r.IntN(8) {
		s.Archives = append(s.Archives, rrd.Archive{
			CF:   []rrd.CF{rrd.Average, rrd.Max, rrd.Min, rrd.Last}[r.IntN(4)],
			PDPs: []int64{1, 2, 3, 7, 12, 60}[r.IntN(6)],
			Rows: 5 + r.Int64N(300),
			XFF:  []float64{0, 0.25, 0.5, 0.9}[r.IntN(4)],
		})
	}
	return s
}

func compareScheduleSpec(t *testing.T, p *rrdPipe, name, file string, spec rrd.Spec, r *rand.Rand, sum *sideBySide) {
	g := newGenerator(r, spec.Type.String(), spec.Step)
	s, err := rrd.NewSeries(spec, g.start)
	if err != nil {
		t.Fatal(err)
	}
	if _, e := p.do(t, createArgs(file, &spec, g.start)); e != "" {
		t.Fatalf("%s: create: %s", name, e)
	}
	sum.schedules++
	n := 1500 + r.IntN(2500)
	checkAt := map[int]bool{n / 5: true, n / 2: true, n - 1: true}
	var hist []string
	for i := range n {
		ts, v := g.next()
		text := strconv.FormatFloat(v, 'g', -1, 64)
		if spec.Type == rrd.Gauge && !math.IsInf(v, 0) {
			v = parseLikeRRDTool(text)
		}
		hist = append(hist, fmt.Sprintf("%d:%s", ts, text))
		err := s.Update(ts, v)
		switch err {
		case rrd.ErrSkipped:
			sum.skipped++
		case nil, rrd.ErrStale:
			val := text
			if spec.Type != rrd.Gauge {
				val = strconv.FormatInt(rrd.FalconInt(v), 10)
			}
			_, e := p.do(t, fmt.Sprintf("update %s %d:%s", file, ts, val))
			if (e != "") != (err == rrd.ErrStale) {
				t.Fatalf("%s: update %d at %d value %s: rrdtool says %q, model says %v", name, i, ts, val, e, err)
			}
			if err == nil {
				sum.updates++
			} else {
				sum.refused++
			}
		default:
			t.Fatalf("%s: update: %v", name, err)
		}
		if checkAt[i] {
			compareFetches(t, p, name, file, s, r, sum, hist)
		}
	}
}

// compareFetches asks both for every function at every resolution, over
// the whole archive, plus random windows and wished steps.
func compareFetches(t *testing.T, p *rrdPipe, name, file string, s *rrd.Series, r *rand.Rand, sum *sideBySide, hist []string) {
	last := s.State.LastUp
	var queries []rrd.Query
	cfs := []rrd.CF{rrd.Average, rrd.Max, rrd.Min}
	for _, a := range s.Spec.Archives {
		if a.CF == rrd.Last && len(cfs) == 3 {
			cfs = append(cfs, rrd.Last)
		}
	}
	for _, cf := range cfs {
		for _, a := range s.Spec.Archives {
			res := a.PDPs * s.Spec.Step
			queries = append(queries,
				rrd.Query{CF: cf, Start: last - a.Rows*res, End: last, Step: res},
				rrd.Query{CF: cf, Start: last - a.Rows*res + r.Int64N(res), End: last + r.Int64N(3*res), Step: res})
		}
		for range 6 {
			// Back as far as the coarsest archive reaches, at most ~1,500
			// rows at the finest step (rrdtool prints every row).
			reach := int64(0)
			for _, a := range s.Spec.Archives {
				reach = max(reach, a.PDPs*a.Rows*s.Spec.Step)
			}
			start := last - r.Int64N(reach+10*s.Spec.Step)
			end := start + min(r.Int64N(last-start+5*s.Spec.Step), 1500*s.Spec.Step)
			wish := []int64{0, 1, s.Spec.Step, r.Int64N(40000), 300 * s.Spec.Step}[r.IntN(5)]
			queries = append(queries, rrd.Query{CF: cf, Start: start, End: end, Step: wish})
		}
	}
	var got []float64
	for _, q := range queries {
		want, rerr := p.fetch(t, file, q)
		plan, vals, err := s.Fetch(q, got[:0])
		got = vals
		if rerr != "" || err != nil {
			if rerr == "" || !errors.Is(err, rrd.ErrNoArchive) {
				t.Fatalf("%s: fetch %+v: rrdtool says %q, model says %v", name, q, rerr, err)
			}
			sum.fetches++
			continue
		}
		sum.fetches++
		if len(want) != len(vals) {
			t.Fatalf("%s: fetch %+v: rrdtool gives %d rows, model %d (plan %+v)", name, q, len(want), len(vals), plan)
		}
		for i, w := range want {
			ts := plan.Start + int64(i+1)*plan.Step
			if w.t != ts || !sameValue(w.v, vals[i]) {
				for _, h := range hist {
					at, _, _ := strings.Cut(h, ":")
					if n, _ := strconv.ParseInt(at, 10, 64); n > ts-3*plan.Step-s.Spec.Heartbeat && n < ts+plan.Step {
						t.Logf("update %s", h)
					}
				}
				t.Fatalf("%s: fetch %v %d..%d step %d, row %d: rrdtool %d: %v, model %d: %v", name, q.CF, q.Start, q.End, q.Step, i, w.t, w.v, ts, vals[i])
			}
			sum.values++
			if !math.IsNaN(w.v) {
				sum.known++
			}
		}
	}
}
