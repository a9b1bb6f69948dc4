package engine_test

import (
	"math/rand/v2"
)

// condGen generates targeting conditions and attributes from small pools,
// so that values collide often and conditions pass as often as they fail.
type condGen struct {
	r      *rand.Rand
	groups map[string][]any
}

func newCondGen(r *rand.Rand) *condGen {
	return &condGen{r: r, groups: map[string][]any{
		"g1": {"a", 1.0, "x"},
		"g2": {2.0, "B", true},
	}}
}

var (
	genStrings = []any{"a", "b", "B", "x", "", "10", "9", " 5 ", "0x1f", "1e3", "1.5", "true", "null",
		"é", "É", "中", "😀", "\ue000", "abc", "1.2.3", "v1.2.3-beta.1+b", "1.10.0", "2.0", "NaN", "Infinity", "1,2"}
	genNumbers = []any{0.0, 1.0, 2.0, -1.0, 9.0, 10.0, 1.5, 1e21, 1e-7, 31.0, 1000.0, 0.1}
	genPaths   = []string{"a", "b", "c", "tags", "tags.0", "tags.1", "tags.length", "nested.x", "nested.y.z", "missing", "v"}
	genOps     = []string{"$eq", "$ne", "$lt", "$lte", "$gt", "$gte", "$regex", "$regexi", "$in", "$ini", "$nin", "$nini",
		"$all", "$alli", "$size", "$elemMatch", "$exists", "$type", "$not", "$vgt", "$vgte", "$vlt", "$vlte", "$veq", "$vne",
		"$inGroup", "$notInGroup"}
	// RE2 and JavaScript agree on these (see EvalCondition's doc).
	genPatterns = []any{"^a", "b$", "[0-9]+", "a|b", `\d`, "é", "^v1", "x{2}", "^$", "^nul", "^[a-c]+$", "(?:1)0"}
	genTypes    = []any{"string", "number", "boolean", "array", "object", "null", "undefined"}
)

func (g *condGen) pick(pool []any) any { return pool[g.r.IntN(len(pool))] }

// scalar is a random JSON scalar.
func (g *condGen) scalar() any {
	switch g.r.IntN(10) {
	case 0:
		return nil
	case 1:
		return g.r.IntN(2) == 0
	case 2, 3, 4:
		return g.pick(genNumbers)
	}
	return g.pick(genStrings)
}

// value is a scalar, an array or an object.
func (g *condGen) value(depth int) any {
	switch n := g.r.IntN(8); {
	case n == 0 && depth > 0:
		a := make([]any, g.r.IntN(4))
		for i := range a {
			a[i] = g.value(depth - 1)
		}
		return a
	case n == 1 && depth > 0:
		return map[string]any{"x": g.value(depth - 1)}
	}
	return g.scalar()
}

func (g *condGen) attributes() map[string]any {
	a := map[string]any{}
	for _, k := range []string{"a", "b", "c", "v"} {
		if g.r.IntN(4) > 0 {
			a[k] = g.value(1)
		}
	}
	if g.r.IntN(3) > 0 {
		tags := make([]any, g.r.IntN(4))
		for i := range tags {
			tags[i] = g.scalar()
		}
		a["tags"] = tags
	}
	if g.r.IntN(2) == 0 {
		a["nested"] = map[string]any{"x": g.scalar(), "y": map[string]any{"z": g.scalar()}}
	}
	return a
}

// condition is a condition object with 1-2 entries.
func (g *condGen) condition(depth int) map[string]any {
	c := map[string]any{}
	for range 1 + g.r.IntN(2) {
		if depth > 0 && g.r.IntN(5) == 0 {
			switch op := []string{"$or", "$and", "$nor", "$not"}[g.r.IntN(4)]; op {
			case "$not":
				c[op] = g.condition(depth - 1)
			default:
				list := make([]any, g.r.IntN(3))
				for i := range list {
					list[i] = g.condition(depth - 1)
				}
				c[op] = list
			}
			continue
		}
		path := genPaths[g.r.IntN(len(genPaths))]
		if g.r.IntN(3) == 0 {
			c[path] = g.value(1)
		} else {
			c[path] = g.operators(depth)
		}
	}
	return c
}

// operators is an operator object with 1-2 operators.
func (g *condGen) operators(depth int) map[string]any {
	m := map[string]any{}
	for range 1 + g.r.IntN(2) {
		op := genOps[g.r.IntN(len(genOps))]
		m[op] = g.expected(op, depth)
	}
	return m
}

func (g *condGen) expected(op string, depth int) any {
	switch op {
	case "$regex", "$regexi":
		return g.pick(genPatterns)
	case "$in", "$ini", "$nin", "$nini", "$all", "$alli":
		if g.r.IntN(10) == 0 {
			return g.scalar()
		}
		list := make([]any, g.r.IntN(4))
		for i := range list {
			list[i] = g.scalar()
		}
		return list
	case "$size":
		if g.r.IntN(2) == 0 {
			return map[string]any{"$gt": float64(g.r.IntN(3))}
		}
		return float64(g.r.IntN(4))
	case "$elemMatch":
		if depth > 0 && g.r.IntN(2) == 0 {
			return map[string]any{"x": g.scalar()}
		}
		return map[string]any{[]string{"$eq", "$gt", "$in", "$regex"}[g.r.IntN(4)]: g.scalar()}
	case "$exists":
		return g.r.IntN(2) == 0
	case "$type":
		return g.pick(genTypes)
	case "$not":
		if depth > 0 {
			return g.operators(depth - 1)
		}
		return g.scalar()
	case "$inGroup", "$notInGroup":
		return []string{"g1", "g2", "none"}[g.r.IntN(3)]
	case "$vgt", "$vgte", "$vlt", "$vlte", "$veq", "$vne":
		return []any{"1.2.3", "1.2.3-beta", "v1.2.3", "1.10.0", "2", "1.2.3.4", "", 1.0}[g.r.IntN(8)]
	}
	return g.scalar()
}
