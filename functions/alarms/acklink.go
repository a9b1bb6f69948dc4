package alarms

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/acklink"
	"github.com/wharfhq/wharf/monitoring/alarm"
)

// Acknowledgement links (monitoring/acklink): GET and POST
// /api/v1/ack?token=, public — the signed token is the authorization, a
// Wharf token plays no part. GET answers what the link acknowledges
// (AckView; a small HTML page with a button when the client prefers
// text/html), POST acknowledges the case as "link", idempotently. A
// forged or expired token is a 403 with a JSON error; a case that is
// gone a 404.

// ackBy is who an acknowledgement through a link is recorded as.
const ackBy = "link"

// AckView is the answer of an acknowledgement link.
type AckView struct {
	Case      string            `json:"case"`
	Step      string            `json:"step"`
	Team      string            `json:"team"`
	Labels    map[string]string `json:"labels"`
	Summary   string            `json:"summary,omitempty"`
	Status    string            `json:"status"`
	StartsAt  time.Time         `json:"starts_at"`
	AckedBy   string            `json:"acked_by,omitempty"`
	AckedAt   time.Time         `json:"acked_at,omitzero"`
	Expires   time.Time         `json:"expires"`
	CanAck    bool              `json:"can_ack"`
	WhyNotAck string            `json:"why_not,omitempty"`
}

// ackKey is the link signing key, read (or created) once per function.
func (f *Function) ackKey(ctx context.Context) ([]byte, error) {
	f.keyMu.Lock()
	defer f.keyMu.Unlock()
	if f.key != nil {
		return f.key, nil
	}
	ctx, cancel := context.WithTimeout(ctx, f.opts.StoreTimeout)
	defer cancel()
	k, err := wire.LoadAckKey(ctx, f.opts.Store)
	if err != nil {
		return nil, httperr.Unavailable(err, "cannot check the acknowledgement link")
	}
	f.key = k
	return k, nil
}

// ackClaims checks the token of the path.
func (f *Function) ackClaims(r *fnapi.Request) (acklink.Claims, error) {
	key, err := f.ackKey(r.Context())
	if err != nil {
		return acklink.Claims{}, err
	}
	c, err := acklink.Verify(key, string(r.Ctx.QueryArgs().Peek("token")), f.opts.Now())
	if err != nil {
		return c, httperr.Forbidden("%s", err.Error())
	}
	return c, nil
}

// ackable says whether case c may be acknowledged by a link for step,
// and why not.
func ackable(c alarm.Case, step string) (bool, string) {
	switch {
	case c.AckedBy != "":
		return false, "already acknowledged"
	case !c.State.Firing():
		return false, "the alarm is " + string(c.State) + ": nothing to acknowledge"
	case c.StepKey != step:
		return false, "the alarm moved on to another step since this message; use the newest message's link"
	}
	return true, ""
}

func viewOf(c alarm.Case, cl acklink.Claims) AckView {
	ok, why := ackable(c, cl.Step)
	if c.StepKey != cl.Step {
		// A link of an earlier step (or incident) of the case shows no
		// more than that: not the case's labels now, nor who acked it.
		return AckView{Case: c.ID, Step: cl.Step, Expires: cl.ExpiresAt(), CanAck: false, WhyNotAck: why}
	}
	if c.AckedBy != "" && c.AckedBy != ackBy {
		c.AckedBy = "a Wharf user" // a principal's name is not for a bearer link
	}
	return AckView{
		Case: c.ID, Step: cl.Step, Team: teamOf(c.Labels), Labels: c.Labels, Summary: c.Annotations["summary"],
		Status: c.Status(), StartsAt: c.StartsAt, AckedBy: c.AckedBy, AckedAt: c.AckedAt,
		Expires: cl.ExpiresAt(), CanAck: ok, WhyNotAck: why,
	}
}

// getAckLink answers what the link acknowledges.
func (f *Function) getAckLink(r *fnapi.Request) error {
	cl, err := f.ackClaims(r)
	if err != nil {
		return err
	}
	c, _, ok, err := f.readCase(r, cl.Case)
	if err != nil {
		return err
	}
	if !ok {
		return httperr.NotFound("the alarm of this link is gone")
	}
	return answerAck(r, fasthttp.StatusOK, viewOf(c, cl))
}

// postAckLink acknowledges the link's case as "link". Acknowledging an
// acknowledged case answers it as it is (200): the link is idempotent;
// a case resolved or at another step since is a 409.
func (f *Function) postAckLink(r *fnapi.Request) error {
	cl, err := f.ackClaims(r)
	if err != nil {
		return err
	}
	if !store.ValidKey(wire.CaseKey(cl.Case)) {
		return httperr.NotFound("the alarm of this link is gone")
	}
	var out alarm.Case
	found, why := false, ""
	ctx, cancel := contextWithTimeout(r, 2*f.opts.StoreTimeout)
	defer cancel()
	_, err = store.Update(ctx, f.opts.Store, wire.CaseKey(cl.Case), store.RetryOptions{}, func(cur store.Entry, ok bool) ([]byte, store.PutOptions, error) {
		found, why = ok, ""
		if !ok {
			return nil, store.PutOptions{}, store.ErrSkip
		}
		var c alarm.Case
		if err := json.Unmarshal(cur.Value, &c); err != nil {
			return nil, store.PutOptions{}, fmt.Errorf("cannot decode alarm %q: %w", cl.Case, err)
		}
		out = c
		if can, reason := ackable(c, cl.Step); !can {
			why = reason
			return nil, store.PutOptions{}, store.ErrSkip
		}
		next, _ := alarm.Ack(c, ackBy, f.opts.Now().UTC())
		out = next
		b, err := json.Marshal(next)
		return b, store.PutOptions{}, err
	})
	switch {
	case err != nil:
		return httperr.Unavailable(err, "cannot acknowledge the alarm")
	case !found:
		return httperr.NotFound("the alarm of this link is gone")
	case why != "" && out.AckedBy == "":
		return httperr.Conflict("%s", why)
	}
	return answerAck(r, fasthttp.StatusOK, viewOf(out, cl))
}

// answerAck answers v as JSON, or as the small HTML page when the client
// prefers text/html (a browser following the link).
func answerAck(r *fnapi.Request, status int, v AckView) error {
	if !prefersHTML(string(r.Ctx.Request.Header.Peek("Accept"))) {
		r.Ctx.Response.Header.Set("Cache-Control", "no-store")
		return r.JSON(status, v)
	}
	var b bytes.Buffer
	if err := ackPage.Execute(&b, v); err != nil {
		return fmt.Errorf("cannot render the acknowledgement page: %w", err)
	}
	r.Ctx.SetStatusCode(status)
	r.Ctx.SetContentType("text/html; charset=utf-8")
	r.Ctx.Response.Header.Set("Cache-Control", "no-store")
	r.Ctx.Response.Header.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	r.Ctx.Response.Header.Set("X-Frame-Options", "DENY")
	r.Ctx.Response.Header.Set("Referrer-Policy", "no-referrer")
	r.Ctx.SetBody(b.Bytes())
	return nil
}

// prefersHTML reports whether an Accept header names text/html before
// application/json (a browser's does; curl's */* does not).
func prefersHTML(accept string) bool {
	h, j := strings.Index(accept, "text/html"), strings.Index(accept, "application/json")
	return h >= 0 && (j < 0 || h < j)
}

var ackPage = template.Must(template.New("ack").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Acknowledge alarm</title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto}td{padding:.2em .6em}</style></head>
<body><h1>Alarm {{.Status}}</h1>
<table>
<tr><td>alarm</td><td>{{.Case}}</td></tr>
<tr><td>team</td><td>{{.Team}}</td></tr>
{{with .Summary}}<tr><td>summary</td><td>{{.}}</td></tr>{{end}}
{{range $k, $v := .Labels}}<tr><td>{{$k}}</td><td>{{$v}}</td></tr>{{end}}
<tr><td>since</td><td>{{.StartsAt.UTC.Format "2006-01-02 15:04:05Z"}}</td></tr>
</table>
{{if .AckedBy}}<p>Acknowledged by {{.AckedBy}} at {{.AckedAt.UTC.Format "2006-01-02 15:04:05Z"}}.</p>
{{else if .CanAck}}<form method="post"><button type="submit">Acknowledge</button></form>
{{else}}<p>{{.WhyNotAck}}</p>{{end}}
</body></html>
`))

// ackURL is the acknowledgement link of case c at its current step, or ""
// without a public URL or when c does not fire.
func (f *Function) ackURL(ctx context.Context, c alarm.Case) string {
	if f.opts.PublicURL == "" || !c.State.Firing() {
		return ""
	}
	key, err := f.ackKey(ctx)
	if err != nil {
		return ""
	}
	tok := acklink.Sign(key, c.ID, c.StepKey, f.opts.Now().Add(f.opts.AckLinkTTL))
	if tok == "" {
		return ""
	}
	return strings.TrimRight(f.opts.PublicURL, "/") + wire.AckPath + tok
}
