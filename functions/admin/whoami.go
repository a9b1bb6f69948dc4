package admin

import (
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/jsonenc"
)

// Whoami is the answer of GET /api/v1/whoami.
type Whoami struct {
	auth.Principal
	Teams         []string `json:"teams"`
	ServerVersion string   `json:"server_version"`
}

// whoami answers the caller's principal. It is the cheapest authenticated
// call and the ceiling of every function's speed, so its JSON is appended
// by hand (appendWhoami) into a buffer on the stack instead of going
// through encoding/json.
func (f *Function) whoami(r *fnapi.Request) error {
	var buf [512]byte
	return r.RawJSON(fasthttp.StatusOK, appendWhoami(buf[:0], r.Principal, f.version))
}

// appendWhoami appends what encoding/json's Encoder (SetEscapeHTML(false))
// writes for Whoami{Principal: p, Teams: p.Teams() or [], ServerVersion:
// version}, newline included, without building the Teams slice.
func appendWhoami(dst []byte, p auth.Principal, version string) []byte {
	dst = append(dst, `{"id":`...)
	dst = jsonenc.AppendString(dst, p.TokenID)
	dst = append(dst, `,"name":`...)
	dst = jsonenc.AppendString(dst, p.Name)
	dst = append(dst, `,"scopes":`...)
	dst = jsonenc.AppendStrings(dst, p.Scopes)
	dst = append(dst, `,"teams":[`...)
	first := true
	for _, s := range p.Scopes {
		if t, ok := strings.CutPrefix(s, auth.TeamPrefix); ok {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = jsonenc.AppendString(dst, t)
		}
	}
	dst = append(dst, `],"server_version":`...)
	dst = jsonenc.AppendString(dst, version)
	return append(dst, "}\n"...)
}
