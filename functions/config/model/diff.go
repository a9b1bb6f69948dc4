package model

// Op is what happened to a key between two configurations.
type Op string

// The ops.
const (
	Added   Op = "added"
	Changed Op = "changed"
	Deleted Op = "deleted"
)

// Change is one key that differs between two configurations.
type Change struct {
	Op  Op     `json:"op"`
	Key string `json:"key"`
	Old string `json:"old,omitempty"`
	New string `json:"new,omitempty"`
}

// Diff lists the keys that differ from a to b, by key.
func Diff(a, b map[string]string) []Change {
	out := []Change{}
	for _, k := range SortedKeys(Overlay(a, b)) {
		av, inA := a[k]
		bv, inB := b[k]
		switch {
		case !inA:
			out = append(out, Change{Op: Added, Key: k, New: bv})
		case !inB:
			out = append(out, Change{Op: Deleted, Key: k, Old: av})
		case av != bv:
			out = append(out, Change{Op: Changed, Key: k, Old: av, New: bv})
		}
	}
	return out
}
