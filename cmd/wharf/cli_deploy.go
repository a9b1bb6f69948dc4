package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/functions/deploy/plan"
	"github.com/wharfhq/wharf/internal/apiclient"
)

// deployView is a deploy as the API shows it: the record and its summary.
type deployView struct {
	plan.Record
	Summary    plan.Summary `json:"summary"`
	Superseded string       `json:"superseded,omitempty"`
}

func appPath(app string) string { return "/api/v1/apps/" + url.PathEscape(app) }

// appOfDeploy is the app of a deploy id ("shop.20261121T101500.000Z.ab12cd34").
func appOfDeploy(id string) (string, error) {
	app, _, ok := strings.Cut(id, ".")
	if !ok || app == "" {
		return "", fmt.Errorf("%q is not a deploy id (they look like shop.20261121T101500.000Z.ab12cd34)", id)
	}
	return app, nil
}

// newDeployCmds are `wharf deploy`, `wharf deploys`, `wharf rollback`, `wharf logs` and
// `wharf host`.
func newDeployCmds(stdout io.Writer) []*cobra.Command {
	return []*cobra.Command{newDeployCmd(stdout), newDeploysCmd(stdout), newRollbackCmd(stdout), newHostCmd(stdout), newLogsCmd(stdout)}
}

func newDeployCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var strategy, steps, batch, pause, maxUnavail, rooms, labels, hosts, why, window string
	var errMax float64
	var noRollback, watch, strict bool
	c := &cobra.Command{
		Use:   "deploy APP VERSION",
		Short: "Deploy a pushed version of an app to the hosts' agents: at once, rolling or canary, health-gated, rolled back on failure",
		Example: "  wharf deploy shop 1.4.2 --strategy canary --steps 10,50,100 --pause 1m\n" +
			"  wharf deploy shop 1.4.2 --rooms bj,sh --strategy rolling --batch 25% --watch\n" +
			"  wharf deploy status shop.20261121T101500.000Z.ab12cd34 --watch",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec := map[string]any{"version": args[1], "why": why}
			targets := map[string]any{}
			if rooms == "" && labels == "" && hosts == "" {
				targets["all"] = true
			}
			for k, v := range map[string]string{"rooms": rooms, "labels": labels, "hosts": hosts} {
				if v != "" {
					targets[k] = strings.Split(v, ",")
				}
			}
			spec["targets"] = targets
			st := map[string]any{"kind": strategy}
			if steps != "" {
				var pct []int
				for _, s := range strings.Split(steps, ",") {
					n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(s), "%"))
					if err != nil {
						return fmt.Errorf("--steps: %q is not a percentage", s)
					}
					pct = append(pct, n)
				}
				st["steps"] = pct
				if strategy == "" {
					st["kind"] = "canary"
				}
			}
			if batch != "" {
				st["batch"] = amount(batch)
				if strategy == "" {
					st["kind"] = "rolling"
				}
			}
			if pause != "" {
				st["pause"] = pause
			}
			spec["strategy"] = st
			if maxUnavail != "" {
				spec["max_unavailable"] = amount(maxUnavail)
			}
			if errMax > 0 {
				h := map[string]any{"error_rate_max": errMax}
				if window != "" {
					h["window"] = window
				}
				spec["health"] = h
			}
			if noRollback {
				spec["auto_rollback"] = false
			}
			if strict {
				spec["strict"] = true
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			var v deployView
			if err := c.Do(cmd.Context(), "POST", appPath(args[0])+"/deploys", spec, &v); err != nil {
				return err
			}
			printWarnings(cmd.ErrOrStderr(), v)
			if f.output == "json" && !watch {
				return printJSON(stdout, v)
			}
			fmt.Fprintf(stdout, "Deploy %s started: %s %s to %d hosts in %d steps.\n", v.ID, v.App, v.Version, v.Summary.Targets, v.Summary.Steps)
			if !watch {
				fmt.Fprintf(stdout, "Follow it with: wharf deploy status %s --watch\n", v.ID)
				return nil
			}
			return watchDeploy(cmd.Context(), c, stdout, v.ID, f.output)
		},
	}
	f.bind(c)
	fl := c.Flags()
	fl.StringVar(&strategy, "strategy", "", "all, rolling or canary (default: canary with --steps, rolling with --batch, else all)")
	fl.StringVar(&steps, "steps", "", "canary steps in percent of the hosts, e.g. 10,50,100")
	fl.StringVar(&batch, "batch", "", "rolling batch: N hosts or N%")
	fl.StringVar(&pause, "pause", "", "pause between steps: a duration (2m) or manual (wait for wharf deploy resume)")
	fl.StringVar(&maxUnavail, "max-unavailable", "", "hosts changing at once within a step: N or N% (default 1)")
	fl.StringVar(&rooms, "rooms", "", "only hosts in these rooms (comma-separated)")
	fl.StringVar(&labels, "labels", "", "only hosts with all these labels (comma-separated)")
	fl.StringVar(&hosts, "hosts", "", "only these host ids (comma-separated)")
	fl.Float64Var(&errMax, "error-rate-max", 0, "health gate: fail a step whose new version's error rate at the gateway exceeds this fraction")
	fl.StringVar(&window, "gate-window", "", "how long the error rate is measured after each step (default 30s)")
	fl.BoolVar(&noRollback, "no-auto-rollback", false, "leave failed targets as they are instead of rolling back")
	fl.StringVar(&why, "why", "", "the reason, kept in the record")
	fl.BoolVar(&watch, "watch", false, "follow the deploy until it ends")
	fl.BoolVar(&strict, "strict", false, "refuse the deploy (400) when the hosts cannot honour the strategy, e.g. fewer hosts than canary steps, instead of warning")
	c.AddCommand(newDeployStatusCmd(stdout), newDeployActionCmd(stdout, "pause"), newDeployActionCmd(stdout, "resume"), newDeployActionCmd(stdout, "abort"))
	return c
}

// amount is N or "N%" for the API: a number when it is one.
func amount(s string) any {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return s
}

func newDeployStatusCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var watch bool
	c := &cobra.Command{
		Use: "status ID", Short: "Show a deploy: state, steps, every target with its events", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			if watch {
				return watchDeploy(cmd.Context(), c, stdout, args[0], f.output)
			}
			v, err := getDeploy(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(stdout, v)
			}
			renderDeploy(stdout, v)
			return nil
		},
	}
	f.bind(c)
	c.Flags().BoolVar(&watch, "watch", false, "redraw as the deploy progresses, until it ends")
	return c
}

func getDeploy(ctx context.Context, c *apiclient.Client, id string) (deployView, error) {
	app, err := appOfDeploy(id)
	if err != nil {
		return deployView{}, err
	}
	var v deployView
	err = c.Do(ctx, "GET", appPath(app)+"/deploys/"+url.PathEscape(id), nil, &v)
	return v, err
}

// watchDeploy prints the deploy whenever it changes until it ends; it
// fails (exit status 1) when the deploy did not succeed.
func watchDeploy(ctx context.Context, c *apiclient.Client, w io.Writer, id, output string) error {
	last := ""
	for {
		v, err := getDeploy(ctx, c, id)
		if err != nil {
			return err
		}
		var b strings.Builder
		renderDeploy(&b, v)
		if s := b.String(); s != last {
			if output != "json" {
				fmt.Fprintf(w, "── %s\n%s", time.Now().Format(time.TimeOnly), s)
			}
			last = s
		}
		if v.Done() {
			if output == "json" {
				_ = printJSON(w, v)
			}
			if v.State != plan.StateSucceeded {
				return fmt.Errorf("deploy %s ended %s: %s", id, v.State, v.Summary.Error)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// renderDeploy writes a deploy as text: a header, then one line per target.
func renderDeploy(w io.Writer, v deployView) {
	s := v.Summary
	kind := "deploy"
	if v.Rollback {
		kind = "rollback"
	}
	fmt.Fprintf(w, "%s %s: %s %s → %s, %s, step %d of %d", kind, v.ID, v.App, orDash(v.Previous.Version), v.Version, s.State, s.Step, s.Steps)
	if !s.NextAt.IsZero() {
		fmt.Fprintf(w, ", next step at %s", s.NextAt.Local().Format(time.TimeOnly))
	}
	if s.Duration > 0 {
		fmt.Fprintf(w, ", took %s", s.Duration.Round(100*time.Millisecond))
	}
	fmt.Fprintln(w)
	if s.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", s.Error)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  HOST\tROOM\tSTATE\tLAST EVENT")
	for _, t := range v.Targets {
		last := ""
		if n := len(t.Events); n > 0 {
			e := t.Events[n-1]
			last = fmt.Sprintf("%s %s", e.At.Local().Format(time.TimeOnly), e.State)
			if e.Msg != "" {
				last += ": " + e.Msg
			}
		}
		if t.Error != "" && !strings.Contains(last, t.Error) {
			last += " (" + t.Error + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", t.Host, orDash(t.Room), t.State, last)
	}
	_ = tw.Flush()
	renderDeployDetail(w, v)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newDeployActionCmd(stdout io.Writer, action string) *cobra.Command {
	var f clientFlags
	var why string
	c := &cobra.Command{
		Use: action + " ID", Short: strings.ToUpper(action[:1]) + action[1:] + " a deploy", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			app, err := appOfDeploy(args[0])
			if err != nil {
				return err
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			var v deployView
			if err := c.Do(cmd.Context(), "POST", appPath(app)+"/deploys/"+url.PathEscape(args[0])+"/"+action, map[string]string{"why": why}, &v); err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(stdout, v)
			}
			fmt.Fprintf(stdout, "Deploy %s is %s.\n", v.ID, v.State)
			return nil
		},
	}
	f.bind(c)
	c.Flags().StringVar(&why, "why", "", "the reason, kept in the record")
	return c
}

func newRollbackCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var to, why string
	var watch bool
	c := &cobra.Command{
		Use:   "rollback APP",
		Short: "Go back to the previous good version of an app (or --to one), on every host, at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var v deployView
			if err := c.Do(cmd.Context(), "POST", appPath(args[0])+"/rollback", map[string]string{"to": to, "why": why}, &v); err != nil {
				return err
			}
			if f.output == "json" && !watch {
				return printJSON(stdout, v)
			}
			fmt.Fprintf(stdout, "Rollback %s started: %s back to %s on %d hosts.\n", v.ID, v.App, v.Version, v.Summary.Targets)
			if v.Superseded != "" {
				fmt.Fprintf(stdout, "It aborted deploy %s, which was running.\n", v.Superseded)
			}
			if watch {
				return watchDeploy(cmd.Context(), c, stdout, v.ID, f.output)
			}
			return nil
		},
	}
	f.bind(c)
	c.Flags().StringVar(&to, "to", "", "the version to go back to (default: the previous good one)")
	c.Flags().StringVar(&why, "why", "", "the reason, kept in the record")
	c.Flags().BoolVar(&watch, "watch", false, "follow the rollback until it ends")
	return c
}

func newDeploysCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var limit int
	c := &cobra.Command{
		Use: "deploys APP", Short: "The deploys of an app, newest first", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var out struct {
				Deploys []plan.Summary `json:"deploys"`
			}
			if err := c.Do(cmd.Context(), "GET", fmt.Sprintf("%s/deploys?limit=%d", appPath(args[0]), limit), nil, &out); err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(stdout, out)
			}
			if len(out.Deploys) == 0 {
				fmt.Fprintf(stdout, "No deploys of %s yet.\n", args[0])
				return nil
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tVERSION\tFROM\tSTATE\tSTEP\tTARGETS\tTOOK\tERROR")
			for _, d := range out.Deploys {
				v := d.Version
				if d.Rollback {
					v += " (rollback)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%d\t%s\t%s\n", d.ID, v, orDash(d.Previous), d.State, d.Step, d.Steps, d.Targets,
					d.Duration.Round(100*time.Millisecond), d.Error)
			}
			return tw.Flush()
		},
	}
	f.bind(c)
	c.Flags().IntVar(&limit, "limit", 20, "how many deploys")
	return c
}
