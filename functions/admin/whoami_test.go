package admin

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/wharfhq/wharf/internal/auth"
)

// whoamiByEncodingJSON is the answer as whoami wrote it before it was
// appended by hand: encoding/json over Whoami.
func whoamiByEncodingJSON(t testing.TB, p auth.Principal, version string) string {
	t.Helper()
	teams := p.Teams()
	if teams == nil {
		teams = []string{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(Whoami{Principal: p, Teams: teams, ServerVersion: version}); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestAppendWhoamiMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, p := range []auth.Principal{
		{TokenID: "0123456789abcdef", Name: "admin", Scopes: []string{"admin"}},
		{TokenID: "0123456789abcdef", Name: "shop", Scopes: []string{"agent", "team:shop", "team:web"}},
		{TokenID: "", Name: "", Scopes: nil},
		{TokenID: "x", Name: "odd \"name\" <&> \x01 \xff \u2028", Scopes: []string{"team:a\"b", "team:"}},
	} {
		for _, version := range []string{"dev", "v1.2.3 <&>", ""} {
			if got, want := string(appendWhoami(nil, p, version)), whoamiByEncodingJSON(t, p, version); got != want {
				t.Errorf("appendWhoami(%+v, %q)\n got %s\nwant %s", p, version, got, want)
			}
		}
	}
}

func FuzzAppendWhoami(f *testing.F) {
	f.Add("0123456789abcdef", "admin", "admin", "team:shop", "dev")
	f.Add("", "\xff", "team:\u2028", "", "<&>")
	f.Fuzz(func(t *testing.T, id, name, s1, s2, version string) {
		p := auth.Principal{TokenID: id, Name: name, Scopes: []string{s1, s2}}
		if got, want := string(appendWhoami(nil, p, version)), whoamiByEncodingJSON(t, p, version); got != want {
			t.Fatalf("appendWhoami(%+v, %q)\n got %s\nwant %s", p, version, got, want)
		}
	})
}
