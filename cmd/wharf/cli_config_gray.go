package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wharfhq/wharf/functions/config"
	"github.com/wharfhq/wharf/functions/config/model"
	"github.com/wharfhq/wharf/internal/apiclient"
	"github.com/wharfhq/wharf/internal/cliout"
)

// newConfigGrayCmd is `wharf config gray create|rule|set|delete|publish|promote|abandon`.
func newConfigGrayCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "gray", Short: "A gray branch: values for the clients its rules pick (hash percentage, IPs, labels), then promote or abandon"}
	cmd.AddCommand(newGrayRulesCmd(stdout, true), newGrayRulesCmd(stdout, false), newGraySetCmd(stdout, false), newGraySetCmd(stdout, true),
		newGrayActionCmd(stdout, "publish", "Publish the gray values: clients the rules pick read them from now on", "POST", "/gray/releases"),
		newGrayActionCmd(stdout, "promote", "Publish the draft with the gray values as the next release for everybody, and end the branch", "POST", "/gray/promote"),
		newGrayActionCmd(stdout, "abandon", "End the gray branch: its clients read the main release again", "DELETE", "/gray"))
	return cmd
}

// ruleFlags are the gray rule flags.
type ruleFlags struct {
	percent float64
	ips     []string
	labels  []string
}

func (r *ruleFlags) bind(fl *pflag.FlagSet) {
	fl.Float64Var(&r.percent, "percent", 0, "percentage of clients by the hash of their instance id (else IP); a ramp keeps those in")
	fl.StringSliceVar(&r.ips, "ip", nil, "client IPs (repeat or comma-separate; * for all)")
	fl.StringSliceVar(&r.labels, "label", nil, "client labels (Apollo's label)")
}

func (r *ruleFlags) rules() model.Rules {
	return model.Rules{Percent: r.percent, IPs: r.ips, Labels: r.labels}
}

func printGray(w io.Writer, app string, f *nsFlags, g config.GrayView) error {
	fmt.Fprintf(w, "Gray branch of %s/%s/%s: %v %% of clients, IPs %v, labels %v; gray release %d\n", app, f.cluster, f.namespace,
		g.Rules.Percent, g.Rules.IPs, g.Rules.Labels, g.Release)
	rows := cliout.NewRows("KEY", "GRAY VALUE")
	for _, k := range model.SortedKeys(g.Edits.Set) {
		rows.Add(k, cliout.Cell(g.Edits.Set[k]))
	}
	for _, k := range g.Edits.Delete {
		rows.Add(k, "(deleted)")
	}
	return rows.Write(w, "No gray values yet: wharf config gray set APP KEY VALUE.")
}

// newGrayRulesCmd is `gray create` (create) or `gray rule`: both send
// the rules and print the branch.
func newGrayRulesCmd(stdout io.Writer, create bool) *cobra.Command {
	var f nsFlags
	var r ruleFlags
	nc := clientCommand{
		Use:   "rule APP [--percent P] [--ip IP] [--label L]",
		Short: "Replace the gray rules; they take effect at once",
		Args:  cobra.ExactArgs(1),
		Flags: r.bind,
		Run: func(cmd *cobra.Command, c *apiclient.Client, args []string) error {
			rules := r.rules()
			method, suffix, body := "PUT", "/gray/rules", any(rules)
			if create {
				suffix, body = "/gray", config.CreateGray{Rules: &rules}
			}
			return doEmit(cmd, c, &f.clientFlags, stdout, method, f.path(args[0], suffix), body, func(g config.GrayView) error {
				return printGray(stdout, args[0], &f, g)
			})
		},
	}
	if create {
		nc.Use, nc.Short = "create APP [--percent P] [--ip IP] [--label L]", "Start a gray branch of a namespace with its rules"
	}
	return newClientCommand(&f, nc)
}

func newGraySetCmd(stdout io.Writer, del bool) *cobra.Command {
	var f nsFlags
	use, short, nargs := "set APP KEY VALUE", "Set a gray value (published with gray publish)", 3
	if del {
		use, short, nargs = "delete APP KEY", "Delete a key for gray clients (published with gray publish)", 2
	}
	return newClientCommand(&f, clientCommand{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(nargs),
		Run: func(cmd *cobra.Command, c *apiclient.Client, args []string) error {
			var body any
			method := "DELETE"
			if !del {
				method, body = "PUT", map[string]string{"value": args[2]}
			}
			return doEmit(cmd, c, &f.clientFlags, stdout, method, f.path(args[0], "/gray/items/"+url.PathEscape(args[1])), body, func(g config.GrayView) error {
				return printGray(stdout, args[0], &f, g)
			})
		},
	})
}

func newGrayActionCmd(stdout io.Writer, name, short, method, suffix string) *cobra.Command {
	var f nsFlags
	var comment string
	nc := clientCommand{
		Use:   name + " APP",
		Short: short,
		Args:  cobra.ExactArgs(1),
		Run: func(cmd *cobra.Command, c *apiclient.Client, args []string) error {
			if method == "DELETE" {
				return doEmit(cmd, c, &f.clientFlags, stdout, method, f.path(args[0], suffix), nil, func(map[string]uint64) error {
					_, err := fmt.Fprintf(stdout, "Abandoned the gray branch of %s/%s/%s: every client reads the main release.\n", args[0], f.cluster, f.namespace)
					return err
				})
			}
			verb := map[string]string{"publish": "Published gray", "promote": "Promoted the gray branch as"}[name]
			return doEmit(cmd, c, &f.clientFlags, stdout, method, f.path(args[0], suffix), config.Publish{Comment: comment}, func(rel model.Release) error {
				return printRelease(stdout, verb, rel)
			})
		},
	}
	if method != "DELETE" {
		nc.Flags = func(fl *pflag.FlagSet) {
			fl.StringVar(&comment, "comment", "", "what the release changes, for the history")
		}
	}
	return newClientCommand(&f, nc)
}

// newConfigAccessKeyCmd is `wharf config accesskey create|list|enable|disable|delete`.
func newConfigAccessKeyCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "accesskey", Short: "An app's access keys: Apollo clients sign their reads with one (secret shown once)"}
	keysPath := func(app, id string) string {
		p := "/api/v1/config/apps/" + url.PathEscape(app) + "/accesskeys"
		if id != "" {
			p += "/" + url.PathEscape(id)
		}
		return p
	}
	var cf, lf clientFlags
	create := newClientCommand(&cf, clientCommand{
		Use: "create APP", Short: "Create an access key; its secret is shown only now", Args: cobra.ExactArgs(1),
		Run: func(cmd *cobra.Command, c *apiclient.Client, args []string) error {
			return doEmit(cmd, c, &cf, stdout, "POST", keysPath(args[0], ""), nil, func(k config.AccessKey) error {
				_, err := fmt.Fprintf(stdout, "Access key %s of app %s. Its secret, shown only this once (set it as the Apollo client's secret):\n\n  %s\n", k.ID, args[0], k.Secret)
				return err
			})
		},
	})
	list := newClientCommand(&lf, clientCommand{
		Use: "list APP", Short: "List an app's access keys (no secrets)", Args: cobra.ExactArgs(1),
		Run: func(cmd *cobra.Command, c *apiclient.Client, args []string) error {
			return getEmit(cmd, c, &lf, stdout, keysPath(args[0], ""), func(l config.AccessKeyList) error {
				rows := cliout.NewRows("ID", "ENABLED", "CREATED_BY", "CREATED")
				for _, k := range l.Keys {
					rows.Add(k.ID, fmt.Sprint(k.Enabled), k.CreatedBy, cliout.Ago(k.CreatedAt, time.Now()))
				}
				return rows.Write(stdout, "No access keys.")
			})
		},
	})
	cmd.AddCommand(create, list)
	for _, a := range []struct {
		name, short, method string
		body                any
	}{
		{"enable", "Enable an access key", "PUT", config.UpdateKey{Enabled: ptr(true)}},
		{"disable", "Disable an access key: reads signed with it get 401", "PUT", config.UpdateKey{Enabled: ptr(false)}},
		{"delete", "Delete an access key", "DELETE", nil},
	} {
		var f clientFlags
		cmd.AddCommand(newClientCommand(&f, clientCommand{
			Use: a.name + " APP ID", Short: a.short, Args: cobra.ExactArgs(2),
			Run: func(cmd *cobra.Command, c *apiclient.Client, args []string) error {
				var out json.RawMessage
				if err := c.Do(cmd.Context(), a.method, keysPath(args[0], args[1]), a.body, &out); err != nil {
					return err
				}
				return f.emit(stdout, map[string]string{"id": args[1], "done": a.name}, func() error {
					_, err := fmt.Fprintf(stdout, "Access key %s of app %s: %sd.\n", args[1], args[0], a.name)
					return err
				})
			},
		}))
	}
	return cmd
}

func ptr[T any](v T) *T { return &v }
