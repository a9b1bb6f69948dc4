package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/internal/cliout"
	"github.com/wharfhq/wharf/monitoring/strategy"
)

const strategiesPath = "/api/v1/strategies"

// newStrategyCmd is `wharf strategy create|list|show|update|delete`.
func newStrategyCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "strategy", Short: "Manage alarm strategies (admin, or a team for its own)"}
	cmd.AddCommand(newStrategyCreateCmd(stdout), newStrategyListCmd(stdout), newStrategyShowCmd(stdout),
		newStrategyUpdateCmd(stdout), newStrategyDeleteCmd(stdout))
	return cmd
}

// readStrategyFile reads a strategy JSON file (- for stdin) and sends it
// as it is, so that the server's field checks apply to what was written.
func readStrategyFile(stdin io.Reader, file string) (json.RawMessage, error) {
	r := stdin
	if file != "-" {
		fh, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("cannot read strategy: %w", err)
		}
		defer fh.Close()
		r = fh
	}
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("cannot read strategy: %w", err)
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("%s is not JSON: want a strategy object such as {\"metric\":\"cpu.busy\",\"func\":\"all(#3)\",\"operator\":\">\",\"right_value\":90,\"max_step\":3,\"priority\":2}", file)
	}
	return b, nil
}

// strategyCondition is "func operator right_value", e.g. "all(#3) > 90".
func strategyCondition(s strategy.Strategy) string {
	return s.Func + " " + s.Operator + " " + strconv.FormatFloat(s.RightValue, 'g', -1, 64)
}

const strategyFileHelp = `FILE (- for stdin) holds one strategy as JSON, e.g.

  {"metric": "cpu.busy", "tags": {"env": "prod"}, "endpoints": ["web-*"],
   "func": "all(#3)", "operator": ">", "right_value": 90,
   "max_step": 3, "priority": 2, "note": "cpu busy"}

See docs/monitoring-judge.md for every field.`

func newStrategyCreateCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var file string
	cmd := &cobra.Command{
		Use:   "create -f FILE",
		Short: "Create a strategy (id generated when the file has none; team: the token's)",
		Long:  "Create an alarm strategy. " + strategyFileHelp,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body, err := readStrategyFile(cmd.InOrStdin(), file)
			if err != nil {
				return err
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			var s strategy.Strategy
			if err := c.Do(cmd.Context(), "POST", strategiesPath, body, &s); err != nil {
				return err
			}
			return f.emit(stdout, s, func() error {
				fmt.Fprintf(stdout, "Created strategy %s (team %s): %s %s.\n", s.ID, cliout.Cell(s.Team), strategyTarget(s), strategyCondition(s))
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "JSON file with the strategy (- for stdin)")
	_ = cmd.MarkFlagRequired("file")
	f.bind(cmd)
	return cmd
}

// strategyTarget is what a strategy judges: its metric or expression.
func strategyTarget(s strategy.Strategy) string {
	if s.Expression != "" {
		return s.Expression
	}
	return s.Metric
}

func newStrategyListCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var team, metricName string
	cmd := &cobra.Command{
		Use:   "list [--team T] [--metric M]",
		Short: "List the strategies the token may see",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			all := monitor.StrategyList{Strategies: []strategy.Strategy{}}
			q := url.Values{}
			if team != "" {
				q.Set("team", team)
			}
			if metricName != "" {
				q.Set("metric", metricName)
			}
			q.Set("limit", strconv.Itoa(monitor.MaxStrategyLimit))
			for {
				var page monitor.StrategyList
				if err := c.Do(cmd.Context(), "GET", strategiesPath+"?"+q.Encode(), nil, &page); err != nil {
					return err
				}
				all.Strategies = append(all.Strategies, page.Strategies...)
				if page.Next == "" {
					break
				}
				q.Set("after", page.Next)
			}
			return f.emit(stdout, all, func() error {
				rows := cliout.NewRows("ID", "TEAM", "METRIC", "CONDITION", "PRIORITY", "MAX_STEP", "NOTE")
				for _, s := range all.Strategies {
					rows.Add(s.ID, cliout.Cell(s.Team), strategyTarget(s), strategyCondition(s), strconv.Itoa(s.Priority),
						strconv.Itoa(s.MaxStep), cliout.Cell(s.Note))
				}
				return rows.Write(stdout, "No strategies.")
			})
		},
	}
	cmd.Flags().StringVar(&team, "team", "", "only this team's strategies")
	cmd.Flags().StringVar(&metricName, "metric", "", "only strategies of this metric")
	f.bind(cmd)
	return cmd
}

func newStrategyShowCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one strategy",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var s strategy.Strategy
			if err := c.Do(cmd.Context(), "GET", strategiesPath+"/"+url.PathEscape(args[0]), nil, &s); err != nil {
				return err
			}
			return f.show(stdout, s)
		},
	}
	f.bind(cmd)
	return cmd
}

func newStrategyUpdateCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var file string
	cmd := &cobra.Command{
		Use:   "update ID -f FILE",
		Short: "Replace a strategy (a file without team keeps the stored one)",
		Long:  "Replace strategy ID with the file's; its id, when given, must be ID. " + strategyFileHelp,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := readStrategyFile(cmd.InOrStdin(), file)
			if err != nil {
				return err
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			var s strategy.Strategy
			if err := c.Do(cmd.Context(), "PUT", strategiesPath+"/"+url.PathEscape(args[0]), body, &s); err != nil {
				return err
			}
			return f.emit(stdout, s, func() error {
				fmt.Fprintf(stdout, "Updated strategy %s (team %s): %s %s.\n", s.ID, cliout.Cell(s.Team), strategyTarget(s), strategyCondition(s))
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "JSON file with the strategy (- for stdin)")
	_ = cmd.MarkFlagRequired("file")
	f.bind(cmd)
	return cmd
}

func newStrategyDeleteCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a strategy",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			if err := c.Do(cmd.Context(), "DELETE", strategiesPath+"/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			return f.emit(stdout, map[string]string{"deleted": args[0]}, func() error {
				fmt.Fprintf(stdout, "Deleted strategy %s.\n", args[0])
				return nil
			})
		},
	}
	f.bind(cmd)
	return cmd
}
