package main

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/functions/ab"
	"github.com/wharfhq/wharf/internal/cliout"
)

func newABDecideCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var team string
	var attrs []string
	var explain bool
	cmd := &cobra.Command{
		Use:   "decide UNIT [--attr NAME=VALUE]... [--explain] [--team T]",
		Short: "Which variation UNIT is in, for every running experiment of the team",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a := map[string]any{}
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
			c, err := f.client()
			if err != nil {
				return err
			}
			var d ab.Decision
			in := map[string]any{"unit": args[0], "attributes": a, "team": team, "explain": explain}
			if err := c.Do(cmd.Context(), "POST", "/fn/ab/decide", in, &d); err != nil {
				return err
			}
			return f.emit(stdout, d, func() error {
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
	}
	cmd.Flags().StringVar(&team, "team", "", "the team (default: the token's only team)")
	cmd.Flags().StringArrayVar(&attrs, "attr", nil, "an attribute NAME=VALUE for targeting (repeat; numbers and true/false are typed)")
	cmd.Flags().BoolVar(&explain, "explain", false, "list every running experiment with why the unit is in or out")
	f.bind(cmd)
	return cmd
}

func newABTrackCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var team, ts string
	cmd := &cobra.Command{
		Use:   "track UNIT METRIC VALUE [--ts RFC3339] [--team T]",
		Short: "Send one metric event of a unit (the aggregator adds it to the unit's total)",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := strconv.ParseFloat(args[2], 64)
			if err != nil {
				return fmt.Errorf("VALUE %q is not a number", args[2])
			}
			if ts != "" {
				if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
					return fmt.Errorf("--ts %q: want RFC 3339, e.g. 2026-01-02T15:04:05Z", ts)
				}
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			var out ab.TrackResult
			in := map[string]any{"unit": args[0], "metric": args[1], "value": v, "ts": ts}
			if err := c.Do(cmd.Context(), "POST", "/fn/ab/track?team="+url.QueryEscape(team), in, &out); err != nil {
				return err
			}
			return f.emit(stdout, out, func() error {
				_, err := fmt.Fprintf(stdout, "Accepted %d event.\n", out.Accepted)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&team, "team", "", "the team (default: the token's only team)")
	cmd.Flags().StringVar(&ts, "ts", "", "when it happened (RFC 3339; default now)")
	f.bind(cmd)
	return cmd
}

func newABResultsCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var team, trim, population string
	var metrics []string
	var holm bool
	cmd := &cobra.Command{
		Use:   "results EXPERIMENT [--metric M]... [--trim none|iqr|cap:0.99[:pooled]] [--holm]",
		Short: "Per-variation statistics of an experiment's metrics: units, mean, lift with 95% CI, p; SRM",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.teamClient(cmd.Context(), &team)
			if err != nil {
				return err
			}
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
			var res ab.Results
			if err := c.Do(cmd.Context(), "GET", "/fn/ab/results/"+url.PathEscape(team)+"/"+url.PathEscape(args[0])+"?"+q.Encode(), nil, &res); err != nil {
				return err
			}
			return f.emit(stdout, res, func() error { return writeResults(stdout, res) })
		},
	}
	cmd.Flags().StringVar(&team, "team", "", "the team (default: the token's only team)")
	cmd.Flags().StringArrayVar(&metrics, "metric", nil, "only this metric (repeat; default every metric of the team)")
	cmd.Flags().StringVar(&trim, "trim", "", "outliers: none, iqr (boxplot rule), cap:P (cap at the P percentile); per variation, or :pooled")
	cmd.Flags().BoolVar(&holm, "holm", false, "Holm–Bonferroni adjusted p-values across the metrics")
	cmd.Flags().StringVar(&population, "population", "", "a metric every exposed unit sends (e.g. exposed): its units are the population, 0 for a metric they did not send")
	f.bind(cmd)
	return cmd
}

// writeResults prints res as a table.
func writeResults(w io.Writer, res ab.Results) error {
	fmt.Fprintf(w, "Experiment %s of team %s (%s, bucket version %d), trim %s.\n", res.Experiment, res.Team, res.Status, res.BucketVersion, res.Trim)
	if res.Population != "" {
		fmt.Fprintf(w, "Population: the units that sent %s (0 for a metric they did not send).\n", res.Population)
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
	var team string
	cmd := &cobra.Command{
		Use:   "create [--team T]",
		Short: "Create a client key of the team",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var k ab.SDKKey
			if err := c.Do(cmd.Context(), "POST", "/fn/ab/sdk-keys", map[string]string{"team": team}, &k); err != nil {
				return err
			}
			return f.emit(stdout, k, func() error {
				_, err := fmt.Fprintf(stdout, "Client key of team %s: %s\nGrowthBook SDKs: apiHost = this server, clientKey = %s (GET /api/features/%s).\n", k.Team, k.ClientKey, k.ClientKey, k.ClientKey)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&team, "team", "", "the team (default: the token's only team)")
	f.bind(cmd)
	return cmd
}

func newABSDKKeyListCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the client keys of the token's teams",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var l ab.SDKKeyList
			if err := c.Do(cmd.Context(), "GET", "/fn/ab/sdk-keys", nil, &l); err != nil {
				return err
			}
			return f.emit(stdout, l, func() error {
				rows := cliout.NewRows("CLIENT_KEY", "TEAM", "CREATED_BY", "CREATED_AT")
				for _, k := range l.Keys {
					rows.Add(k.ClientKey, k.Team, k.CreatedBy, k.CreatedAt.Format(time.RFC3339))
				}
				return rows.Write(stdout, "No client keys.")
			})
		},
	}
	f.bind(cmd)
	return cmd
}

func newABSDKKeyRevokeCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "revoke CLIENT_KEY",
		Short: "Revoke a client key (its payload answers 404 from then on)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			if err := c.Do(cmd.Context(), "DELETE", "/fn/ab/sdk-keys/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			return f.emit(stdout, map[string]string{"revoked": args[0]}, func() error {
				_, err := fmt.Fprintf(stdout, "Revoked client key %s.\n", args[0])
				return err
			})
		},
	}
	f.bind(cmd)
	return cmd
}
