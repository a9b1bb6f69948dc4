package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/functions/admin"
	"github.com/wharfhq/wharf/functions/artifacts"
	"github.com/wharfhq/wharf/functions/deploy/plan"
	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/apiclient"
	"github.com/wharfhq/wharf/internal/cliout"
	"github.com/wharfhq/wharf/internal/nodes"
)

// appsResponse is GET /api/v1/apps.
type appsResponse = artifacts.AppsResponse

// clientVersion is this binary's version: the -X main.version stamp, with
// the VCS revision Go recorded when it is "dev".
func clientVersion() string {
	v := version
	if v != "dev" {
		return v
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return v + "+" + s.Value[:12]
			}
		}
	}
	return v
}

// versionView is `wharf version -o json`.
type versionView struct {
	Client struct {
		Version string `json:"version"`
		Go      string `json:"go"`
		OSArch  string `json:"os_arch"`
	} `json:"client"`
	Server struct {
		URL     string `json:"url"`
		Version string `json:"version,omitempty"`
		Error   string `json:"error,omitempty"`
	} `json:"server"`
}

func newVersionCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use: "version", Short: "Show the CLI's version and the server's, when it can be reached", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := cliout.ParseFormat(f.output); err != nil {
				return err
			}
			var v versionView
			v.Client.Version, v.Client.Go, v.Client.OSArch = clientVersion(), runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH
			who, server, err := whoami(cmd.Context(), &f)
			v.Server.URL = server
			if err != nil {
				v.Server.Error = err.Error()
			} else {
				v.Server.Version = who.ServerVersion
			}
			return f.emit(stdout, v, func() error {
				var kv cliout.KV
				kv.Add("Client", fmt.Sprintf("%s (%s, %s)", v.Client.Version, v.Client.Go, v.Client.OSArch))
				if v.Server.Error != "" {
					where := v.Server.URL
					if where == "" {
						where = "unknown"
					}
					kv.Add("Server", fmt.Sprintf("%s: %s", where, v.Server.Error))
				} else {
					kv.Add("Server", fmt.Sprintf("%s (%s)", v.Server.Version, v.Server.URL))
				}
				return kv.Write(stdout)
			})
		},
	}
	f.bind(cmd)
	return cmd
}

// whoami asks the server who the credentials are, with a short timeout.
func whoami(ctx context.Context, f *clientFlags) (whoamiView, string, error) {
	cr, err := f.credentials()
	if err != nil {
		return whoamiView{}, cr.server, err
	}
	c, err := apiclient.New(cr.server, cr.token)
	if err != nil {
		return whoamiView{}, cr.server, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var w whoamiView
	err = c.Do(ctx, http.MethodGet, "/api/v1/whoami", nil, &w)
	return w, cr.server, err
}

// gatewayNode is what status shows of the gateway node that answered
// (GET /api/v1/gateway/stats, admin).
type gatewayNode struct {
	ConfigVersion int64  `json:"config_version"`
	InFlight      uint64 `json:"in_flight"`
	LimitMode     string `json:"limit_mode"`
}

// statusView is `wharf status -o json`.
type statusView struct {
	Server   string                 `json:"server"`
	Version  string                 `json:"server_version"`
	Token    whoamiView             `json:"token"`
	Gateway  *gatewayNode           `json:"gateway,omitempty"`
	Nodes    []nodes.Record         `json:"nodes"`
	NodesErr string                 `json:"nodes_error,omitempty"`
	Hosts    []wire.Host            `json:"hosts"`
	HostsErr string                 `json:"hosts_error,omitempty"`
	Apps     []artifacts.AppSummary `json:"apps"`
	AppsErr  string                 `json:"apps_error,omitempty"`
	Deploys  []plan.Summary         `json:"running_deploys"`
}

func newStatusCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "One screen: the server, its nodes with their roles and readiness, the deploy hosts, the apps with their live versions and the running deploys",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cr, err := f.credentials()
			if err != nil {
				return err
			}
			c, err := apiclient.New(cr.server, cr.token)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			v := statusView{Server: cr.server, Nodes: []nodes.Record{}, Hosts: []wire.Host{}, Deploys: []plan.Summary{}}
			if err := c.Do(ctx, http.MethodGet, "/api/v1/whoami", nil, &v.Token); err != nil {
				return fmt.Errorf("cannot reach %s: %w", cr.server, err)
			}
			v.Version = v.Token.ServerVersion
			var gw gatewayNode
			if err := c.Do(ctx, http.MethodGet, "/api/v1/gateway/stats", nil, &gw); err == nil {
				v.Gateway = &gw
			}
			var ns admin.NodesResponse
			switch err := c.Do(ctx, http.MethodGet, "/api/v1/nodes", nil, &ns); {
			case err == nil:
				v.Nodes = ns.Nodes
			case apiclient.IsStatus(err, http.StatusForbidden):
				v.NodesErr = "only admins see the nodes"
			case apiclient.IsStatus(err, http.StatusNotFound):
				v.NodesErr = "the server is older than the node registry"
			default:
				return err
			}
			var hosts struct {
				Hosts []wire.Host `json:"hosts"`
			}
			switch err := c.Do(ctx, http.MethodGet, "/api/v1/agents/hosts", nil, &hosts); {
			case err == nil:
				v.Hosts = hosts.Hosts
			case apiclient.IsStatus(err, http.StatusForbidden):
				v.HostsErr = "only admins see the hosts"
			default:
				return err
			}
			var apps appsResponse
			switch err := c.Do(ctx, http.MethodGet, "/api/v1/apps", nil, &apps); {
			case err == nil:
			case apiclient.IsStatus(err, http.StatusNotFound):
				// A gateway role without the artifacts function.
				v.AppsErr = "this server does not serve the apps API: ask a functions node or serve"
			default:
				return err
			}
			v.Apps = apps.Apps
			for _, a := range apps.Apps {
				var ds struct {
					Deploys []plan.Summary `json:"deploys"`
				}
				if err := c.Do(ctx, http.MethodGet, appPath(a.App)+"/deploys?limit=5", nil, &ds); err != nil {
					return err
				}
				for _, d := range ds.Deploys {
					if !(&plan.Record{State: d.State}).Done() {
						v.Deploys = append(v.Deploys, d)
					}
				}
			}
			return f.emit(stdout, v, func() error { return renderStatus(stdout, v, time.Now()) })
		},
	}
	f.bind(cmd)
	return cmd
}

func renderStatus(w io.Writer, v statusView, now time.Time) error {
	var kv cliout.KV
	kv.Add("Server", fmt.Sprintf("%s (version %s, API ready)", v.Server, v.Version))
	kv.Add("Token", fmt.Sprintf("%s (%s)", v.Token.Name, strings.Join(v.Token.Scopes, ",")))
	if g := v.Gateway; g != nil {
		kv.Add("Gateway", fmt.Sprintf("edge config version %d applied, %d requests in flight, rate limits %s", g.ConfigVersion, g.InFlight, g.LimitMode))
	}
	if err := kv.Write(w); err != nil {
		return err
	}
	if err := renderNodes(w, v, now); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nHosts:")
	if v.HostsErr != "" {
		fmt.Fprintf(w, "  (%s)\n", v.HostsErr)
	} else {
		rows := cliout.NewRows("HOST", "ROOM", "LABELS", "AGENT", "APPS", "BUSY", "LAST HEARTBEAT")
		rows.Indent = "  "
		for _, h := range v.Hosts {
			var apps []string
			for app, st := range h.Apps {
				apps = append(apps, app+"@"+st.Version)
			}
			busy := ""
			if h.Busy != nil {
				busy = "yes"
			}
			rows.Add(h.ID, h.Room, strings.Join(h.Labels, ","), h.Agent, strings.Join(slices.Sorted(slices.Values(apps)), " "), busy, cliout.Ago(h.Seen, now))
		}
		if err := rows.Write(w, "No deploy host has sent a heartbeat: start wharf agent (wharf serve runs one)."); err != nil {
			return err
		}
	}
	fmt.Fprintln(w, "\nApps:")
	if v.AppsErr != "" {
		fmt.Fprintf(w, "  (%s)\n", v.AppsErr)
	}
	rows := cliout.NewRows("APP", "TEAM", "LIVE", "LATEST", "PUSHED", "VERSIONS")
	rows.Indent = "  "
	for _, a := range v.Apps {
		rows.Add(a.App, a.Team, strings.Join(a.Live, ","), a.Latest, cliout.Ago(a.PushedAt, now), fmt.Sprint(a.Versions))
	}
	if v.AppsErr == "" {
		if err := rows.Write(w, "No apps: push one with wharf push DIR --version V."); err != nil {
			return err
		}
	}
	fmt.Fprintln(w, "\nRunning deploys:")
	rows = cliout.NewRows("ID", "APP", "VERSION", "FROM", "STATE", "STEP", "TARGETS", "NEXT STEP")
	rows.Indent = "  "
	for _, d := range v.Deploys {
		rows.Add(d.ID, d.App, d.Version, d.Previous, string(d.State), fmt.Sprintf("%d/%d", d.Step, d.Steps), fmt.Sprint(d.Targets), cliout.Ago(d.NextAt, now))
	}
	return rows.Write(w, "None.")
}

// renderNodes is the Nodes section of status: every Wharf process with a
// store that runs now (agents are under Hosts).
func renderNodes(w io.Writer, v statusView, now time.Time) error {
	fmt.Fprintln(w, "\nNodes:")
	if v.NodesErr != "" {
		fmt.Fprintf(w, "  (%s)\n", v.NodesErr)
		return nil
	}
	rows := cliout.NewRows("NODE", "ROLES", "VERSION", "READY", "GATEWAY", "UP", "LAST SEEN")
	rows.Indent = "  "
	for _, n := range v.Nodes {
		ready := "yes"
		switch {
		case !n.Ready && len(n.Failing) > 0:
			ready = "no: " + strings.Join(n.Failing, ",")
		case !n.Ready:
			ready = "no"
		}
		gw := n.Gateway
		if gw == "" {
			gw = n.GatewayTLS
		}
		rows.Add(n.ID, strings.Join(n.Roles, ","), n.Version, ready, gw, cliout.Age(n.StartedAt, now), cliout.Ago(n.Seen, now))
	}
	return rows.Write(w, "No node has announced itself (nodes older than this version do not).")
}

func newAppsCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "apps", Short: "The apps your token may see"}
	var f clientFlags
	list := &cobra.Command{
		Use: "list", Short: "List apps: team, versions in use, the latest push", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var out appsResponse
			if err := c.Do(cmd.Context(), http.MethodGet, "/api/v1/apps", nil, &out); err != nil {
				return err
			}
			return f.emit(stdout, out.Apps, func() error {
				now := time.Now()
				rows := cliout.NewRows("APP", "TEAM", "LIVE", "LATEST", "PUSHED", "VERSIONS")
				for _, a := range out.Apps {
					rows.Add(a.App, a.Team, strings.Join(a.Live, ","), a.Latest, cliout.Ago(a.PushedAt, now), fmt.Sprint(a.Versions))
				}
				return rows.Write(stdout, "No apps yet: push one with wharf push DIR --version V.")
			})
		},
	}
	f.bind(list)
	cmd.AddCommand(list)
	return cmd
}
