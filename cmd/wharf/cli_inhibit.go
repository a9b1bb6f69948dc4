package main

import (
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/apiclient"
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
	return newTeamCommand(&f, teamCommand{
		Use:   "show [--team T]",
		Short: "Show the inhibition rules with their version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, c *apiclient.Client, team string, _ []string) error {
			return getEmit(cmd, c, &f, stdout, inhibitPath(team), func(v wire.InhibitRules) error {
				fmt.Fprintf(stdout, "# team %s, version %d, by %s\n", team, v.Version, cliout.Cell(v.UpdatedBy))
				rows := cliout.NewRows("NAME", "SOURCE", "TARGET", "EQUAL")
				for _, r := range v.Rules {
					rows.Add(cliout.Cell(r.Name), strings.Join(r.SourceMatchers, ","), strings.Join(r.TargetMatchers, ","), cliout.Cell(strings.Join(r.Equal, ",")))
				}
				return rows.Write(stdout, "No inhibition rules.")
			})
		},
	})
}

func newInhibitPutCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var file, comment string
	cmd := newTeamCommand(&f, teamCommand{
		Use:   "put -f FILE [--team T] [--comment TEXT]",
		Short: "Replace the inhibition rules (refused when they changed since they were read)",
		Long: `Replace a team's inhibition rules with FILE (- for stdin): a YAML or JSON
list of Alertmanager inhibit_rules entries, e.g.

  - source_matchers: ['alertname="down"']
    target_matchers: ['alertname=~"latency.*"']
    equal: [cluster]`,
		Args: cobra.NoArgs,
		Flags: func(fl *pflag.FlagSet) {
			putFileFlags(fl, &file, &comment, "YAML or JSON file with the rules (- for stdin)")
		},
		Run: func(cmd *cobra.Command, c *apiclient.Client, team string, _ []string) error {
			return versionedPut[wire.InhibitRules]{
				path: inhibitPath(team), file: file, what: "inhibition rules", comment: comment,
				version: func(v wire.InhibitRules) int64 { return v.Version },
				summary: func(v wire.InhibitRules) error {
					fmt.Fprintf(stdout, "Inhibition rules of team %s: version %d (%d rules).\n", team, v.Version, len(v.Rules))
					return nil
				},
			}.run(cmd, c, &f, stdout)
		},
	})
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

// putFileFlags are -f FILE and --comment of a versioned put.
func putFileFlags(fl *pflag.FlagSet, file, comment *string, fileHelp string) {
	fl.StringVarP(file, "file", "f", "", fileHelp)
	fl.StringVar(comment, "comment", "", "why (kept with the version)")
}
