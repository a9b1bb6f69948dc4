package metric

import (
	"slices"
	"strings"
	"unsafe"
)

// Point is a validated point of one series.
type Point struct {
	Endpoint string `json:"endpoint"`
	Metric   string `json:"metric"`
	// Tags are canonical: "k=v" pairs sorted by key, joined by ",".
	Tags        string `json:"tags"`
	CounterType string `json:"counterType"`
	Step        int64  `json:"step"`
	// Time is aligned to Step.
	Time  int64   `json:"timestamp"`
	Value float64 `json:"value"`
}

// PK is the series' identity, Falcon's PK(): endpoint/metric, plus
// /tags when there are tags.
func (p *Point) PK() string { return PK(p.Endpoint, p.Metric, p.Tags) }

// PK joins endpoint, metric and canonical tags as Falcon's PK() does.
func PK(endpoint, metric, canonicalTags string) string {
	if canonicalTags == "" {
		return endpoint + "/" + metric
	}
	return endpoint + "/" + metric + "/" + canonicalTags
}

// AppendPK appends PK(endpoint, metric, canonicalTags) to dst.
func AppendPK(dst []byte, endpoint, metric, canonicalTags string) []byte {
	dst = append(dst, endpoint...)
	dst = append(dst, '/')
	dst = append(dst, metric...)
	if canonicalTags != "" {
		dst = append(dst, '/')
		dst = append(dst, canonicalTags...)
	}
	return dst
}

// CanonicalTags turns a pushed tag string into Falcon's canonical form, as
// DictedTagstring then SortedTags do: spaces removed, split at ",", a pair
// without "=" ignored, the value is everything after the first "=", a
// repeated key keeps its last value, pairs sorted by key.
func CanonicalTags(s string) string {
	if s == "" {
		return ""
	}
	if strings.IndexByte(s, ' ') >= 0 {
		s = strings.ReplaceAll(s, " ", "")
	}
	// Fast path: already canonical (sorted, unique keys, every pair has "=").
	if isCanonical(s) {
		return s
	}
	var stack [16]tagPair
	pairs := stack[:0]
	for tag := range strings.SplitSeq(s, ",") {
		i := strings.IndexByte(tag, '=')
		if i < 0 {
			continue
		}
		k, v := tag[:i], tag[i+1:]
		if j := slices.IndexFunc(pairs, func(p tagPair) bool { return p.k == k }); j >= 0 {
			pairs[j].v = v
			continue
		}
		pairs = append(pairs, tagPair{k, v})
	}
	slices.SortFunc(pairs, func(a, b tagPair) int { return strings.Compare(a.k, b.k) })
	n := max(len(pairs)-1, 0)
	for _, p := range pairs {
		n += len(p.k) + 1 + len(p.v)
	}
	buf := make([]byte, 0, n)
	for i, p := range pairs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, p.k...)
		buf = append(buf, '=')
		buf = append(buf, p.v...)
	}
	return unsafe.String(unsafe.SliceData(buf), len(buf))
}

// tagPair is one k=v of a tag string.
type tagPair struct{ k, v string }

// isCanonical reports whether s (without spaces) is already in canonical
// form: every pair has "=" and keys strictly increase.
func isCanonical(s string) bool {
	prev, first := "", true
	for len(s) > 0 {
		tag := s
		if i := strings.IndexByte(s, ','); i >= 0 {
			tag, s = s[:i], s[i+1:]
			if s == "" {
				return false // trailing comma: an empty pair to drop
			}
		} else {
			s = ""
		}
		i := strings.IndexByte(tag, '=')
		if i < 0 {
			return false
		}
		k := tag[:i]
		if !first && k <= prev {
			return false
		}
		prev, first = k, false
	}
	return true
}

// ParseTags splits canonical tags into a map (nil for none).
func ParseTags(canonical string) map[string]string {
	if canonical == "" {
		return nil
	}
	m := map[string]string{}
	for tag := range strings.SplitSeq(canonical, ",") {
		if k, v, ok := strings.Cut(tag, "="); ok {
			m[k] = v
		}
	}
	return m
}
