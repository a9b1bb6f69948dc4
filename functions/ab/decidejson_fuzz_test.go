package ab

import (
	"reflect"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/strictjson"
)

// FuzzParseDecide: the hand-written decide parser accepts what fnapi's
// strict decoder accepts and decodes it to the same values; it never
// panics.
func FuzzParseDecide(f *testing.F) {
	for _, s := range []string{
		`{"unit":"u1"}`, `{"unit":"u1","attributes":{"a":1,"b":[true,null,"x"],"c":{"d":-1.5e3}},"team":"shop","explain":true}`,
		`{"unit":"\u00e9\ud83d\ude00\ud800x"}`, `{"unit":"u","unit":"v"}`, `{"unit":"u","attributes":{"a":1,"a":2}}`,
		`{"unit":"u"} x`, `{"unit":1}`, `{"unit":null,"team":null}`, `{"other":1}`, `[1]`, `{"unit":"a\tb"}`, `{"attributes":{"x":01}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var mine, ref decideInput
		errMine := parseDecide(b, &mine)
		errRef := strictjson.Decode(b, &ref)
		if errMine == nil && errRef != nil {
			t.Fatalf("%q: accepted, the strict decoder says %v", b, errRef)
		}
		if errMine != nil && errRef == nil {
			if ref.Unit == "" {
				return // the handler refuses it all the same (unit is required)
			}
			// encoding/json matches field names case-insensitively;
			// the decide parser does not.
			if lower := strings.ToLower(string(b)); lower != string(b) {
				return
			}
			t.Fatalf("%q: refused (%v), the strict decoder accepts %+v", b, errMine, ref)
		}
		if errMine == nil && !reflect.DeepEqual(mine, ref) {
			t.Fatalf("%q: %+v, the strict decoder %+v", b, mine, ref)
		}
	})
}
