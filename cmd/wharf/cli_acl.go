package main

import (
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/cliout"
)

func newACLCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "acl", Short: "Global allow/deny lists and bans (admin)"}

	var bf clientFlags
	var dur time.Duration
	var reason, route string
	var banForce bool
	ban := &cobra.Command{
		Use:     "ban IP|CIDR --for DURATION",
		Short:   "Ban an address or prefix for a while, on every gateway node within a second",
		Example: "  wharf acl ban 1.2.3.4 --for 10m --reason scraping\n  wharf acl ban 2001:db8::/48 --for 1h --route shop",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case !cmd.Flags().Changed("for"):
				return fmt.Errorf("--for is required, e.g. --for 10m")
			case dur <= 0:
				return fmt.Errorf("--for must be a positive duration, e.g. --for 10m, got %s", dur)
			}
			c, err := bf.client()
			if err != nil {
				return err
			}
			var out struct {
				Prefix    string    `json:"prefix"`
				ExpiresAt time.Time `json:"expires_at"`
				Route     string    `json:"route"`
			}
			in := map[string]any{"prefix": args[0], "ttl": dur.String(), "reason": reason, "route": route}
			if banForce {
				in["force"] = true
			}
			if err := c.Do(cmd.Context(), "POST", "/api/v1/gateway/bans", in, &out); err != nil {
				return err
			}
			if bf.output == "json" {
				return printJSON(stdout, out)
			}
			where := "everywhere"
			if out.Route != "" {
				where = "on route " + out.Route
			}
			fmt.Fprintf(stdout, "Banned %s %s until %s.\n", out.Prefix, where, out.ExpiresAt.Format(time.RFC3339))
			return nil
		},
	}
	bf.bind(ban)
	ban.Flags().DurationVar(&dur, "for", 0, "how long the ban lasts, e.g. 10m, 24h")
	ban.Flags().StringVar(&reason, "reason", "", "why (stored with the ban)")
	ban.Flags().StringVar(&route, "route", "", "ban on this route only")
	ban.Flags().BoolVar(&banForce, "force", false, forceHelp)

	var uf clientFlags
	var uroute string
	unban := &cobra.Command{
		Use: "unban IP|CIDR", Short: "Lift a ban (manual or automatic)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := uf.client()
			if err != nil {
				return err
			}
			q := url.Values{"prefix": {args[0]}}
			if uroute != "" {
				q.Set("route", uroute)
			}
			if err := c.Do(cmd.Context(), "DELETE", "/api/v1/gateway/bans?"+q.Encode(), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Lifted the ban of %s.\n", args[0])
			return nil
		},
	}
	uf.bind(unban)
	unban.Flags().StringVar(&uroute, "route", "", "the route of a route-scoped ban")

	var lf clientFlags
	bans := &cobra.Command{
		Use: "bans", Short: "List active bans", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := lf.client()
			if err != nil {
				return err
			}
			var out struct {
				Bans []struct {
					Prefix    string    `json:"prefix"`
					Reason    string    `json:"reason"`
					CreatedBy string    `json:"created_by"`
					ExpiresAt time.Time `json:"expires_at"`
					Auto      bool      `json:"auto"`
					Route     string    `json:"route"`
				} `json:"bans"`
			}
			if err := c.Do(cmd.Context(), "GET", "/api/v1/gateway/bans", nil, &out); err != nil {
				return err
			}
			if lf.output == "json" {
				return printJSON(stdout, out.Bans)
			}
			rows := cliout.NewRows("PREFIX", "ROUTE", "EXPIRES", "BY", "KIND", "REASON")
			now := time.Now()
			for _, b := range out.Bans {
				r := b.Route
				if r == "" {
					r = "* (global)"
				}
				kind := "manual"
				if b.Auto {
					kind = "auto"
				}
				rows.Add(b.Prefix, r, cliout.Ago(b.ExpiresAt, now), b.CreatedBy, kind, b.Reason)
			}
			return rows.Write(stdout, "No active bans.")
		},
	}
	lf.bind(bans)

	cmd.AddCommand(ban, unban, bans, newACLListCmd(stdout, "allow"), newACLListCmd(stdout, "deny"), newUnlockCmd(stdout))
	return cmd
}

// newACLListCmd builds `wharf acl allow|deny add|remove|show`.
func newACLListCmd(stdout io.Writer, list string) *cobra.Command {
	cmd := &cobra.Command{Use: list, Short: fmt.Sprintf("Change the global %s list", list)}
	var af clientFlags
	var addForce bool
	add := &cobra.Command{
		Use: "add CIDR...", Short: "Add IPs or CIDRs", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			var out struct {
				Version int64 `json:"version"`
				Added   int   `json:"added"`
			}
			in := map[string]any{"cidrs": args}
			if addForce {
				in["force"] = true
			}
			if err := c.Do(cmd.Context(), "POST", "/api/v1/gateway/acl/"+list, in, &out); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Added %d to the %s list (edge config version %d).\n", out.Added, list, out.Version)
			return nil
		},
	}
	af.bind(add)
	add.Flags().BoolVar(&addForce, "force", false, forceHelp)
	var rf clientFlags
	var removeForce bool
	remove := &cobra.Command{
		Use: "remove CIDR", Short: "Remove an IP or CIDR", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := rf.client()
			if err != nil {
				return err
			}
			var out struct {
				Version int64 `json:"version"`
			}
			if err := c.Do(cmd.Context(), "DELETE", "/api/v1/gateway/acl/"+list+"?cidr="+url.QueryEscape(args[0])+forceQuery("&", removeForce), nil, &out); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Removed %s from the %s list (edge config version %d).\n", args[0], list, out.Version)
			return nil
		},
	}
	rf.bind(remove)
	remove.Flags().BoolVar(&removeForce, "force", false, forceHelp)
	var sf clientFlags
	show := &cobra.Command{
		Use: "show", Short: "Show the list", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := sf.client()
			if err != nil {
				return err
			}
			var out map[string]any
			if err := c.Do(cmd.Context(), "GET", "/api/v1/gateway/acl", nil, &out); err != nil {
				return err
			}
			if sf.output == "json" {
				return printJSON(stdout, out[list])
			}
			items, _ := out[list].([]any)
			rows := cliout.NewRows(strings.ToUpper(list))
			for _, it := range items {
				rows.Add(fmt.Sprint(it))
			}
			empty := "The allow list is empty: every address not denied is let in."
			if list == "deny" {
				empty = "The deny list is empty."
			}
			return rows.Write(stdout, empty)
		},
	}
	sf.bind(show)
	cmd.AddCommand(add, remove, show)
	return cmd
}

// forceHelp describes every --force flag.
const forceHelp = "apply a change that would lock out this client, the CLI or the local agent " +
	"(refused otherwise; POST /admin/unlock on the internal listener, or wharf acl unlock, lets an address back in)"

// forceQuery returns sep+"force=true" when force is set, else "".
func forceQuery(sep string, force bool) string {
	if force {
		return sep + "force=true"
	}
	return ""
}
