package main

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"
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
	var team string
	var history bool
	cmd := &cobra.Command{
		Use:   "show [--team T] [--history]",
		Short: "Show the route tree as YAML with its version (--history: every version, who and when)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.teamClient(cmd.Context(), &team)
			if err != nil {
				return err
			}
			if history {
				var h alarms.RouteHistory
				if err := c.Do(cmd.Context(), "GET", alarmRoutePath(team)+"?history=1", nil, &h); err != nil {
					return err
				}
				return f.emit(stdout, h, func() error {
					rows := cliout.NewRows("VERSION", "UPDATED_BY", "UPDATED_AT", "RECEIVER", "ROUTES", "COMMENT")
					for _, v := range h.Versions {
						rows.Add(strconv.FormatInt(v.Version, 10), v.UpdatedBy, v.UpdatedAt.UTC().Format(time.RFC3339), v.Config.Receiver,
							strconv.Itoa(len(v.Config.Routes)), cliout.Cell(v.Comment))
					}
					return rows.Write(stdout, "No versions.")
				})
			}
			var v amroute.Versioned
			if err := c.Do(cmd.Context(), "GET", alarmRoutePath(team), nil, &v); err != nil {
				return err
			}
			return f.emit(stdout, v, func() error {
				fmt.Fprintf(stdout, "# team %s, version %d, by %s at %s\n", team, v.Version, v.UpdatedBy, v.UpdatedAt.UTC().Format(time.RFC3339))
				b, err := yaml.Marshal(v.Config)
				if err != nil {
					return fmt.Errorf("cannot print the routes: %w", err)
				}
				_, err = stdout.Write(b)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&team, "team", "", "the team (default: the token's; _global: the admin's tree for alerts without a team)")
	cmd.Flags().BoolVar(&history, "history", false, "list every version")
	f.bind(cmd)
	return cmd
}

func newAlarmRoutesPutCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var file, team, comment string
	cmd := &cobra.Command{
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
		RunE: func(cmd *cobra.Command, _ []string) error {
			body, err := readConfigFile(cmd.InOrStdin(), file, "routes")
			if err != nil {
				return err
			}
			c, err := f.teamClient(cmd.Context(), &team)
			if err != nil {
				return err
			}
			var cur amroute.Versioned
			if err := c.Do(cmd.Context(), "GET", alarmRoutePath(team), nil, &cur); err != nil && !apiclient.IsStatus(err, 404) {
				return err
			}
			q := url.Values{"version": {strconv.FormatInt(cur.Version, 10)}}
			if comment != "" {
				q.Set("comment", comment)
			}
			var v amroute.Versioned
			if err := c.Upload(cmd.Context(), "PUT", alarmRoutePath(team)+"?"+q.Encode(), bytes.NewReader(body), int64(len(body)),
				map[string]string{"Content-Type": "application/yaml"}, &v); err != nil {
				return err
			}
			return f.emit(stdout, v, func() error {
				fmt.Fprintf(stdout, "Routes of team %s: version %d (receiver %s, %d sub-routes).\n", team, v.Version, v.Config.Receiver, len(v.Config.Routes))
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "YAML or JSON file with the route tree (- for stdin)")
	cmd.Flags().StringVar(&team, "team", "", "the team (default: the token's)")
	cmd.Flags().StringVar(&comment, "comment", "", "why (kept with the version)")
	_ = cmd.MarkFlagRequired("file")
	f.bind(cmd)
	return cmd
}
