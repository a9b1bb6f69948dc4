package promexp

import (
	"bytes"
	"cmp"
	"io"
	"slices"
)

// Source writes samples in the Prometheus text format without metadata, as
// (*metrics.Set).WritePrometheus and metrics.WriteProcessMetrics do.
type Source func(w io.Writer)

// line is one sample line of the rendered sources.
type line struct {
	family     string // family name
	rank       int    // order of the family's first sample, the sort key
	start, end int    // the line in the buffer, with its line feed
	e          *entry // nil for a family the catalog does not know
}

// Write renders the sources and writes them to w grouped by family, each
// family once, preceded by its HELP and TYPE lines, in the order of their
// first samples (Wharf's set first, then the runtime's, each sorted).
// Metadata lines the sources wrote themselves are dropped. A family the
// catalog does not know is written as "untyped" with a help text saying so,
// so that a forgotten description shows on /metrics and in the tests rather
// than breaking a scrape.
func (c *Catalog) Write(w io.Writer, sources ...Source) error {
	sc, _ := c.bufs.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	defer c.bufs.Put(sc)
	buf := &sc.in
	buf.Reset()
	for _, src := range sources {
		src(buf)
		if n := buf.Len(); n > 0 && buf.Bytes()[n-1] != '\n' {
			buf.WriteByte('\n')
		}
	}
	data := buf.Bytes()
	lines := sc.lines[:0]
	if sc.rank == nil {
		sc.rank = map[string]int{}
	}
	clear(sc.rank)
	var prevName []byte
	var prev line
	for start := 0; start < len(data); {
		end := bytes.IndexByte(data[start:], '\n') + start + 1
		l := data[start:end]
		if len(bytes.TrimSpace(l)) == 0 || l[0] == '#' {
			start = end
			continue
		}
		name := l[:sampleNameEnd(l)]
		if !bytes.Equal(name, prevName) { // consecutive samples usually share a name
			prevName = name
			prev = line{e: c.lookup(name)}
			if prev.e != nil {
				prev.family = prev.e.f.Name
			} else {
				prev.family = string(name)
			}
			rank, ok := sc.rank[prev.family]
			if !ok {
				rank = len(sc.rank)
				sc.rank[prev.family] = rank
			}
			prev.rank = rank
		}
		lines = append(lines, line{family: prev.family, rank: prev.rank, e: prev.e, start: start, end: end})
		start = end
	}
	sc.lines = lines
	slices.SortStableFunc(lines, func(a, b line) int { return cmp.Compare(a.rank, b.rank) })
	out := sc.out[:0]
	for i, l := range lines {
		if i == 0 || lines[i-1].rank != l.rank {
			if l.e != nil {
				out = append(out, l.e.header...)
			} else {
				out = append(out, header(l.family, "untyped", "Undocumented metric: describe it in its package's MetricFamilies.")...)
			}
		}
		out = append(out, data[l.start:l.end]...)
	}
	sc.out = out
	_, err := w.Write(out)
	return err
}

// scratch is the reusable memory of one Write.
type scratch struct {
	in    bytes.Buffer
	out   []byte
	lines []line
	rank  map[string]int // family -> order of its first sample
}

// sampleNameEnd is where the metric name of a sample line ends.
func sampleNameEnd(l []byte) int {
	for i, b := range l {
		if b == '{' || b == ' ' || b == '\t' {
			return i
		}
	}
	return len(l)
}
