package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

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
			if lf.output == "json" {
				return printJSON(stdout, out[plural])
			}
			var items []map[string]any
			if err := json.Unmarshal(out[plural], &items); err != nil {
				return fmt.Errorf("cannot decode the answer: %w", err)
			}
			fmt.Fprintf(stdout, "edge config version %s\n", out["version"])
			tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
			for _, it := range items {
				b, _ := json.Marshal(it)
				fmt.Fprintf(tw, "%v\t%s\n", it["name"], b)
			}
			return tw.Flush()
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
			if err := c.Do(cmd.Context(), "GET", base+"/"+url.PathEscape(args[0]), nil, &out); err != nil {
				return err
			}
			return printJSON(stdout, out)
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
			fmt.Fprintf(stdout, "Deleted %s %s (edge config version %d).\n", noun, args[0], out.Version)
			return nil
		},
	}
	df.bind(del)
	del.Flags().BoolVar(&delForce, "force", false, forceHelp)
	cmd.AddCommand(list, show, put, del)
	return cmd
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
	get := func(use, short, path string) *cobra.Command {
		var f clientFlags
		c := &cobra.Command{
			Use: use, Short: short, Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				cl, err := f.client()
				if err != nil {
					return err
				}
				var out any
				if err := cl.Do(cmd.Context(), "GET", path, nil, &out); err != nil {
					return err
				}
				return printJSON(stdout, out)
			},
		}
		f.bind(c)
		return c
	}
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
			tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "VERSION\tWHEN\tBY\tCHANGE")
			for _, c := range out.Changes {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", c.Version, c.At.Format(time.RFC3339), c.By, c.Action)
			}
			return tw.Flush()
		},
	}
	hf.bind(history)
	history.Flags().IntVar(&limit, "limit", 20, "how many changes to show")
	cmd.AddCommand(get("show", "Show the whole edge config with its version", "/api/v1/gateway/config"),
		get("stats", "Show this gateway node's live counters", "/api/v1/gateway/stats"), history,
		newEdgeApplyCmd(stdout), newEdgeRollbackCmd(stdout), newEdgeStatusCmd(stdout))
	return cmd
}
