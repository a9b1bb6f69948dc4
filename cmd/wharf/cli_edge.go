package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/wharfhq/wharf/gateway/edge"
	"github.com/wharfhq/wharf/internal/apiclient"
	"github.com/wharfhq/wharf/internal/cliout"
	"github.com/wharfhq/wharf/internal/config"
)

// newEdgeObjectCmd builds `wharf route|service|limit list|show|put|delete`.
func newEdgeObjectCmd(stdout io.Writer, noun, plural string, sample string, newObj func() any) *cobra.Command {
	cmd := &cobra.Command{Use: noun, Short: fmt.Sprintf("List, show, create, replace and delete gateway %s (admin)", plural)}
	base := "/api/v1/gateway/" + plural

	var lf clientFlags
	list := &cobra.Command{
		Use: "list", Short: "List " + plural, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := lf.client()
			if err != nil {
				return err
			}
			var out map[string]json.RawMessage
			if err := c.Do(cmd.Context(), "GET", base, nil, &out); err != nil {
				return err
			}
			if lf.json() {
				return printJSON(stdout, out[plural])
			}
			rows, err := edgeRows(plural, out[plural])
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Edge config version %s.\n", out["version"])
			return rows.Write(stdout, "No "+plural+".")
		},
	}
	lf.bind(list)

	var sf clientFlags
	show := &cobra.Command{
		Use: "show NAME", Short: "Show one " + noun, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := sf.client()
			if err != nil {
				return err
			}
			var out any
			err = c.Do(cmd.Context(), "GET", base+"/"+url.PathEscape(args[0]), nil, &out)
			if b, ok := builtinRoute(plural, args[0]); ok && apiclient.IsStatus(err, http.StatusNotFound) {
				return sf.show(stdout, b)
			}
			if err != nil {
				return err
			}
			return sf.show(stdout, out)
		},
	}
	sf.bind(show)

	var pf clientFlags
	var file string
	var putForce bool
	put := &cobra.Command{
		Use:     "put NAME -f FILE",
		Short:   fmt.Sprintf("Create or replace a %s from a YAML or JSON file (- for stdin)", noun),
		Example: sample,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			obj := newObj()
			if err := readObject(cmd.InOrStdin(), file, obj); err != nil {
				return err
			}
			c, err := pf.client()
			if err != nil {
				return err
			}
			var out struct {
				Version int64 `json:"version"`
				Object  any   `json:"object"`
			}
			if err := c.Do(cmd.Context(), "PUT", base+"/"+url.PathEscape(args[0])+forceQuery("?", putForce), obj, &out); err != nil {
				return err
			}
			if pf.output == "json" {
				return printJSON(stdout, out)
			}
			fmt.Fprintf(stdout, "Saved %s %s (edge config version %d).\n", noun, args[0], out.Version)
			return nil
		},
	}
	pf.bind(put)
	put.Flags().StringVarP(&file, "file", "f", "", "YAML or JSON file with the "+noun+" (- for stdin)")
	_ = put.MarkFlagRequired("file")
	put.Flags().BoolVar(&putForce, "force", false, forceHelp)

	var df clientFlags
	var delForce bool
	del := &cobra.Command{
		Use: "delete NAME", Short: "Delete a " + noun, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := df.client()
			if err != nil {
				return err
			}
			var out struct {
				Version int64 `json:"version"`
			}
			if err := c.Do(cmd.Context(), "DELETE", base+"/"+url.PathEscape(args[0])+forceQuery("?", delForce), nil, &out); err != nil {
				return err
			}
			if df.json() {
				return printJSON(stdout, out)
			}
			fmt.Fprintf(stdout, "Deleted %s %s (edge config version %d).\n", noun, args[0], out.Version)
			return nil
		},
	}
	df.bind(del)
	del.Flags().BoolVar(&delForce, "force", false, forceHelp)
	cmd.AddCommand(list, show, put, del)
	return cmd
}

// builtinRouteView is a built-in route as `route show` prints it.
type builtinRouteView struct {
	config.RouteConfig
	Builtin bool `json:"builtin"`
}

// builtinRoute is the built-in route called name, when plural is routes.
func builtinRoute(plural, name string) (builtinRouteView, bool) {
	if plural != "routes" {
		return builtinRouteView{}, false
	}
	for _, r := range config.BuiltinRoutes() {
		if r.Name == name {
			return builtinRouteView{RouteConfig: r, Builtin: true}, true
		}
	}
	return builtinRouteView{}, false
}

// readObject decodes a YAML or JSON file strictly (unknown keys are errors)
// into obj, which is one of the config edge types.
func readObject(stdin io.Reader, file string, obj any) error {
	var b []byte
	var err error
	if file == "-" {
		b, err = io.ReadAll(stdin)
	} else {
		b, err = os.ReadFile(file)
	}
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", file, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(obj); err != nil {
		return fmt.Errorf("cannot parse %s: %w", file, err)
	}
	return nil
}

func newEdgeCmds(stdout io.Writer) []*cobra.Command {
	return []*cobra.Command{
		newEdgeObjectCmd(stdout, "route", "routes",
			"  wharf route put shop -f route.yaml   # route.yaml: {host: shop.example.com, path: /, service: shop, limits: [per_ip]}",
			func() any { return &config.RouteConfig{} }),
		newEdgeObjectCmd(stdout, "service", "services",
			"  wharf service put shop -f svc.yaml   # svc.yaml: {instances: [{addr: \"10.0.0.5:9001\"}]}",
			func() any { return &config.ServiceConfig{} }),
		newEdgeObjectCmd(stdout, "limit", "limits",
			"  wharf limit put per_ip -f limit.yaml   # limit.yaml: {key: ip, rate: 10r/s, burst: 20, nodelay: true}",
			func() any { return &config.LimitConfig{} }),
		newACLCmd(stdout),
		newRoomCmd(stdout),
		newEdgeInfoCmd(stdout),
	}
}

func newEdgeInfoCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "edge", Short: "Show the gateway's edge config, its change history and live stats (admin)"}
	var sf clientFlags
	show := &cobra.Command{
		Use: "show", Short: "Show the whole edge config with its version", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := sf.client()
			if err != nil {
				return err
			}
			var out edge.Doc
			if err := cl.Do(cmd.Context(), "GET", "/api/v1/gateway/config", nil, &out); err != nil {
				return err
			}
			return sf.emit(stdout, out, func() error { return renderEdgeDoc(stdout, out, time.Now()) })
		},
	}
	sf.bind(show)
	var tf clientFlags
	stats := &cobra.Command{
		Use: "stats", Short: "Show this gateway node's live counters", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := tf.client()
			if err != nil {
				return err
			}
			var out any
			if err := cl.Do(cmd.Context(), "GET", "/api/v1/gateway/stats", nil, &out); err != nil {
				return err
			}
			return tf.show(stdout, out)
		},
	}
	tf.bind(stats)
	var hf clientFlags
	var limit int
	history := &cobra.Command{
		Use: "history", Short: "Who changed the edge config, what and when (newest first)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := hf.client()
			if err != nil {
				return err
			}
			var out struct {
				Changes []struct {
					Version int64     `json:"version"`
					By      string    `json:"by"`
					At      time.Time `json:"at"`
					Action  string    `json:"action"`
				} `json:"changes"`
			}
			if err := cl.Do(cmd.Context(), "GET", fmt.Sprintf("/api/v1/gateway/history?limit=%d", limit), nil, &out); err != nil {
				return err
			}
			if hf.output == "json" {
				return printJSON(stdout, out.Changes)
			}
			rows := cliout.NewRows("VERSION", "WHEN", "BY", "CHANGE")
			now := time.Now()
			for _, c := range out.Changes {
				rows.Add(fmt.Sprint(c.Version), cliout.Ago(c.At, now), c.By, c.Action)
			}
			return rows.Write(stdout, "No changes yet.")
		},
	}
	hf.bind(history)
	history.Flags().IntVar(&limit, "limit", 20, "how many changes to show")
	cmd.AddCommand(show, stats, history,
		newEdgeApplyCmd(stdout), newEdgeRollbackCmd(stdout), newEdgeStatusCmd(stdout))
	return cmd
}
