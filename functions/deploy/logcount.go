package deploy

import (
	"bytes"
	"encoding/json"
)

// maxLostApps bounds the apps a log batch may report lost lines of.
const maxLostApps = 1000

// countMembers counts the elements of the top-level member key of the JSON
// object body (an array's values, an object's keys), reading tokens only
// and stopping past most, so that a body of a million empty elements is
// refused before any of them is decoded into memory. A body that is not
// such an object counts 0: the decoder then says what is wrong.
func countMembers(body []byte, key string, most int) int {
	dec := json.NewDecoder(bytes.NewReader(body))
	depth, n := 0, 0
	inKey, isObject, wantKey := false, false, false
	for {
		tok, err := dec.Token()
		if err != nil {
			return n
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if inKey && depth == 2 && !isObject {
					n++
				}
				depth++
				if depth == 2 && inKey {
					isObject = t == '{'
				}
				if depth == 1 {
					wantKey = true
					continue
				}
			case '}', ']':
				depth--
				if depth == 1 {
					inKey = false
					wantKey = true
					continue
				}
			}
		case string:
			if depth == 1 && wantKey {
				inKey = t == key
				wantKey = false
				continue
			}
			if inKey && depth == 2 {
				n++ // an array value, or an object's key
			}
		default:
			if inKey && depth == 2 && !isObject {
				n++
			}
		}
		if depth == 1 {
			// A scalar value of a top-level member ends it.
			inKey, wantKey = false, true
		}
		if n > most {
			return n
		}
	}
}
