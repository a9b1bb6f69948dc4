package main

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/cliout"
)

// newInhibitCmd is `wharf alarms inhibit show|put`: a team's inhibition
// rules (Alertmanager's inhibit_rules).
func newInhibitCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "inhibit", Short: "Show or replace a team's inhibition rules (a firing source mutes its targets)"}
	cmd.AddCommand(newInhibitShowCmd(stdout), newInhibitPutCmd(stdout))
	return cmd
}

func inhibitPath(team string) string { return "/api/v1/inhibit/" + url.PathEscape(team) }

func newInhibitShowCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var team string
	cmd := &cobra.Command{
		Use:   "show [--team T]",
		Short: "Show the inhibition rules with their version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.teamClient(cmd.Context(), &team)
			if err != nil {
				return err
			}
			var v wire.InhibitRules
			if err := c.Do(cmd.Context(), "GET", inhibitPath(team), nil, &v); err != nil {
				return err
			}
			return f.emit(stdout, v, func() error {
				fmt.Fprintf(stdout, "# team %s, version %d, by %s\n", team, v.Version, cliout.Cell(v.UpdatedBy))
				rows := cliout.NewRows("NAME", "SOURCE", "TARGET", "EQUAL")
				for _, r := range v.Rules {
					rows.Add(cliout.Cell(r.Name), strings.Join(r.SourceMatchers, ","), strings.Join(r.TargetMatchers, ","), cliout.Cell(strings.Join(r.Equal, ",")))
				}
				return rows.Write(stdout, "No inhibition rules.")
			})
		},
	}
	cmd.Flags().StringVar(&team, "team", "", "the team (default: the token's)")
	f.bind(cmd)
	return cmd
}

func newInhibitPutCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var file, team, comment string
	cmd := &cobra.Command{
		Use:   "put -f FILE [--team T] [--comment TEXT]",
		Short: "Replace the inhibition rules (refused when they changed since they were read)",
		Long: `Replace a team's inhibition rules with FILE (- for stdin): a YAML or JSON
list of Alertmanager inhibit_rules entries, e.g.

  - source_matchers: ['alertname="down"']
    target_matchers: ['alertname=~"latency.*"']
    equal: [cluster]`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body, err := readConfigFile(cmd.InOrStdin(), file, "inhibition rules")
			if err != nil {
				return err
			}
			c, err := f.teamClient(cmd.Context(), &team)
			if err != nil {
				return err
			}
			var cur wire.InhibitRules
			if err := c.Do(cmd.Context(), "GET", inhibitPath(team), nil, &cur); err != nil {
				return err
			}
			q := url.Values{"version": {strconv.FormatInt(cur.Version, 10)}}
			if comment != "" {
				q.Set("comment", comment)
			}
			var v wire.InhibitRules
			if err := c.Upload(cmd.Context(), "PUT", inhibitPath(team)+"?"+q.Encode(), bytes.NewReader(body), int64(len(body)),
				map[string]string{"Content-Type": "application/yaml"}, &v); err != nil {
				return err
			}
			return f.emit(stdout, v, func() error {
				fmt.Fprintf(stdout, "Inhibition rules of team %s: version %d (%d rules).\n", team, v.Version, len(v.Rules))
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "YAML or JSON file with the rules (- for stdin)")
	cmd.Flags().StringVar(&team, "team", "", "the team (default: the token's)")
	cmd.Flags().StringVar(&comment, "comment", "", "why (kept with the version)")
	_ = cmd.MarkFlagRequired("file")
	f.bind(cmd)
	return cmd
}
