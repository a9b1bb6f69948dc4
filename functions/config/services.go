package config

import (
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
// node list is unavailable. Public, as Apollo's meta service is.
func (f *Function) services(r *fnapi.Request) error {
	cctx, cancel := f.storeCtx(r.Context())
	recs, err := nodes.List(cctx, f.st, f.log)
	cancel()
	out := []ServiceDTO{}
	if err == nil {
		for _, n := range recs {
			if n.Ready && n.Gateway != "" {
				out = append(out, ServiceDTO{AppName: apolloConfigService, InstanceID: n.ID, HomepageURL: n.Gateway + "/"})
			}
		}
	}
	if len(out) == 0 {
		scheme := "http"
		if r.Ctx.IsTLS() {
			scheme = "https"
		}
		host := string(r.Ctx.Host())
		out = append(out, ServiceDTO{AppName: apolloConfigService, InstanceID: host, HomepageURL: scheme + "://" + host + "/"})
	}
	return r.JSON(fasthttp.StatusOK, out)
}
