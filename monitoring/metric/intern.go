package metric

// Fields whose strings a decoder interns.
const (
	fieldEndpoint = iota
	fieldMetric
	fieldTags
	internedFields
)

// recentSize is how many strings of a field a decoder remembers (a power of two).
const recentSize = 32

// recentStrings are strings of one field seen in a push, in a small
// direct-mapped table: an agent repeats its endpoint in every item and
// cycles through a few metrics and tag sets, so most items allocate none.
type recentStrings [recentSize]string

// intern returns the remembered string equal to b, else b as a new
// string that takes its slot. The slot comes from the length and the last
// bytes, where the strings of a push differ ("host-12", "k=3").
func (r *recentStrings) intern(b []byte) string {
	h := len(b)
	if n := len(b); n > 0 {
		h = h*31 + int(b[n-1])*7 + int(b[n/2])*3
		if n > 1 {
			h += int(b[n-2]) * 131
		}
	}
	slot := &r[h&(recentSize-1)]
	if *slot == string(b) {
		return *slot
	}
	s := string(b)
	*slot = s
	return s
}
