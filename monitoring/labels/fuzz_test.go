package labels

import "testing"

// FuzzParseMatchers: the parser never panics, agrees with Alertmanager's
// on acceptance and results, and what it prints parses back to the same.
func FuzzParseMatchers(f *testing.F) {
	for _, in := range sideBySideInputs {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		sideBySide(t, in, probeSets)
		ms, err := ParseMatchers(in)
		if err != nil {
			return
		}
		back, err := ParseMatchers(ms.String())
		if err != nil {
			t.Fatalf("%q printed as %s does not parse: %v", in, ms, err)
		}
		if back.String() != ms.String() {
			t.Fatalf("%q: %s printed back as %s", in, ms, back)
		}
	})
}
