package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/internal/cliout"
	"github.com/wharfhq/wharf/monitoring/strategy"
)

const strategiesPath = "/api/v1/strategies"

// newStrategyCmd is `wharf strategy create|list|show|update|delete|test|problems|shards`.
func newStrategyCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "strategy", Short: "Manage alarm strategies (admin, or a team for its own)"}
	cmd.AddCommand(newStrategyCreateCmd(stdout), newStrategyListCmd(stdout), newStrategyShowCmd(stdout),
		newStrategyUpdateCmd(stdout), newStrategyDeleteCmd(stdout), newStrategyTestCmd(stdout), newStrategyProblemsCmd(stdout),
		newStrategyShardsCmd(stdout))
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

func newStrategyTestCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var file, from, to string
	cmd := &cobra.Command{
		Use:   "test ID|-f FILE [--from 2h] [--to T]",
		Short: "Replay the stored series through a strategy or a draft: the events it would have sent (admin, or a team for a strategy on its series)",
		Long: `Replay the stored series between --from and --to through strategy ID, or
through the draft in FILE (not stored; its id may be left out), as the
judge would have judged them, and print the events it would have sent.
The series are replayed at the finest stored resolution that covers the
window (COUNTER and DERIVE as their per-second rates).

  wharf strategy test cpu-hot --from 2h
  wharf strategy test -f draft.json --from 24h --to 1h`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var q monitor.BacktestRequest
			switch {
			case len(args) == 1 && file != "":
				return fmt.Errorf("give either ID or -f FILE, not both")
			case len(args) == 1:
				q.ID = args[0]
			case file != "":
				body, err := readStrategyFile(cmd.InOrStdin(), file)
				if err != nil {
					return err
				}
				q.Strategy = body
			default:
				return fmt.Errorf("give a strategy ID or -f FILE with a draft")
			}
			now := time.Now()
			var err error
			if q.Start, err = parseWhen(from, now); err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			if q.End, err = parseWhen(to, now); err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			var rep monitor.BacktestReply
			if err := c.Do(cmd.Context(), "POST", strategiesPath+"/test", q, &rep); err != nil {
				return err
			}
			return f.emit(stdout, rep, func() error {
				fmt.Fprintf(stdout, "Replayed %d series (%d points) from %s to %s through %s: %d event(s).\n", rep.Series, rep.Points,
					unixUTC(rep.Start), unixUTC(rep.End), rep.StrategyID, len(rep.Events))
				if len(rep.Events) == 0 {
					return nil
				}
				rows := cliout.NewRows("TIME", "STATUS", "STEP", "ENDPOINT", "METRIC", "TAGS", "VALUE", "ID")
				for _, e := range rep.Events {
					rows.Add(unixUTC(e.EventTime), string(e.Status), strconv.Itoa(e.CurrentStep), e.Endpoint, e.Metric,
						cliout.Cell(tagString(e.PushedTags)), strconv.FormatFloat(float64(e.LeftValue), 'g', -1, 64), e.ID)
				}
				return rows.Write(stdout, "")
			})
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "JSON file with a draft strategy (- for stdin)")
	cmd.Flags().StringVar(&from, "from", "1h", "start: Unix seconds or a duration ago (2h)")
	cmd.Flags().StringVar(&to, "to", "", "end: Unix seconds or a duration ago (default: now)")
	f.bind(cmd)
	return cmd
}

// unixUTC formats Unix seconds as the CLI's UTC time.
func unixUTC(t int64) string { return time.Unix(t, 0).UTC().Format("2006-01-02 15:04:05Z") }

// tagString is tags as "k=v,..." sorted by key.
func tagString(tags map[string]string) string {
	parts := make([]string, 0, len(tags))
	for _, k := range cliout.SortedKeys(tags) {
		parts = append(parts, k+"="+tags[k])
	}
	return strings.Join(parts, ",")
}
