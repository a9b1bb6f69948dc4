package receiver

import "testing"

// FuzzTemplate: any body a team stores parses or is refused, and renders
// or fails, within the output cap — never a panic.
func FuzzTemplate(f *testing.F) {
	f.Add(`{"text": {{json .Status}}}`, "")
	f.Add(`{{range .Alerts}}{{.Labels.team}}{{end}}`, "text/plain")
	f.Add(`{{define "x"}}{{template "x"}}{{end}}{{template "x"}}`, "text/plain")
	f.Add(`{{range $i, $a := .Alerts}}{{range $k, $v := $a.Labels}}{{$k}}={{$v}}{{end}}{{end}}`, "text/plain")
	f.Fuzz(func(t *testing.T, body, ct string) {
		tpl, err := ParseTemplate(body, ct)
		if err != nil {
			return
		}
		p := Build("k", "r", nil, "", []Alert{{Status: "firing", Labels: map[string]string{"team": "shop"}}}, 0)
		out, err := tpl.Render(p)
		if err == nil && len(out) > MaxRenderedBytes {
			t.Fatalf("rendered %d bytes", len(out))
		}
	})
}
