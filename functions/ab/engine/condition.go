package engine

import (
	"regexp"
	"strconv"
	"strings"
)

// EvalCondition reports whether attributes pass condition, GrowthBook's
// MongoDB-style targeting language, with the results of the JS SDK's
// evalCondition: top-level $and, $or, $nor and $not; dotted paths into
// objects and arrays ("address.city", "tags.0", "tags.length"); plain
// values compared with JavaScript's coercions (a string condition
// compares String(value), a number Number(value), an array or object by
// its JSON); and the operators $eq $ne $lt $lte $gt $gte $regex $regexi
// $in $ini $nin $nini $all $alli $size $elemMatch $exists $type $not $vgt
// $vgte $vlt $vlte $veq $vne $inGroup $notInGroup. savedGroups maps a
// group id to its members for $inGroup and $notInGroup; nil is no groups.
// An unknown operator fails the condition.
//
// Values are JSON values as encoding/json decodes them into an any (Go
// integers count as numbers). Where Go cannot follow JavaScript, the
// engine says so: $regex patterns are Go (RE2) regular expressions, so a
// JavaScript-only construct (look-around, back-references) fails the
// condition, and objects compared as JSON ignore key order.
func EvalCondition(attributes, condition map[string]any, savedGroups map[string][]any) bool {
	return evalCondition(attributes, condition, &evalCtx{groups: savedGroups})
}

// evalCtx is what every step of an evaluation needs: the saved groups and
// the regular expressions compiled beforehand (nil: compile when used).
type evalCtx struct {
	groups  map[string][]any
	regexps map[regexKey]*regexp.Regexp
}

func evalCondition(obj any, condition map[string]any, ctx *evalCtx) bool {
	for k, v := range condition {
		switch k {
		case "$or":
			if !evalOr(obj, v, ctx) {
				return false
			}
		case "$nor":
			if evalOr(obj, v, ctx) {
				return false
			}
		case "$and":
			if !evalAnd(obj, v, ctx) {
				return false
			}
		case "$not":
			if evalSub(obj, v, ctx) {
				return false
			}
		default:
			if !evalValue(v, getPath(obj, k), ctx, false) {
				return false
			}
		}
	}
	return true
}

// evalSub evaluates a nested condition; what is not an object has no
// entries and so passes, as Object.entries of it is empty.
func evalSub(obj any, v any, ctx *evalCtx) bool {
	c, ok := v.(map[string]any)
	if !ok {
		return true
	}
	return evalCondition(obj, c, ctx)
}

// evalOr: an empty list (or no list at all) passes.
func evalOr(obj any, v any, ctx *evalCtx) bool {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return true
	}
	for _, c := range list {
		if evalSub(obj, c, ctx) {
			return true
		}
	}
	return false
}

func evalAnd(obj any, v any, ctx *evalCtx) bool {
	list, _ := v.([]any)
	for _, c := range list {
		if !evalSub(obj, c, ctx) {
			return false
		}
	}
	return true
}

// getPath follows a dot-separated path; a missing step gives nil (null).
// Arrays answer their canonical indexes and "length".
func getPath(obj any, path string) any {
	cur := obj
	for {
		part, rest, more := strings.Cut(path, ".")
		switch x := cur.(type) {
		case map[string]any:
			v, ok := x[part]
			if !ok {
				return nil
			}
			cur = v
		case []any:
			if part == "length" {
				cur = float64(len(x))
				break
			}
			i, ok := arrayIndex(part)
			if !ok || i >= len(x) {
				return nil
			}
			cur = x[i]
		default:
			return nil
		}
		if !more {
			return cur
		}
		path = rest
	}
}

// arrayIndex parses a canonical array index: "0" or digits without a
// leading zero.
func arrayIndex(s string) (int, bool) {
	if s == "" || len(s) > 9 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	i, err := strconv.Atoi(s)
	if err != nil || i < 0 || strconv.Itoa(i) != s {
		return 0, false
	}
	return i, true
}

// evalValue tests value against one condition value: a plain value, or an
// object of operators.
func evalValue(condition, value any, ctx *evalCtx, insensitive bool) bool {
	switch c := condition.(type) {
	case string:
		if insensitive {
			return strings.ToLower(jsString(value)) == strings.ToLower(c)
		}
		return jsString(value) == c
	case bool:
		return value != nil && truthy(value) == c
	case nil:
		return value == nil
	case []any:
		return jsonEqual(value, c)
	case map[string]any:
		if !isOperatorObject(c) {
			return jsonEqual(value, c)
		}
		for op, expected := range c {
			if !evalOperator(op, value, expected, ctx) {
				return false
			}
		}
		return true
	}
	if f, ok := number(condition); ok {
		return toNumber(value) == f
	}
	return false
}

// isOperatorObject: at least one key, every key starting with "$".
func isOperatorObject(m map[string]any) bool {
	if len(m) == 0 {
		return false
	}
	for k := range m {
		if !strings.HasPrefix(k, "$") {
			return false
		}
	}
	return true
}

// evalOperator applies one operator.
func evalOperator(op string, actual, expected any, ctx *evalCtx) bool {
	switch op {
	case "$veq", "$vne", "$vgt", "$vgte", "$vlt", "$vlte":
		return compareVersions(op, actual, expected)
	case "$eq":
		return strictEqual(actual, expected)
	case "$ne":
		return !strictEqual(actual, expected)
	case "$lt":
		c, ok := compare(actual, expected)
		return ok && c < 0
	case "$lte":
		c, ok := compare(actual, expected)
		return ok && c <= 0
	case "$gt":
		c, ok := compare(actual, expected)
		return ok && c > 0
	case "$gte":
		c, ok := compare(actual, expected)
		return ok && c >= 0
	case "$exists":
		if truthy(expected) {
			return actual != nil
		}
		return actual == nil
	case "$in", "$ini", "$nin", "$nini":
		list, ok := expected.([]any)
		if !ok {
			return false
		}
		in := isIn(actual, list, op == "$ini" || op == "$nini")
		if op == "$nin" || op == "$nini" {
			return !in
		}
		return in
	case "$inGroup", "$notInGroup":
		in := isIn(actual, ctx.groups[jsString(expected)], false)
		if op == "$notInGroup" {
			return !in
		}
		return in
	case "$not":
		return !evalValue(expected, actual, ctx, false)
	case "$size":
		list, ok := actual.([]any)
		if !ok {
			return false
		}
		return evalValue(expected, float64(len(list)), ctx, false)
	case "$elemMatch":
		return elemMatch(actual, expected, ctx)
	case "$all", "$alli":
		list, ok := expected.([]any)
		if !ok {
			return false
		}
		return isInAll(actual, list, ctx, op == "$alli")
	case "$regex", "$regexi":
		return matchRegex(actual, expected, op == "$regexi", ctx)
	case "$type":
		s, ok := expected.(string)
		return ok && typeOf(actual) == s
	}
	return false
}

// isIn: for an array actual, whether any element is in expected.
func isIn(actual any, expected []any, insensitive bool) bool {
	if list, ok := actual.([]any); ok {
		for _, el := range list {
			if includes(expected, el, insensitive) {
				return true
			}
		}
		return false
	}
	return includes(expected, actual, insensitive)
}

func includes(list []any, v any, insensitive bool) bool {
	for _, e := range list {
		if !insensitive {
			if sameValueZero(e, v) {
				return true
			}
			continue
		}
		// The SDK compares lower-cased strings, anything else with ===.
		se, eok := e.(string)
		sv, vok := v.(string)
		switch {
		case eok && vok:
			if strings.ToLower(se) == strings.ToLower(sv) {
				return true
			}
		case !eok && !vok && strictEqual(e, v):
			return true
		}
	}
	return false
}

func isInAll(actual any, expected []any, ctx *evalCtx, insensitive bool) bool {
	list, ok := actual.([]any)
	if !ok {
		return false
	}
	for _, e := range expected {
		passed := false
		for _, a := range list {
			if evalValue(e, a, ctx, insensitive) {
				passed = true
				break
			}
		}
		if !passed {
			return false
		}
	}
	return true
}

// elemMatch: some truthy element passes expected, an operator object
// applied to the element or a condition evaluated on it.
func elemMatch(actual, expected any, ctx *evalCtx) bool {
	list, ok := actual.([]any)
	if !ok {
		return false
	}
	m, _ := expected.(map[string]any)
	op := isOperatorObject(m)
	for _, el := range list {
		if !truthy(el) {
			continue
		}
		if op {
			if evalValue(m, el, ctx, false) {
				return true
			}
		} else if evalCondition(el, m, ctx) {
			return true
		}
	}
	return false
}

// matchRegex tests String(actual) against the pattern expected (a
// string; anything else fails, as the SDK's pattern.replace throws).
func matchRegex(actual, expected any, insensitive bool, ctx *evalCtx) bool {
	pattern, ok := expected.(string)
	if !ok {
		return false
	}
	re, ok := ctx.regexps[regexKey{pattern, insensitive}]
	if !ok {
		re = compileRegex(pattern, insensitive)
	}
	return re != nil && re.MatchString(jsString(actual))
}

// regexKey names a compiled $regex ($regexi: insensitive).
type regexKey struct {
	pattern     string
	insensitive bool
}

// compileRegex compiles a $regex pattern as Go (RE2) syntax; nil when it
// does not compile, which fails the condition.
func compileRegex(pattern string, insensitive bool) *regexp.Regexp {
	if insensitive {
		pattern = "(?i)" + pattern
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil
	}
	return re
}
