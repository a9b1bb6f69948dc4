package main

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/wharfhq/wharf/functions/alarms"
	"github.com/wharfhq/wharf/internal/apiclient"
	"github.com/wharfhq/wharf/internal/cliout"
	"github.com/wharfhq/wharf/monitoring/amroute"
)

// newAlarmRoutesCmd is `wharf alarms routes show|put`: a team's alarm
// route tree (Alertmanager's route syntax). `wharf route` is the
// gateway's routes.
func newAlarmRoutesCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "routes", Short: "Show or replace a team's alarm route tree (Alertmanager's route syntax, versioned)"}
	cmd.AddCommand(newAlarmRoutesShowCmd(stdout), newAlarmRoutesPutCmd(stdout))
	return cmd
}

func alarmRoutePath(team string) string { return "/api/v1/routes/" + url.PathEscape(team) }

func newAlarmRoutesShowCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var history bool
	return newTeamCommand(&f, teamCommand{
		Use:      "show [--team T] [--history]",
		Short:    "Show the route tree as YAML with its version (--history: every version, who and when)",
		Args:     cobra.NoArgs,
		TeamHelp: "the team (default: the token's; _global: the admin's tree for alerts without a team)",
		Flags:    func(fl *pflag.FlagSet) { fl.BoolVar(&history, "history", false, "list every version") },
		Run: func(cmd *cobra.Command, c *apiclient.Client, team string, _ []string) error {
			if history {
				return getEmit(cmd, c, &f, stdout, alarmRoutePath(team)+"?history=1", func(h alarms.RouteHistory) error {
					rows := cliout.NewRows("VERSION", "UPDATED_BY", "UPDATED_AT", "RECEIVER", "ROUTES", "COMMENT")
					for _, v := range h.Versions {
						rows.Add(strconv.FormatInt(v.Version, 10), v.UpdatedBy, v.UpdatedAt.UTC().Format(time.RFC3339), v.Config.Receiver,
							strconv.Itoa(len(v.Config.Routes)), cliout.Cell(v.Comment))
					}
					return rows.Write(stdout, "No versions.")
				})
			}
			return getEmit(cmd, c, &f, stdout, alarmRoutePath(team), func(v amroute.Versioned) error {
				fmt.Fprintf(stdout, "# team %s, version %d, by %s at %s\n", team, v.Version, v.UpdatedBy, v.UpdatedAt.UTC().Format(time.RFC3339))
				b, err := yaml.Marshal(v.Config)
				if err != nil {
					return fmt.Errorf("cannot print the routes: %w", err)
				}
				_, err = stdout.Write(b)
				return err
			})
		},
	})
}

func newAlarmRoutesPutCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var file, comment string
	cmd := newTeamCommand(&f, teamCommand{
		Use:   "put -f FILE [--team T] [--comment TEXT]",
		Short: "Replace the route tree (YAML or JSON; refused when it changed since it was read)",
		Long: `Replace a team's alarm route tree with FILE (- for stdin), in Alertmanager's
route syntax, e.g.

  receiver: chat
  group_by: [alertname]
  routes:
    - matchers: ['priority=~"[0-2]"']
      receiver: pager

Every receiver named must exist (wharf receiver put). The write is a
compare-and-swap on the version read just before.`,
		Args: cobra.NoArgs,
		Flags: func(fl *pflag.FlagSet) {
			putFileFlags(fl, &file, &comment, "YAML or JSON file with the route tree (- for stdin)")
		},
		Run: func(cmd *cobra.Command, c *apiclient.Client, team string, _ []string) error {
			return versionedPut[amroute.Versioned]{
				path: alarmRoutePath(team), file: file, what: "routes", comment: comment,
				version: func(v amroute.Versioned) int64 { return v.Version },
				summary: func(v amroute.Versioned) error {
					fmt.Fprintf(stdout, "Routes of team %s: version %d (receiver %s, %d sub-routes).\n", team, v.Version, v.Config.Receiver, len(v.Config.Routes))
					return nil
				},
			}.run(cmd, c, &f, stdout)
		},
	})
	_ = cmd.MarkFlagRequired("file")
	return cmd
}
