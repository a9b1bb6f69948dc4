package engine_test

import (
	"encoding/json"
	"testing"
	"unicode/utf16"

	"github.com/wharfhq/wharf/functions/ab/engine"
)

// fnvUTF16 is FNV-1a over the utf16.Encode of each string in turn,
// written apart from the engine's streaming loop. Each string is decoded
// on its own, as JavaScript strings are before they are concatenated
// (invalid UTF-8 in one string does not join a neighbour's bytes).
func fnvUTF16(strs ...string) uint32 {
	h := uint32(0x811c9dc5)
	for _, s := range strs {
		for _, u := range utf16.Encode([]rune(s)) {
			h ^= uint32(u)
			h *= 0x01000193
		}
	}
	return h
}

func FuzzHash(f *testing.F) {
	f.Add("seed", "user-42", 2)
	f.Add("", "ünïcödé", 1)
	f.Add("😀", "\xff\xfe", 2)
	f.Add("s", "v", 7)
	f.Fuzz(func(t *testing.T, seed, value string, version int) {
		got, ok := engine.Hash(seed, value, version)
		switch version {
		case 1:
			want := float64(fnvUTF16(value, seed)%1000) / 1000
			if !ok || got != want {
				t.Fatalf("Hash v1 = %v, %v, want %v", got, ok, want)
			}
		case 2:
			inner := fnvUTF16(seed, value)
			want := float64(fnvUTF16(jsonNumber(inner))%10000) / 10000
			if !ok || got != want {
				t.Fatalf("Hash v2 = %v, %v, want %v", got, ok, want)
			}
		default:
			if ok {
				t.Fatalf("Hash version %d = %v, want no hash", version, got)
			}
		}
		if ok && (got < 0 || got >= 1) {
			t.Fatalf("Hash = %v, outside [0,1)", got)
		}
	})
}

func jsonNumber(u uint32) string {
	b, _ := json.Marshal(u)
	return string(b)
}

// FuzzEvalCondition feeds arbitrary JSON as attributes and condition: no
// panic, and $not and $nor are the negation of the condition.
func FuzzEvalCondition(f *testing.F) {
	f.Add(`{"id": "1", "tags": ["a", 2], "n": {"x": 1}}`, `{"tags": {"$elemMatch": {"$gt": 1}}, "$or": [{"id": {"$regex": "^1"}}]}`)
	f.Add(`{"v": "1.2.3-rc.1"}`, `{"v": {"$vgte": "1.2.0", "$vlt": "v2"}}`)
	f.Add(`{"a": [1, [2]]}`, `{"a": {"$all": [1, {"$size": 1}]}, "a.1.0": 2}`)
	f.Add(`{}`, `{"$not": {"missing": {"$exists": true}}, "x": {"$type": "null"}}`)
	f.Add(`{"e": "A@b.org"}`, `{"e": {"$regexi": "@B\\.ORG$", "$regex": "(unclosed"}}`)
	f.Add(`{"g": 5}`, `{"g": {"$inGroup": "g", "$notInGroup": 7}, "q": {"$in": 3}}`)
	groups := map[string][]any{"g": {5.0, "x"}}
	f.Fuzz(func(t *testing.T, attrsJSON, condJSON string) {
		var attrs, cond map[string]any
		if json.Unmarshal([]byte(attrsJSON), &attrs) != nil || json.Unmarshal([]byte(condJSON), &cond) != nil {
			return
		}
		got := engine.EvalCondition(attrs, cond, groups)
		if engine.Compile(cond).Eval(attrs, groups) != got {
			t.Fatalf("Compile(%s).Eval differs from EvalCondition (%v)", condJSON, got)
		}
		if engine.EvalCondition(attrs, map[string]any{"$not": cond}, groups) == got {
			t.Fatalf("$not of %s gives the same answer %v", condJSON, got)
		}
		if engine.EvalCondition(attrs, map[string]any{"$nor": []any{cond}}, groups) == got {
			t.Fatalf("$nor of %s gives the same answer %v", condJSON, got)
		}
	})
}
