package config

import "strings"

// publicIndex maps the folded name of every public namespace to the ones
// stored under it. Public names are claimed in the store in any case
// (claimPublic), so there is one per name — except for data from before
// that claim, where two apps may hold names that differ only in case.
type publicIndex map[string][]publicNS

// add records p (idempotent).
func (x publicIndex) add(p publicNS) {
	k := fold(p.name)
	for _, q := range x[k] {
		if q == p {
			return
		}
	}
	x[k] = append(x[k], p)
}

// remove forgets p.
func (x publicIndex) remove(p publicNS) {
	k := fold(p.name)
	l := x[k]
	for i, q := range l {
		if q == p {
			l = append(l[:i:i], l[i+1:]...)
			break
		}
	}
	if len(l) == 0 {
		delete(x, k)
	} else {
		x[k] = l
	}
}

// has reports whether p is recorded.
func (x publicIndex) has(p publicNS) bool {
	for _, q := range x[fold(p.name)] {
		if q == p {
			return true
		}
	}
	return false
}

// pick is the public namespace name names: the one spelled exactly so,
// else the only one of that name in any case. ambiguous reports several
// that differ from name and from each other only in case: the caller
// must refuse rather than pick another app's.
func (x publicIndex) pick(name string) (p publicNS, ok, ambiguous bool) {
	l := x[fold(name)]
	for _, q := range l {
		if q.name == name {
			return q, true, false
		}
	}
	switch len(l) {
	case 0:
		return publicNS{}, false, false
	case 1:
		return l[0], true, false
	}
	return publicNS{}, false, true
}

// spellings lists the names recorded under name's folded form.
func (x publicIndex) spellings(name string) string {
	var s []string
	for _, q := range x[fold(name)] {
		s = append(s, q.name)
	}
	return strings.Join(s, ", ")
}
