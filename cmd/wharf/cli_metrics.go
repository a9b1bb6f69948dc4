package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/internal/cliout"
	"github.com/wharfhq/wharf/monitoring/metric"
)

// newMetricsCmd is `wharf metrics push|query|series`.
func newMetricsCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "metrics", Short: "Push metric points, query series, list the series index"}
	cmd.AddCommand(newMetricsPushCmd(stdout), newMetricsQueryCmd(stdout), newMetricsSeriesCmd(stdout))
	return cmd
}

func newMetricsPushCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var one struct {
		endpoint, metric, value, tags, typ string
		step, ts                           int64
	}
	cmd := &cobra.Command{
		Use:   "push [FILE|-]",
		Short: "Push points in Open-Falcon's format (ingest or admin)",
		Long: `Push a JSON array of Open-Falcon items from FILE (- for stdin), or one point
given with --endpoint, --metric and --value:

  wharf metrics push --endpoint web-1 --metric cpu.busy --value 42 --tags env=prod
  echo '[{"endpoint":"web-1","metric":"qps","timestamp":0,"step":60,"value":3,"counterType":"GAUGE","tags":""}]' | wharf metrics push -

Items are validated as Falcon's transfer does; the reply counts the invalid ones.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var body json.RawMessage
			switch {
			case len(args) == 1 && one.endpoint != "":
				return fmt.Errorf("give either FILE or --endpoint/--metric/--value, not both")
			case len(args) == 1:
				r := cmd.InOrStdin()
				if args[0] != "-" {
					fh, err := os.Open(args[0])
					if err != nil {
						return fmt.Errorf("cannot read points: %w", err)
					}
					defer fh.Close()
					r = fh
				}
				b, err := io.ReadAll(io.LimitReader(r, 64<<20))
				if err != nil {
					return fmt.Errorf("cannot read points: %w", err)
				}
				if !json.Valid(b) {
					return fmt.Errorf("%s is not JSON: want an array of {endpoint, metric, timestamp, step, value, counterType, tags}", args[0])
				}
				body = b
			default:
				if one.endpoint == "" || one.metric == "" || one.value == "" {
					return fmt.Errorf("give FILE, or --endpoint, --metric and --value")
				}
				if _, err := strconv.ParseFloat(one.value, 64); err != nil {
					return fmt.Errorf("--value must be a number, got %q", one.value)
				}
				ts := one.ts
				if ts == 0 {
					ts = time.Now().Unix()
				}
				it := []map[string]any{{"endpoint": one.endpoint, "metric": one.metric, "timestamp": ts, "step": one.step,
					"value": json.Number(one.value), "counterType": one.typ, "tags": one.tags}}
				b, err := json.Marshal(it)
				if err != nil {
					return fmt.Errorf("cannot encode the point: %w", err)
				}
				body = b
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			var rep monitor.PushReply
			if err := c.Do(cmd.Context(), "POST", "/api/v1/metrics/push", body, &rep); err != nil {
				return err
			}
			return f.emit(stdout, rep, func() error {
				fmt.Fprintf(stdout, "Pushed %d item(s): %d stored, %d invalid (%d ms).\n", rep.Total, rep.Total-rep.Invalid, rep.Invalid, rep.Latency)
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&one.endpoint, "endpoint", "", "endpoint of one point (usually a host name)")
	fl.StringVar(&one.metric, "metric", "", "metric of one point")
	fl.StringVar(&one.value, "value", "", "value of one point")
	fl.StringVar(&one.tags, "tags", "", "tags of one point: k1=v1,k2=v2")
	fl.StringVar(&one.typ, "type", metric.Gauge, "counter type of one point: GAUGE, COUNTER or DERIVE")
	fl.Int64Var(&one.step, "step", 60, "step of one point in seconds")
	fl.Int64Var(&one.ts, "timestamp", 0, "time of one point, Unix seconds (default: now)")
	f.bind(cmd)
	return cmd
}

// parseWhen reads a time: Unix seconds, or a duration ago ("2h", "30m").
func parseWhen(s string, now time.Time) (int64, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return n, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("want Unix seconds or a duration ago such as 2h, got %q", s)
	}
	return now.Add(-d).Unix(), nil
}

func newMetricsQueryCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var endpoints, metrics []string
	var tags, from, to, cf string
	var step int64
	cmd := &cobra.Command{
		Use:   "query --endpoint E --metric M [--tags k=v,...] [--from 1h] [--to T] [--cf AVERAGE|MAX|MIN] [--step S]",
		Short: "Values of series over a window, unknown as - (admin; a team: series tagged service=, app= or team= with its name)",
		Long: `Values of every --endpoint × --metric series with --tags, one column per
series, as rrdtool fetch gives them: the resolution is the finest archive
that covers the window (or the one closest to --step), each row the
interval ending at TIME; - is unknown (null in -o json).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(endpoints) == 0 || len(metrics) == 0 {
				return fmt.Errorf("--endpoint and --metric are required")
			}
			now := time.Now()
			start, err := parseWhen(from, now)
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			end, err := parseWhen(to, now)
			if err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			q := url.Values{}
			for _, e := range endpoints {
				q.Add("endpoint", e)
			}
			for _, m := range metrics {
				q.Add("metric", m)
			}
			q.Set("tags", tags)
			q.Set("cf", strings.ToUpper(cf))
			if start > 0 {
				q.Set("start", strconv.FormatInt(start, 10))
			}
			if end > 0 {
				q.Set("end", strconv.FormatInt(end, 10))
			}
			if step > 0 {
				q.Set("step", strconv.FormatInt(step, 10))
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			var rep monitor.QueryReply
			if err := c.Do(cmd.Context(), "GET", "/api/v1/metrics/query?"+q.Encode(), nil, &rep); err != nil {
				return err
			}
			return f.emit(stdout, rep, func() error { return printQuery(stdout, rep) })
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&endpoints, "endpoint", nil, "endpoint (repeat for several)")
	fl.StringArrayVar(&metrics, "metric", nil, "metric (repeat for several)")
	fl.StringVar(&tags, "tags", "", "tags of the series: k1=v1,k2=v2 (any order)")
	fl.StringVar(&from, "from", "1h", "start: Unix seconds or a duration ago")
	fl.StringVar(&to, "to", "", "end: Unix seconds or a duration ago (default: now)")
	fl.StringVar(&cf, "cf", "AVERAGE", "consolidation: AVERAGE, MAX or MIN")
	fl.Int64Var(&step, "step", 0, "wished resolution in seconds (default: the finest that covers the window)")
	f.bind(cmd)
	return cmd
}

// printQuery prints one row per time and one column per series.
func printQuery(w io.Writer, rep monitor.QueryReply) error {
	header := []string{"TIME"}
	rows := map[int64][]string{}
	var times []int64
	for i, s := range rep.Series {
		name := metric.PK(s.Endpoint, s.Metric, s.Tags)
		if !s.Found {
			fmt.Fprintf(w, "No points stored for %s.\n", name)
		}
		header = append(header, name)
		for _, smp := range s.Values {
			r, ok := rows[smp.Timestamp]
			if !ok {
				r = make([]string, len(rep.Series))
				times = append(times, smp.Timestamp)
			}
			if v := float64(smp.Value); !math.IsNaN(v) {
				r[i] = strconv.FormatFloat(v, 'g', -1, 64)
			}
			rows[smp.Timestamp] = r
		}
	}
	slices.Sort(times)
	t := cliout.NewRows(header...)
	for _, ts := range times {
		t.Add(append([]string{time.Unix(ts, 0).UTC().Format("2006-01-02 15:04:05Z")}, rows[ts]...)...)
	}
	return t.Write(w, "")
}

func newMetricsSeriesCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var endpoint, metricName, tags, after string
	var limit int
	cmd := &cobra.Command{
		Use:   "series [--endpoint E] [--metric M] [--tags k=v,...] [--limit N] [--after KEY]",
		Short: "List stored series: endpoints, metrics and tag sets (admin: all; a team: its own)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			for k, v := range map[string]string{"endpoint": endpoint, "metric": metricName, "tags": tags, "after": after} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			var rep monitor.SeriesReply
			if err := c.Do(cmd.Context(), "GET", "/api/v1/metrics/series?"+q.Encode(), nil, &rep); err != nil {
				return err
			}
			return f.emit(stdout, rep, func() error {
				t := cliout.NewRows("ENDPOINT", "METRIC", "TAGS", "TYPE", "STEP", "NODE")
				for _, s := range rep.Series {
					t.Add(s.Endpoint, s.Metric, s.Tags, s.CounterType, (time.Duration(s.Step) * time.Second).String(), s.Node)
				}
				if err := t.Write(stdout, "No series."); err != nil {
					return err
				}
				if rep.Next != "" {
					fmt.Fprintf(stdout, "More: --after '%s'\n", rep.Next)
				}
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&endpoint, "endpoint", "", "only this endpoint")
	fl.StringVar(&metricName, "metric", "", "only this metric")
	fl.StringVar(&tags, "tags", "", "only series having all these tags: k1=v1,k2=v2")
	fl.IntVar(&limit, "limit", 0, "page size (server default 100, at most 1000)")
	fl.StringVar(&after, "after", "", "start after this series key (the More: line of the previous page)")
	f.bind(cmd)
	return cmd
}
