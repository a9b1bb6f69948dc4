package edge_test

import (
	"strings"
	"testing"

	"github.com/wharfhq/wharf/gateway/edge"
	"github.com/wharfhq/wharf/internal/config"
)

func TestValidateRewriteNamesTheField(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		route config.RouteConfig
		want  string
	}{
		"relative":       {config.RouteConfig{Path: "/shop", Rewrite: &config.RewriteConfig{Prefix: "new/"}}, "routes[0].rewrite.prefix: must start with /"},
		"double slash":   {config.RouteConfig{Path: "/shop", Rewrite: &config.RewriteConfig{Prefix: "/a//b/"}}, `routes[0].rewrite.prefix: must not hold "//"`},
		"dot dot":        {config.RouteConfig{Path: "/shop", Rewrite: &config.RewriteConfig{Prefix: "/a/../"}}, `routes[0].rewrite.prefix: must not hold "//" or a "." or ".." segment`},
		"control":        {config.RouteConfig{Path: "/shop", Rewrite: &config.RewriteConfig{Prefix: "/a\x01/"}}, "routes[0].rewrite.prefix: must hold only URI path characters"},
		"space":          {config.RouteConfig{Path: "/shop", Rewrite: &config.RewriteConfig{Prefix: "/a b/"}}, "routes[0].rewrite.prefix: must hold only URI path characters"},
		"encoded slash":  {config.RouteConfig{Path: "/shop", Rewrite: &config.RewriteConfig{Prefix: "/a%2f/"}}, "routes[0].rewrite.prefix: must not hold an encoded slash"},
		"trailing slash": {config.RouteConfig{Path: "/shop/", Rewrite: &config.RewriteConfig{Prefix: "/new"}}, `routes[0].rewrite.prefix: must end with / because the route path "/shop/" does`},
		"with strip":     {config.RouteConfig{Path: "/shop", StripPrefix: true, Rewrite: &config.RewriteConfig{Prefix: "/new"}}, "routes[0].strip_prefix: cannot be set together with rewrite"},
		"match":          {config.RouteConfig{Path: "/shop", Match: "Segment"}, `routes[0].match: must be prefix or segment, got "Segment"`},
	}
	for name, c := range cases {
		e := config.Edge{Services: []config.ServiceConfig{{Name: "shop", Instances: []config.InstanceConfig{{Addr: "127.0.0.1:1"}}}}}
		r := c.route
		r.Name, r.Service = "shop", "shop"
		e.Routes = []config.RouteConfig{r}
		err := edge.Validate(e)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", name, err, c.want)
		}
		if err != nil && strings.Count(err.Error(), "rewrite.prefix") > 1 {
			t.Errorf("%s: the prefix is reported twice: %v", name, err)
		}
	}
	good := config.Edge{
		Services: []config.ServiceConfig{{Name: "shop", Instances: []config.InstanceConfig{{Addr: "127.0.0.1:1"}}}},
		Routes: []config.RouteConfig{
			{Name: "a", Path: "/shop", Service: "shop", Match: config.MatchSegment, StripPrefix: true},
			{Name: "b", Path: "/old/", Service: "shop", Rewrite: &config.RewriteConfig{Prefix: "/new/v%C3%A9/"}},
		},
	}
	if err := edge.Validate(good); err != nil {
		t.Fatal(err)
	}
}

func TestCompareShowsRewrites(t *testing.T) {
	t.Parallel()
	from := sample()
	to := sample()
	to.Routes[0].Rewrite = &config.RewriteConfig{Prefix: "/new/"}
	to.Routes[0].Match = config.MatchSegment
	d := edge.Compare(from, to)
	if got := d.Summary(); got != "route shop changed (match, rewrite)" {
		t.Fatalf("summary %q", got)
	}
	if !strings.Contains(d.String(), `    rewrite: (none) -> {"prefix":"/new/"}`) {
		t.Fatalf("diff:\n%s", d)
	}
}

func TestCompareShowsPassRawPath(t *testing.T) {
	t.Parallel()
	from := sample()
	to := sample()
	to.Routes[0].PassRawPath = true
	d := edge.Compare(from, to)
	if got := d.Summary(); got != "route shop changed (pass_raw_path)" {
		t.Fatalf("summary %q", got)
	}
	if !strings.Contains(d.String(), `    pass_raw_path: (none) -> true`) {
		t.Fatalf("diff:\n%s", d)
	}
}
