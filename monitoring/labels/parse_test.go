package labels

import (
	"testing"

	"github.com/prometheus/common/model"
)

// The examples of Alertmanager's documentation (pkg/labels, amtool) and
// the edge cases of its grammar.
func TestParseMatchersExamples(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want string // Matchers.String of the result, "" for an error
	}{
		{`team=shop`, `{team="shop"}`},
		{`priority=~"[0-2]"`, `{priority=~"[0-2]"}`},
		{`{a="b",c!~"x.*"}`, `{a="b",c!~"x.*"}`},
		{`{foo = "bar", dings != "bums", }`, `{foo="bar",dings!="bums"}`},
		{`foo=bar,dings!=bums`, `{foo="bar",dings!="bums"}`},
		{`foo=bar, dings!=bums`, `{foo="bar",dings!="bums"}`},
		{`{quote="She said: \"Hi, ladies! That's gender-neutral…\""}`, `{quote="She said: \"Hi, ladies! That's gender-neutral…\""}`},
		{`statuscode=~"5.."`, `{statuscode=~"5.."}`},
		{`a=`, `{a=""}`},
		{`a=""`, `{a=""}`},
		{`a="\n"`, `{a="\n"}`},
		{`a=\x`, `{a="\\x"}`},
		{`a=b\`, `{a="b\\"}`},
		{`a = b c `, `{a="b c"}`},
		{`_x:y=1`, `{_x:y="1"}`},
		{``, `{}`},
		{`{}`, `{}`},
		{`a="b`, ``},
		{`a=b"`, ``},
		{`a="b"c"`, ``},
		{`1a=b`, ``},
		{`a==b`, `{a="=b"}`},
		{`a=~"(["`, ``},
		{`a`, ``},
		{`=b`, ``},
		{`a=b,,c=d`, ``},
		{`a-b=c`, ``},
	}
	for _, c := range cases {
		ms, err := ParseMatchers(c.in)
		switch {
		case c.want == "" && err == nil:
			t.Errorf("ParseMatchers(%q) = %s, want an error", c.in, ms)
		case c.want != "" && err != nil:
			t.Errorf("ParseMatchers(%q): %v", c.in, err)
		case c.want != "" && ms.String() != c.want:
			t.Errorf("ParseMatchers(%q) = %s, want %s", c.in, ms, c.want)
		}
	}
}

func TestMatchersMatchAnchoredAndAbsentAsEmpty(t *testing.T) {
	t.Parallel()
	set := Set{"team": "shop", "priority": "1", "endpoint": "web-12"}
	cases := []struct {
		m    string
		want bool
	}{
		{`team=shop`, true},
		{`team=sho`, false},
		{`team=~sho`, false},
		{`team=~"sho.*"`, true},
		{`team!~"sho"`, true},
		{`priority=~"[0-2]"`, true},
		{`priority=~"[2-6]"`, false},
		{`app=`, true},
		{`app!=""`, false},
		{`app=~".*"`, true},
		{`app=~".+"`, false},
		{`endpoint=~"web-1|web-12"`, true},
		{`endpoint=~"web-1"`, false},
		{`team=shop,priority!=1`, false},
		{`{}`, true},
	}
	for _, c := range cases {
		ms, err := ParseMatchers(c.m)
		if err != nil {
			t.Fatalf("%s: %v", c.m, err)
		}
		if got := ms.Matches(set); got != c.want {
			t.Errorf("%s on %s = %v, want %v", c.m, set, got, c.want)
		}
	}
}

func TestMatcherJSONIsTheAPIv2Form(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`a="b"`, `a!="b"`, `a=~"b.*"`, `a!~"b"`} {
		m, err := ParseMatcher(in)
		if err != nil {
			t.Fatal(err)
		}
		b, err := m.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var back Matcher
		if err := back.UnmarshalJSON(b); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if back.String() != m.String() || !back.Matches("b") == m.Matches("b") {
			t.Errorf("%s → %s → %s", in, b, back.String())
		}
	}
	var m Matcher
	if err := m.UnmarshalJSON([]byte(`{"name":"a","value":"b","isRegex":true}`)); err != nil || m.Type != MatchRegexp {
		t.Fatalf("isEqual defaults to true: %v %v", m.Type, err)
	}
	for _, bad := range []string{`{"name":"","value":"b"}`, `{"name":"a","value":"(","isRegex":true}`, `[]`} {
		if err := m.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
}

func TestSetFingerprintAndNames(t *testing.T) {
	t.Parallel()
	a := Set{"alertname": "cpu", "team": "shop"}
	b := Set{"team": "shop", "alertname": "cpu", "app": ""}
	for _, s := range []Set{a, b, {}} {
		ml := model.LabelSet{}
		for k, v := range s {
			ml[model.LabelName(k)] = model.LabelValue(v)
		}
		if s.Fingerprint() != uint64(ml.Fingerprint()) || s.FingerprintString() != ml.Fingerprint().String() {
			t.Fatalf("fingerprint of %s is not model.LabelSet's", s)
		}
	}
	if len(a.FingerprintString()) != 16 {
		t.Fatalf("fingerprint %q", a.FingerprintString())
	}
	if a.String() != `{alertname="cpu", team="shop"}` {
		t.Fatalf("String %s", a.String())
	}
	for in, want := range map[string]string{"host-name": "host_name", "1x": "_1x", "": "_", "ok_1": "ok_1", "a.b.c": "a_b_c"} {
		if got := SanitizeName(in); got != want || !ValidName(got) {
			t.Errorf("SanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
}
