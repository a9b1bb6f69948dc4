package engine

import "regexp"

// Condition is a targeting condition prepared for evaluating many times:
// its $regex and $regexi patterns are compiled once. It is safe for
// concurrent use and must not be changed after Compile.
type Condition struct {
	cond    map[string]any
	regexps map[regexKey]*regexp.Regexp
}

// Compile prepares condition for Eval; the condition map is kept, not
// copied. A pattern that is not valid Go (RE2) syntax is kept as a
// pattern that matches nothing, as EvalCondition treats it.
func Compile(condition map[string]any) *Condition {
	c := &Condition{cond: condition}
	collectRegexps(condition, &c.regexps)
	return c
}

// Eval is EvalCondition(attributes, the compiled condition, savedGroups).
// A nil or empty Condition passes every unit.
func (c *Condition) Eval(attributes map[string]any, savedGroups map[string][]any) bool {
	if c == nil {
		return true
	}
	ctx := evalCtx{groups: savedGroups, regexps: c.regexps}
	return evalCondition(attributes, c.cond, &ctx)
}

// collectRegexps compiles every string under a "$regex" or "$regexi" key
// anywhere in v.
func collectRegexps(v any, into *map[regexKey]*regexp.Regexp) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if p, ok := e.(string); ok && (k == "$regex" || k == "$regexi") {
				key := regexKey{p, k == "$regexi"}
				if *into == nil {
					*into = map[regexKey]*regexp.Regexp{}
				}
				if _, seen := (*into)[key]; !seen {
					(*into)[key] = compileRegex(p, key.insensitive)
				}
				continue
			}
			collectRegexps(e, into)
		}
	case []any:
		for _, e := range x {
			collectRegexps(e, into)
		}
	}
}
