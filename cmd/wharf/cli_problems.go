package main

import (
	"io"
	"math"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/internal/cliout"
	"github.com/wharfhq/wharf/monitoring/event"
)

// problemsPath is the open-problems listing of the monitor function.
const problemsPath = "/api/v1/problems"

// newStrategyProblemsCmd is `wharf strategy problems [ID]`: the open
// problems (PROBLEM or NODATA not yet followed by OK), of one strategy or
// of every strategy the token may see.
func newStrategyProblemsCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var team string
	cmd := &cobra.Command{
		Use:   "problems [ID] [--team T]",
		Short: "List the open problems: series a strategy fired on that have not recovered",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			q := url.Values{"limit": {strconv.Itoa(monitor.MaxStrategyLimit)}}
			if len(args) == 1 {
				q.Set("strategy", args[0])
			}
			if team != "" {
				q.Set("team", team)
			}
			all := monitor.ProblemList{Problems: []event.Event{}}
			for {
				var page monitor.ProblemList
				if err := c.Do(cmd.Context(), "GET", problemsPath+"?"+q.Encode(), nil, &page); err != nil {
					return err
				}
				all.Problems = append(all.Problems, page.Problems...)
				if page.Next == "" {
					break
				}
				q.Set("after", page.Next)
			}
			return f.emit(stdout, all, func() error {
				now := time.Now()
				rows := cliout.NewRows("STRATEGY", "STATUS", "STEP", "SINCE", "ENDPOINT", "METRIC", "TAGS", "VALUE", "PRIORITY")
				for _, ev := range all.Problems {
					rows.Add(ev.StrategyID, string(ev.Status), strconv.Itoa(ev.CurrentStep)+"/"+strconv.Itoa(ev.MaxStep),
						cliout.Ago(time.Unix(ev.EventTime, 0), now), ev.Endpoint, ev.Metric, cliout.Cell(tagString(ev.PushedTags)),
						leftValue(ev.LeftValue), strconv.Itoa(ev.Priority))
				}
				return rows.Write(stdout, "No open problems.")
			})
		},
	}
	cmd.Flags().StringVar(&team, "team", "", "only this team's problems")
	f.bind(cmd)
	return cmd
}

// leftValue formats an event's left value ("-" when unknown).
func leftValue(v event.Value) string {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "-"
	}
	return strconv.FormatFloat(f, 'g', 6, 64)
}
