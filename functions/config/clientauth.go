package config

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
)

// Clients read an app's config with one of:
//   - Apollo's signature: "Authorization: Apollo {appId}:{signature}" and
//     "Timestamp: {unix ms}", the signature being base64(HMAC-SHA1(secret,
//     timestamp + "\n" + path?query)) with an enabled access key of the
//     app, the timestamp within ClockWindow of the node's clock;
//   - a bearer token that may read the app (admin, the owning team, an
//     agent token of a host the app is placed on).
// Anything else is 401; a token that may not read the app gets the 404 of
// a missing app (ingest tokens a 403).

// Signature is the Apollo signature of pathWithQuery at timestamp (unix
// ms, as sent) with secret.
func Signature(timestamp, pathWithQuery, secret string) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte("\n"))
	m.Write([]byte(pathWithQuery))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// apolloScheme starts an Apollo signature's Authorization value.
const apolloScheme = "Apollo "

// clientAuth checks that r may read app's config as a client; ctx is the
// client read's (withStale): during a store outage a token's last
// successful check of app and the app's last read access keys count
// (stale.go).
func (f *Function) clientAuth(ctx context.Context, r *fnapi.Request, app string) error {
	h := r.Ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)
	if rest, ok := bytes.CutPrefix(h, []byte(apolloScheme)); ok {
		return f.checkSignature(ctx, r, app, rest)
	}
	tok, ok := auth.BearerToken(h)
	if !ok {
		return httperr.Unauthorized("missing credentials: sign with an access key of app %s (Authorization: Apollo %s:<signature>, Timestamp) or send Authorization: Bearer <token>", app, app)
	}
	sum, gen := tokenKey(tok), f.creds.generation()
	p, err := f.opts.Tokens.Authenticate(ctx, tok)
	if errors.Is(err, auth.ErrUnauthenticated) {
		f.creds.dropToken(sum)
		return httperr.Unauthorized("invalid or revoked token")
	}
	if err == nil {
		r.Principal = p
		err = f.canRead(r, app)
		if err == nil {
			f.creds.put(sum, app, p, gen)
			return nil
		}
		if !unavailable(err) {
			f.creds.dropApp(sum, app)
			return err
		}
	}
	if kp, ok := f.creds.get(sum, app); ok {
		f.m.staleCreds.Inc()
		r.Principal = kp
		return nil
	}
	if unavailable(err) {
		return err
	}
	return httperr.Unavailable(err, "cannot check token: store unavailable")
}

// checkSignature checks an Apollo signature header value ("appId:sig").
func (f *Function) checkSignature(ctx context.Context, r *fnapi.Request, app string, v []byte) error {
	i := bytes.LastIndexByte(v, ':')
	if i < 0 {
		return httperr.Unauthorized("malformed Authorization: want Apollo {appId}:{signature}")
	}
	// The appId as the client wrote it (its case need not be Wharf's).
	if !bytes.EqualFold(v[:i], []byte(app)) {
		return httperr.Unauthorized("the signature is of app %q, not of app %s", v[:i], app)
	}
	ts := string(r.Ctx.Request.Header.Peek("Timestamp"))
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return httperr.Unauthorized("missing or malformed Timestamp header: want unix milliseconds")
	}
	if d := f.opts.Now().Sub(time.UnixMilli(ms)); d > f.opts.ClockWindow || d < -f.opts.ClockWindow {
		return httperr.Unauthorized("Timestamp is %s from the server's clock, more than %s: check the client's clock", d.Round(time.Second), f.opts.ClockWindow)
	}
	keys, err := listAll[AccessKey](ctx, f, keysPrefix+app+"/")
	if err != nil {
		return err
	}
	path := string(r.Ctx.Request.Header.RequestURI())
	got := v[i+1:]
	for _, k := range keys {
		if k.Enabled && hmac.Equal(got, []byte(Signature(ts, path, k.Secret))) {
			r.Principal = auth.Principal{Name: "accesskey:" + k.ID}
			return nil
		}
	}
	return httperr.Unauthorized("invalid signature for app %s: sign timestamp + \"\\n\" + path?query with an enabled access key of the app", app)
}
