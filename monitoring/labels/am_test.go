package labels

import (
	"testing"

	amlabels "github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"
)

// sideBySide parses in with Wharf's and Alertmanager's parsers and fails
// when they disagree on acceptance, on the matchers, or on matching any of
// the probe sets.
func sideBySide(t *testing.T, in string, probes []Set) {
	t.Helper()
	ours, err1 := ParseMatchers(in)
	theirs, err2 := amlabels.ParseMatchers(in)
	if (err1 == nil) != (err2 == nil) {
		t.Fatalf("%q: wharf err %v, alertmanager err %v", in, err1, err2)
	}
	if err1 != nil {
		return
	}
	if len(ours) != len(theirs) {
		t.Fatalf("%q: %d matchers, alertmanager %d", in, len(ours), len(theirs))
	}
	for i := range ours {
		if ours[i].Name != theirs[i].Name || ours[i].Value != theirs[i].Value || int(ours[i].Type) != int(theirs[i].Type) {
			t.Fatalf("%q: matcher %d is %s, alertmanager %s", in, i, ours[i], theirs[i])
		}
		if ours[i].String() != theirs[i].String() {
			t.Fatalf("%q: matcher %d prints %s, alertmanager %s", in, i, ours[i], theirs[i])
		}
	}
	for _, p := range probes {
		ls := model.LabelSet{}
		for k, v := range p {
			ls[model.LabelName(k)] = model.LabelValue(v)
		}
		if ours.Matches(p) != amlabels.Matchers(theirs).Matches(ls) {
			t.Fatalf("%q on %s: wharf %v, alertmanager %v", in, p, ours.Matches(p), !ours.Matches(p))
		}
	}
}

var probeSets = []Set{
	{},
	{"a": "b"},
	{"a": "", "c": "x"},
	{"team": "shop", "priority": "1"},
	{"foo": "bar", "dings": "bums", "statuscode": "503"},
	{"a": "\n", "b": `\`},
}

var sideBySideInputs = []string{
	`team=shop`, `priority=~"[0-2]"`, `{a="b",c!~"x.*"}`, `{foo = "bar", dings != "bums", }`,
	`foo=bar,dings!=bums`, `statuscode=~"5.."`, `a=`, `a=""`, `a="\n"`, `a=\x`, `a=b\`,
	`a = b c `, `a="b`, `a=b"`, `a==b`, `a=~"(["`, `a`, `=b`, `a=b,,c=d`, `a-b=c`, ``, `{}`,
	`{a="b,c"}`, `a="b\",c"`, `a=b}`, `{{a=b}}`, `a=~".*"`, `a!~""`, " a\t=\n\"b\" ", `a="\\"`,
	`a="\"`, `a=é`, "a=\xff", `:=x`, `a=~"[0-2]",b!=c,`, `a=b, c`, `a=ü"`, `{a=b`, `a=b}`,
}

func TestParseMatchersSideBySideAlertmanager(t *testing.T) {
	t.Parallel()
	for _, in := range sideBySideInputs {
		sideBySide(t, in, probeSets)
	}
}
