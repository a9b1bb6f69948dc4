package main

import (
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/functions/alarms"
	"github.com/wharfhq/wharf/internal/cliout"
	"github.com/wharfhq/wharf/monitoring/labels"
	"github.com/wharfhq/wharf/monitoring/silence"
)

// newSilenceCmd is `wharf silence add|list|expire` (Alertmanager API v2,
// as amtool's silence commands).
func newSilenceCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "silence", Short: "Mute alarms by label matchers for a while (as amtool silence)"}
	cmd.AddCommand(newSilenceAddCmd(stdout), newSilenceListCmd(stdout), newSilenceExpireCmd(stdout))
	return cmd
}

// matchersText is ms as amtool prints them.
func matchersText(ms labels.Matchers) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return strings.Join(parts, " ")
}

func newSilenceAddCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var dur time.Duration
	var comment, start string
	cmd := &cobra.Command{
		Use:   `add MATCHER... [--for 2h] [--comment TEXT] [--start T]`,
		Short: "Silence the alarms whose labels match every matcher (a team token's silence gets team=<its team>)",
		Long: `Silence the alarms whose labels match every MATCHER (name=value, name!=value,
name=~regex, name!~regex) from --start (RFC 3339, default now) for --for.

  wharf silence add team=shop 'priority=~"[0-2]"' --for 2h --comment "db maintenance"`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var ms labels.Matchers
			for _, a := range args {
				got, err := labels.ParseMatchers(a)
				if err != nil {
					return fmt.Errorf("matcher %q: %w", a, err)
				}
				ms = append(ms, got...)
			}
			if dur <= 0 {
				return fmt.Errorf("--for must be above 0, e.g. 2h")
			}
			from := time.Now().UTC()
			if start != "" {
				t, err := time.Parse(time.RFC3339, start)
				if err != nil {
					return fmt.Errorf("--start %q: want RFC 3339, e.g. 2026-01-02T15:04:05Z", start)
				}
				from = t
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			in := alarms.PostableSilence{Matchers: ms, StartsAt: from, EndsAt: from.Add(dur), Comment: comment}
			var out struct {
				SilenceID string `json:"silenceID"`
			}
			if err := c.Do(cmd.Context(), "POST", "/api/v2/silences", in, &out); err != nil {
				return err
			}
			return f.emit(stdout, out, func() error {
				// As stored: a team token's silence got its team matcher.
				var s alarms.GettableSilence
				if err := c.Do(cmd.Context(), "GET", "/api/v2/silence/"+url.PathEscape(out.SilenceID), nil, &s); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "Silence %s: %s until %s.\n", out.SilenceID, matchersText(s.Matchers), s.EndsAt.UTC().Format(time.RFC3339))
				return nil
			})
		},
	}
	cmd.Flags().DurationVar(&dur, "for", time.Hour, "how long the silence lasts")
	cmd.Flags().StringVar(&comment, "comment", "", "why (shown with the silence)")
	cmd.Flags().StringVar(&start, "start", "", "when it starts (RFC 3339; default now)")
	f.bind(cmd)
	return cmd
}

func newSilenceListCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var expired bool
	cmd := &cobra.Command{
		Use:   "list [MATCHER...] [--expired]",
		Short: "List the silences the token may see (active and pending; --expired adds expired ones)",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			q := url.Values{}
			for _, a := range args {
				q.Add("filter", a)
			}
			var all []alarms.GettableSilence
			if err := c.Do(cmd.Context(), "GET", "/api/v2/silences?"+q.Encode(), nil, &all); err != nil {
				return err
			}
			shown := []alarms.GettableSilence{}
			for _, s := range all {
				if expired || s.Status.State != silence.Expired {
					shown = append(shown, s)
				}
			}
			return f.emit(stdout, shown, func() error {
				rows := cliout.NewRows("ID", "STATE", "MATCHERS", "STARTS", "ENDS", "CREATED_BY", "COMMENT")
				for _, s := range shown {
					rows.Add(s.ID, string(s.Status.State), matchersText(s.Matchers), s.StartsAt.UTC().Format(time.RFC3339),
						s.EndsAt.UTC().Format(time.RFC3339), cliout.Cell(s.CreatedBy), cliout.Cell(s.Comment))
				}
				return rows.Write(stdout, "No silences.")
			})
		},
	}
	cmd.Flags().BoolVar(&expired, "expired", false, "also list expired silences")
	f.bind(cmd)
	return cmd
}

func newSilenceExpireCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "expire ID...",
		Short: "End silences now (nothing is sent retroactively for what they muted)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			for _, id := range args {
				if err := c.Do(cmd.Context(), "DELETE", "/api/v2/silence/"+url.PathEscape(id), nil, nil); err != nil {
					return err
				}
			}
			return f.emit(stdout, map[string][]string{"expired": args}, func() error {
				fmt.Fprintf(stdout, "Expired %s.\n", strings.Join(args, ", "))
				return nil
			})
		},
	}
	f.bind(cmd)
	return cmd
}
