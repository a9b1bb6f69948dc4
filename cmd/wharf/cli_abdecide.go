package main

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wharfhq/wharf/functions/ab"
	"github.com/wharfhq/wharf/internal/apiclient"
	"github.com/wharfhq/wharf/internal/cliout"
)

func newABDecideCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var attrs []string
	var explain bool
	var a map[string]any
	return newTeamCommand(&f, teamCommand{
		Use:      "decide UNIT [--attr NAME=VALUE]... [--explain] [--team T]",
		Short:    "Which variation UNIT is in, for every running experiment of the team",
		Args:     cobra.ExactArgs(1),
		TeamHelp: abTeamHelp,
		AnyTeam:  true,
		Flags: func(fl *pflag.FlagSet) {
			fl.StringArrayVar(&attrs, "attr", nil, "an attribute NAME=VALUE for targeting (repeat; numbers and true/false are typed)")
			fl.BoolVar(&explain, "explain", false, "list every running experiment with why the unit is in or out")
		},
		Prepare: func(*cobra.Command, []string) error {
			a = map[string]any{}
			for _, s := range attrs {
				k, v, ok := strings.Cut(s, "=")
				if !ok || k == "" {
					return fmt.Errorf("--attr %q: want NAME=VALUE", s)
				}
				if n, err := strconv.ParseFloat(v, 64); err == nil {
					a[k] = n
				} else if v == "true" || v == "false" {
					a[k] = v == "true"
				} else {
					a[k] = v
				}
			}
			return nil
		},
		Run: func(cmd *cobra.Command, c *apiclient.Client, team string, args []string) error {
			in := map[string]any{"unit": args[0], "attributes": a, "team": team, "explain": explain}
			return doEmit(cmd, c, &f, stdout, "POST", "/fn/ab/decide", in, func(d ab.Decision) error {
				fmt.Fprintf(stdout, "Unit %s, team %s, experiment set %s:\n", d.Unit, d.Team, d.SetVersion)
				head := []string{"EXPERIMENT", "LAYER", "VARIATION", "NAME", "VALUE", "BUCKET"}
				if explain {
					head = append(head, "REASON")
				}
				rows := cliout.NewRows(head...)
				for _, x := range d.Assignments {
					v := strconv.Itoa(x.Variation)
					switch {
					case x.Holdout:
						v = "holdout"
					case !x.InExperiment:
						v = "-"
					case x.Forced:
						v += " (forced)"
					}
					cells := []string{x.Experiment, cliout.Cell(x.Layer), v, cliout.Cell(x.VariationName), cliout.Cell(string(x.Value)), strconv.Itoa(x.Bucket)}
					if explain {
						cells = append(cells, x.Reason)
					}
					rows.Add(cells...)
				}
				return rows.Write(stdout, "In no running experiment.")
			})
		},
	})
}

func newABTrackCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var ts string
	var v float64
	return newTeamCommand(&f, teamCommand{
		Use:      "track UNIT METRIC VALUE [--ts RFC3339] [--team T]",
		Short:    "Send one metric event of a unit (the aggregator adds it to the unit's total)",
		Args:     cobra.ExactArgs(3),
		TeamHelp: abTeamHelp,
		AnyTeam:  true,
		Flags:    func(fl *pflag.FlagSet) { fl.StringVar(&ts, "ts", "", "when it happened (RFC 3339; default now)") },
		Prepare: func(_ *cobra.Command, args []string) error {
			var err error
			if v, err = strconv.ParseFloat(args[2], 64); err != nil {
				return fmt.Errorf("VALUE %q is not a number", args[2])
			}
			if ts != "" {
				if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
					return fmt.Errorf("--ts %q: want RFC 3339, e.g. 2026-01-02T15:04:05Z", ts)
				}
			}
			return nil
		},
		Run: func(cmd *cobra.Command, c *apiclient.Client, team string, args []string) error {
			in := map[string]any{"unit": args[0], "metric": args[1], "value": v, "ts": ts}
			return doEmit(cmd, c, &f, stdout, "POST", "/fn/ab/track?team="+url.QueryEscape(team), in, func(out ab.TrackResult) error {
				_, err := fmt.Fprintf(stdout, "Accepted %d event.\n", out.Accepted)
				return err
			})
		},
	})
}

func newABResultsCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var trim, population string
	var metrics []string
	var holm bool
	return newTeamCommand(&f, teamCommand{
		Use:      "results EXPERIMENT [--metric M]... [--trim none|iqr|cap:0.99[:pooled]] [--holm]",
		Short:    "Per-variation statistics of an experiment's metrics: units, mean, lift with 95% CI, p; SRM",
		Args:     cobra.ExactArgs(1),
		TeamHelp: abTeamHelp,
		Flags: func(fl *pflag.FlagSet) {
			fl.StringArrayVar(&metrics, "metric", nil, "only this metric (repeat; default every metric of the team)")
			fl.StringVar(&trim, "trim", "", "outliers: none, iqr (boxplot rule), cap:P (cap at the P percentile); per variation, or :pooled")
			fl.BoolVar(&holm, "holm", false, "Holm–Bonferroni adjusted p-values across the metrics")
			fl.StringVar(&population, "population", "", "only the exposed units that sent this metric (e.g. visited) count, 0 for a metric they did not send")
		},
		Run: func(cmd *cobra.Command, c *apiclient.Client, team string, args []string) error {
			q := url.Values{}
			for _, m := range metrics {
				q.Add("metric", m)
			}
			if trim != "" {
				q.Set("trim", trim)
			}
			if holm {
				q.Set("holm", "true")
			}
			if population != "" {
				q.Set("population", population)
			}
			return getEmit(cmd, c, &f, stdout, "/fn/ab/results/"+url.PathEscape(team)+"/"+url.PathEscape(args[0])+"?"+q.Encode(), func(res ab.Results) error {
				return writeResults(stdout, res)
			})
		},
	})
}

// writeResults prints res as a table.
func writeResults(w io.Writer, res ab.Results) error {
	fmt.Fprintf(w, "Experiment %s of team %s (%s, bucket version %d), trim %s.\n", res.Experiment, res.Team, res.Status, res.BucketVersion, res.Trim)
	units := make([]string, len(res.ExposedUnits))
	for i, n := range res.ExposedUnits {
		units[i] = strconv.FormatInt(n, 10)
	}
	fmt.Fprintf(w, "Exposed units: %s by variation; %d exposed to several variations, left out.\n", strings.Join(units, "/"), res.MultipleExposures)
	if res.Population != "" {
		fmt.Fprintf(w, "Population: the exposed units that sent %s (0 for a metric they did not send).\n", res.Population)
	}
	fmt.Fprintln(w, srmLine(res.SRM))
	rows := cliout.NewRows("METRIC", "KIND", "VARIATION", "UNITS", "TRIMMED", "MEAN", "LIFT", "CI95", "P", "P_HOLM")
	g := func(x float64) string { return strconv.FormatFloat(x, 'g', 4, 64) }
	for _, m := range res.Metrics {
		for i, v := range m.Variations {
			name := strconv.Itoa(i)
			if i < len(res.Variations) && res.Variations[i] != "" {
				name += " " + res.Variations[i]
			}
			lift, ci, p, ph := "-", "-", "-", "-"
			switch {
			case v.Comparison != nil:
				lift, ci, p = percent(v.Comparison.Lift), "["+percent(v.Comparison.LiftCI[0])+", "+percent(v.Comparison.LiftCI[1])+"]", g(v.Comparison.PValue)
			case v.Proportion != nil:
				lift, ci, p = percent(v.Proportion.Lift), "["+percent(v.Proportion.LiftCI[0])+", "+percent(v.Proportion.LiftCI[1])+"]", g(v.Proportion.PValue)
			}
			if v.PAdjusted != nil {
				ph = g(*v.PAdjusted)
			}
			rows.Add(m.Metric, m.Kind, name, strconv.Itoa(v.Units), strconv.Itoa(v.Trimmed), g(v.Mean), lift, ci, p, ph)
		}
	}
	return rows.Write(w, "No metric events yet.")
}

// newABSDKKeyCmd is `wharf ab sdk-key create|list|revoke`.
func newABSDKKeyCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "sdk-key", Short: "GrowthBook client keys: SDKs read the team's running experiments from /api/features/KEY"}
	cmd.AddCommand(newABSDKKeyCreateCmd(stdout), newABSDKKeyListCmd(stdout), newABSDKKeyRevokeCmd(stdout))
	return cmd
}

func newABSDKKeyCreateCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	return newTeamCommand(&f, teamCommand{
		Use:      "create [--team T]",
		Short:    "Create a client key of the team",
		Args:     cobra.NoArgs,
		TeamHelp: abTeamHelp,
		AnyTeam:  true,
		Run: func(cmd *cobra.Command, c *apiclient.Client, team string, _ []string) error {
			return doEmit(cmd, c, &f, stdout, "POST", "/fn/ab/sdk-keys", map[string]string{"team": team}, func(k ab.SDKKey) error {
				_, err := fmt.Fprintf(stdout, "Client key of team %s: %s\nGrowthBook SDKs: apiHost = this server, clientKey = %s (GET /api/features/%s).\n", k.Team, k.ClientKey, k.ClientKey, k.ClientKey)
				return err
			})
		},
	})
}

func newABSDKKeyListCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	return newClientCommand(&f, clientCommand{
		Use:   "list",
		Short: "List the client keys of the token's teams",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, c *apiclient.Client, _ []string) error {
			return getEmit(cmd, c, &f, stdout, "/fn/ab/sdk-keys", func(l ab.SDKKeyList) error {
				rows := cliout.NewRows("CLIENT_KEY", "TEAM", "CREATED_BY", "CREATED_AT")
				for _, k := range l.Keys {
					rows.Add(k.ClientKey, k.Team, k.CreatedBy, k.CreatedAt.Format(time.RFC3339))
				}
				return rows.Write(stdout, "No client keys.")
			})
		},
	})
}

func newABSDKKeyRevokeCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	return newClientCommand(&f, clientCommand{
		Use:   "revoke CLIENT_KEY",
		Short: "Revoke a client key (its payload answers 404 from then on)",
		Args:  cobra.ExactArgs(1),
		Run: func(cmd *cobra.Command, c *apiclient.Client, args []string) error {
			if err := c.Do(cmd.Context(), "DELETE", "/fn/ab/sdk-keys/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			return f.emit(stdout, map[string]string{"revoked": args[0]}, func() error {
				_, err := fmt.Fprintf(stdout, "Revoked client key %s.\n", args[0])
				return err
			})
		},
	})
}
