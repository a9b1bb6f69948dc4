package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/functions/alarms"
	"github.com/wharfhq/wharf/internal/apiclient"
	"github.com/wharfhq/wharf/internal/cliout"
	"github.com/wharfhq/wharf/monitoring/alarm"
)

const alarmsPath = "/api/v1/alarms"

// newAlarmsCmd is `wharf alarms list|show|ack|tail|deliveries|routes|inhibit`.
func newAlarmsCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "alarms", Short: "Alarm cases: list, show, acknowledge, follow; dead deliveries; a team's alarm routes"}
	cmd.AddCommand(newAlarmsListCmd(stdout), newAlarmsShowCmd(stdout), newAlarmsAckCmd(stdout), newAlarmsTailCmd(stdout),
		newAlarmsDeliveriesCmd(stdout), newAlarmRoutesCmd(stdout), newInhibitCmd(stdout))
	return cmd
}

// caseRow is one case as a table row.
func caseRow(c alarm.Case, now time.Time) []string {
	ack := c.AckedBy
	return []string{c.ID, cliout.Cell(c.Labels["team"]), c.Labels["alertname"], string(c.State), strconv.Itoa(c.Priority),
		cliout.Ago(c.StartsAt, now), cliout.Cell(ack), cliout.Cell(caseSummary(c))}
}

// caseHeader is the header of caseRow.
var caseHeader = []string{"ID", "TEAM", "ALERTNAME", "STATE", "PRIORITY", "SINCE", "ACKED_BY", "LABELS"}

// caseSummary is the labels of c that the other columns do not show.
func caseSummary(c alarm.Case) string {
	var parts []string
	for _, k := range cliout.SortedKeys(c.Labels) {
		switch k {
		case "team", "alertname", "priority", "strategy":
			continue
		}
		parts = append(parts, k+"="+c.Labels[k])
	}
	return strings.Join(parts, ",")
}

func newAlarmsListCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var team, state string
	var match []string
	cmd := &cobra.Command{
		Use:   "list [--team T] [--state firing|opened|stepped|resolved|nodata] [--match 'name=value']",
		Short: "List the alarm cases the token may see",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			q := url.Values{}
			if team != "" {
				q.Set("team", team)
			}
			if state != "" {
				q.Set("state", state)
			}
			for _, m := range match {
				q.Add("match", m)
			}
			q.Set("limit", strconv.Itoa(alarms.MaxCaseLimit))
			all := alarms.CaseList{Alarms: []alarm.Case{}}
			for {
				var page alarms.CaseList
				if err := c.Do(cmd.Context(), "GET", alarmsPath+"?"+q.Encode(), nil, &page); err != nil {
					return err
				}
				all.Alarms = append(all.Alarms, page.Alarms...)
				if page.Next == "" {
					break
				}
				q.Set("after", page.Next)
			}
			return f.emit(stdout, all, func() error {
				now := time.Now()
				rows := cliout.NewRows(caseHeader...)
				for _, a := range all.Alarms {
					rows.Add(caseRow(a, now)...)
				}
				return rows.Write(stdout, "No alarms.")
			})
		},
	}
	cmd.Flags().StringVar(&team, "team", "", "only this team's cases")
	cmd.Flags().StringVar(&state, "state", "", "only cases in this state (firing: opened or stepped)")
	cmd.Flags().StringArrayVar(&match, "match", nil, `only cases whose labels match, e.g. 'priority=~"[0-2]"' (repeatable)`)
	f.bind(cmd)
	return cmd
}

func newAlarmsShowCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one alarm case with its history (who was notified, when, through what, result)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := callCase(cmd, &f, "GET", alarmsPath+"/"+url.PathEscape(args[0]))
			if err != nil {
				return err
			}
			if f.json() {
				return cliout.WriteJSON(stdout, a)
			}
			hist := a.History
			a.History, a.Seen = nil, nil
			if err := f.show(stdout, a); err != nil {
				return err
			}
			fmt.Fprintln(stdout, "History:")
			rows := cliout.NewRows("AT", "KIND", "STEP_KEY", "RECEIVER", "VIA", "RESULT", "BY", "NOTE")
			rows.Indent = "  "
			for _, e := range hist {
				rows.Add(e.At.UTC().Format(time.RFC3339), string(e.Kind), e.StepKey, cliout.Cell(e.Receiver), cliout.Cell(e.Via),
					cliout.Cell(e.Result), cliout.Cell(e.By), cliout.Cell(e.Note))
			}
			return rows.Write(stdout, "  (none)")
		},
	}
	f.bind(cmd)
	return cmd
}

func newAlarmsAckCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "ack ID",
		Short: "Acknowledge a firing alarm case (stops its escalation)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := callCase(cmd, &f, "POST", alarmsPath+"/"+url.PathEscape(args[0])+"/ack")
			if err != nil {
				return err
			}
			return f.emit(stdout, a, func() error {
				fmt.Fprintf(stdout, "Acknowledged %s (%s) as %s.\n", a.ID, a.Labels["alertname"], a.AckedBy)
				return nil
			})
		},
	}
	f.bind(cmd)
	return cmd
}

func newAlarmsDeliveriesCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var failed bool
	cmd := &cobra.Command{
		Use:   "deliveries --failed",
		Short: "List the dead deliveries (retry budget spent) of the token's teams",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !failed {
				return errors.New("only failed deliveries are listed: add --failed (a case's history shows the others: wharf alarms show ID)")
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			var l alarms.DeliveryList
			if err := c.Do(cmd.Context(), "GET", alarmsPath+"/deliveries?failed=1", nil, &l); err != nil {
				return err
			}
			return f.emit(stdout, l, func() error {
				rows := cliout.NewRows("CASE", "STEP_KEY", "TEAM", "RECEIVER", "ATTEMPTS", "RESULT", "SINCE")
				now := time.Now()
				for _, d := range l.Deliveries {
					rows.Add(d.Case, d.StepKey, d.Team, d.Receiver, strconv.Itoa(d.Attempts), cliout.Cell(d.Result), cliout.Ago(d.CreatedAt, now))
				}
				return rows.Write(stdout, "No failed deliveries.")
			})
		},
	}
	cmd.Flags().BoolVar(&failed, "failed", false, "list the dead deliveries")
	f.bind(cmd)
	return cmd
}

func newAlarmsTailCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var match []string
	cmd := &cobra.Command{
		Use:   "tail [--match team=shop]",
		Short: "Follow alarm case changes as they happen (server-sent events; reconnects and resumes by itself)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			q := url.Values{}
			for _, m := range match {
				q.Add("match", m)
			}
			return tailAlarms(cmd.Context(), c, q, stdout, f.json())
		},
	}
	cmd.Flags().StringArrayVar(&match, "match", nil, `only cases whose labels match, e.g. team=shop or 'priority=~"[0-2]"' (repeatable)`)
	f.bind(cmd)
	return cmd
}

// tailAlarms prints every case event of the stream until ctx ends: a
// line per change (a JSON object per line with asJSON). A dropped
// connection is resumed from the last event id; an API error (401, 403,
// 400) ends it.
func tailAlarms(ctx context.Context, c *apiclient.Client, q url.Values, w io.Writer, asJSON bool) error {
	last := ""
	for {
		if last != "" {
			q.Set("last_event_id", last)
		}
		resp, err := c.Download(ctx, alarmsPath+"/stream?"+q.Encode())
		var ae *apiclient.Error
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.As(err, &ae):
			return err
		case err == nil:
			last = readEvents(resp.Body, last, func(a alarm.Case, reset bool) {
				switch {
				case reset:
					fmt.Fprintln(w, "# the stream was reset: changes were missed, see wharf alarms list")
				case asJSON:
					b, _ := json.Marshal(a)
					fmt.Fprintf(w, "%s\n", b)
				default:
					fmt.Fprintf(w, "%s %s %s team=%s alertname=%s priority=%d %s\n", a.UpdatedAt.UTC().Format(time.RFC3339), a.ID, a.State,
						cliout.Cell(a.Labels["team"]), cliout.Cell(a.Labels["alertname"]), a.Priority, caseSummary(a))
				}
			})
			resp.Body.Close()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// readEvents reads server-sent events from r, calling fn with each case
// (or reset), and returns the last event id seen (last when none).
func readEvents(r io.Reader, last string, fn func(alarm.Case, bool)) string {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var id, event, data string
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "id: "):
			id = l[4:]
		case strings.HasPrefix(l, "event: "):
			event = l[7:]
		case strings.HasPrefix(l, "data: "):
			data = l[6:]
		case l == "":
			switch event {
			case "case":
				var a alarm.Case
				if json.Unmarshal([]byte(data), &a) == nil {
					fn(a, false)
				}
			case "reset":
				fn(alarm.Case{}, true)
			}
			if id != "" {
				last = id
			}
			id, event, data = "", "", ""
		}
	}
	return last
}

// callCase sends a bodyless request whose answer is one alarm case.
func callCase(cmd *cobra.Command, f *clientFlags, method, path string) (alarm.Case, error) {
	var a alarm.Case
	c, err := f.client()
	if err != nil {
		return a, err
	}
	err = c.Do(cmd.Context(), method, path, nil, &a)
	return a, err
}
