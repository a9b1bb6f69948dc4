package config

import (
	"net"
	"net/netip"
	"net/url"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/nodes"
)

// ServiceDTO is one element of GET /services/config, Apollo's ServiceDTO:
// a config service node a client may use.
type ServiceDTO struct {
	AppName     string `json:"appName"`
	InstanceID  string `json:"instanceId"`
	HomepageURL string `json:"homepageUrl"`
}

// apolloConfigService is the appName Apollo's clients look for.
const apolloConfigService = "APOLLO-CONFIGSERVICE"

// services answers the ready nodes that run a gateway (every one serves
// the config function), or this node as the client reached it when the
// node list is unavailable or names no address the client can use. A
// node that listens on every interface records a loopback URL: those are
// answered only to a client that itself came in over loopback. Public,
// as Apollo's meta service is.
func (f *Function) services(r *fnapi.Request) error {
	cctx, cancel := f.storeCtx(r.Context())
	recs, err := nodes.List(cctx, f.st, f.log)
	cancel()
	tls := r.Ctx.IsTLS()
	scheme := "http"
	if tls {
		scheme = "https"
	}
	host := string(r.Ctx.Host())
	local := isLoopback(host)
	out := []ServiceDTO{}
	if err == nil {
		for _, n := range recs {
			u := n.Gateway
			if tls {
				u = n.GatewayTLS
			}
			if !n.Ready || u == "" {
				continue
			}
			if pu, err := url.Parse(u); err != nil || (isLoopback(pu.Host) && !local) {
				continue
			}
			out = append(out, ServiceDTO{AppName: apolloConfigService, InstanceID: n.ID, HomepageURL: u + "/"})
		}
	}
	if len(out) == 0 {
		out = append(out, ServiceDTO{AppName: apolloConfigService, InstanceID: host, HomepageURL: scheme + "://" + host + "/"})
	}
	return r.JSON(fasthttp.StatusOK, out)
}

// isLoopback reports whether hostport names a loopback address or localhost.
func isLoopback(hostport string) bool {
	h := hostport
	if hh, _, err := net.SplitHostPort(hostport); err == nil {
		h = hh
	}
	if h == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.IsLoopback()
}
