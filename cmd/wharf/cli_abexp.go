package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wharfhq/wharf/functions/ab"
	"github.com/wharfhq/wharf/functions/ab/experiment"
	"github.com/wharfhq/wharf/internal/apiclient"
	"github.com/wharfhq/wharf/internal/cliout"
)

// newABExperimentCmd is `wharf ab experiment create|list|show|edit|start|stop|ramp|reassign`.
func newABExperimentCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "experiment", Short: "Experiments: create, edit, start, stop, ramp and reassign"}
	cmd.AddCommand(newABExpCreateCmd(stdout), newABExpListCmd(stdout), newABExpShowCmd(stdout), newABExpEditCmd(stdout),
		newABExpTransitionCmd(stdout, "start", "Start a draft or stopped experiment (its decisions are live on every node within a second)"),
		newABExpTransitionCmd(stdout, "stop", "Stop a running experiment"),
		newABExpRampCmd(stdout), newABExpReassignCmd(stdout),
		newABDeleteCmd(stdout, "experiments", "experiment", "Delete a draft or stopped experiment"))
	return cmd
}

// describeExperiment is one line about e.
func describeExperiment(e experiment.Experiment) string {
	ws := make([]string, len(e.Variations))
	for i, v := range e.Variations {
		ws[i] = strconv.FormatFloat(v.Weight, 'g', -1, 64)
	}
	where := "all units"
	if e.Layer != "" {
		where = fmt.Sprintf("layer %s [%d, %d)", e.Layer, e.Range[0], e.Range[1])
	}
	return fmt.Sprintf("Experiment %s of team %s: %s, %d variations (weights %s), %s, coverage %g, bucket version %d.",
		e.Key, e.Team, e.Status, len(e.Variations), strings.Join(ws, "/"), where, e.Coverage, e.BucketVersion)
}

func newABExpCreateCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var in map[string]any
	var layer, rng, seed, hashAttr, fallback, condition string
	var variations, forced []string
	var coverage, holdout float64
	var hashVersion int
	return newTeamCommand(&f, teamCommand{
		Use:   "create KEY --variation NAME=WEIGHT[=JSON]... [--layer L --range START-END] [--coverage C] [flags]",
		Short: "Create a draft experiment",
		Long: `Create a draft experiment; start it with wharf ab experiment start.

  wharf ab experiment create button --layer checkout --range 0-5000 \
    --variation control=0.5='{"color":"grey"}' --variation blue=0.5='{"color":"blue"}'`,
		Args:     cobra.ExactArgs(1),
		TeamHelp: abTeamHelp,
		Prepare: func(cmd *cobra.Command, args []string) error {
			in = map[string]any{"key": args[0], "layer": layer, "seed": seed, "hash_version": hashVersion,
				"hash_attribute": hashAttr, "fallback_attribute": fallback, "holdout": holdout}
			var vs []experiment.Variation
			for _, s := range variations {
				v, err := parseVariation(s)
				if err != nil {
					return err
				}
				vs = append(vs, v)
			}
			in["variations"] = vs
			if rng != "" {
				r, err := parseRange(rng)
				if err != nil {
					return err
				}
				in["range"] = r
			}
			if cmd.Flags().Changed("coverage") {
				in["coverage"] = coverage
			}
			if condition != "" {
				c, err := parseCondition(condition)
				if err != nil {
					return err
				}
				in["condition"] = c
			}
			if len(forced) > 0 {
				m, err := parseForced(forced)
				if err != nil {
					return err
				}
				in["forced"] = m
			}
			return nil
		},
		Run: func(cmd *cobra.Command, c *apiclient.Client, team string, _ []string) error {
			in["team"] = team
			return doEmit(cmd, c, &f, stdout, "POST", "/fn/ab/experiments", in, printExperiment(stdout))
		},
		Flags: func(fl *pflag.FlagSet) {
			fl.StringArrayVar(&variations, "variation", nil, "a variation NAME=WEIGHT or NAME=WEIGHT=JSON (repeat; weights sum to 1; the first is the control)")
			fl.StringVar(&layer, "layer", "", "the layer the experiment runs in (with --range)")
			fl.StringVar(&rng, "range", "", "the experiment's buckets START-END of the layer's 10,000")
			fl.Float64Var(&coverage, "coverage", 1, "share of the range's units in the experiment")
			fl.StringVar(&seed, "seed", "", "hashing seed (default the key)")
			fl.IntVar(&hashVersion, "hash-version", 0, "GrowthBook hash version 1 or 2 (default 2)")
			fl.StringVar(&hashAttr, "hash-attribute", "", "attribute hashed (default id, the unit)")
			fl.StringVar(&fallback, "fallback-attribute", "", "attribute hashed when the hash attribute is missing")
			fl.StringVar(&condition, "condition", "", `targeting condition, GrowthBook syntax, e.g. '{"country":{"$in":["fr","de"]}}'`)
			fl.StringArrayVar(&forced, "force", nil, "an allow-listed id and its variation ID=INDEX (repeat)")
			fl.Float64Var(&holdout, "holdout", 0, "share of units (0-0.5) held out and served the control's value")
		},
	})
}

// parseCondition parses --condition, a JSON object.
func parseCondition(s string) (map[string]any, error) {
	var c map[string]any
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return nil, fmt.Errorf("--condition: want a JSON object (GrowthBook's condition syntax): %w", err)
	}
	return c, nil
}

// parseForced parses --force ID=INDEX values.
func parseForced(list []string) (map[string]int, error) {
	m := map[string]int{}
	for _, s := range list {
		id, v, ok := strings.Cut(s, "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil {
			return nil, fmt.Errorf("--force %q: want ID=VARIATION_INDEX", s)
		}
		m[id] = n
	}
	return m, nil
}

// printExperiment prints an experiment as one line.
func printExperiment(w io.Writer) func(e experiment.Experiment) error {
	return func(e experiment.Experiment) error {
		_, err := fmt.Fprintln(w, describeExperiment(e))
		return err
	}
}

func newABExpListCmd(stdout io.Writer) *cobra.Command {
	return newABListCmd(stdout, "experiments", "List the experiments the token sees", func(l ab.ExperimentList) error {
		rows := cliout.NewRows("TEAM", "KEY", "STATUS", "LAYER", "RANGE", "COVERAGE", "VARIATIONS", "BUCKET_VERSION", "UPDATED_BY")
		for _, e := range l.Experiments {
			r := ""
			if e.Layer != "" {
				r = fmt.Sprintf("%d-%d", e.Range[0], e.Range[1])
			}
			rows.Add(e.Team, e.Key, string(e.Status), cliout.Cell(e.Layer), cliout.Cell(r), strconv.FormatFloat(e.Coverage, 'g', -1, 64),
				strconv.Itoa(len(e.Variations)), strconv.Itoa(e.BucketVersion), e.UpdatedBy)
		}
		return rows.Write(stdout, "No experiments.")
	})
}

func newABExpShowCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	return newTeamCommand(&f, teamCommand{
		Use:      "show KEY [--team T]",
		Short:    "Show an experiment with its exposures and the live SRM check",
		Args:     cobra.ExactArgs(1),
		TeamHelp: abTeamHelp,
		Run: func(cmd *cobra.Command, c *apiclient.Client, team string, args []string) error {
			return getEmit(cmd, c, &f, stdout, abPath("experiments", team, args[0]), func(v ab.ExperimentView) error {
				fmt.Fprintln(stdout, describeExperiment(v.Experiment))
				rows := cliout.NewRows("VARIATION", "NAME", "WEIGHT", "EXPOSURES", "VALUE")
				for i, x := range v.Variations {
					rows.Add(strconv.Itoa(i), cliout.Cell(x.Name), strconv.FormatFloat(x.Weight, 'g', -1, 64), strconv.FormatInt(v.Exposures[i], 10), cliout.Cell(string(x.Value)))
				}
				if err := rows.Write(stdout, ""); err != nil {
					return err
				}
				fmt.Fprintln(stdout, srmLine(v.SRM))
				fmt.Fprintf(stdout, "Created by %s at %s; changed by %s at %s (revision %d).\n", v.CreatedBy, v.CreatedAt.Format("2006-01-02T15:04:05Z"),
					v.UpdatedBy, v.UpdatedAt.Format("2006-01-02T15:04:05Z"), v.Revision)
				hist := cliout.NewRows("REVISION", "AT", "BY", "ACTION", "DETAIL")
				for _, h := range v.History {
					hist.Add(strconv.Itoa(h.Revision), h.At.Format("2006-01-02T15:04:05Z"), h.By, h.Action, cliout.Cell(h.Detail))
				}
				return hist.Write(stdout, "")
			})
		},
	})
}

// srmLine says whether the split looks right.
func srmLine(s ab.SRM) string {
	if s.Flagged {
		return fmt.Sprintf("SRM: BROKEN SPLIT — χ² %.2f, p %.2g over %d exposures (p < 0.001): do not trust the results.", s.ChiSquare, s.P, s.Exposures)
	}
	return fmt.Sprintf("SRM: ok (χ² %.2f, p %.3g over %d exposures).", s.ChiSquare, s.P, s.Exposures)
}

func newABExpTransitionCmd(stdout io.Writer, verb, short string) *cobra.Command {
	var f clientFlags
	return newTeamCommand(&f, teamCommand{
		Use:      verb + " KEY [--team T]",
		Short:    short,
		Args:     cobra.ExactArgs(1),
		TeamHelp: abTeamHelp,
		Run: func(cmd *cobra.Command, c *apiclient.Client, team string, args []string) error {
			return doEmit(cmd, c, &f, stdout, "POST", abPath("experiments", team, args[0])+"/"+verb, nil, printExperiment(stdout))
		},
	})
}

// printRamp prints a ramp or reassign result.
func printRamp(stdout io.Writer) func(res ab.RampResult) error {
	return func(res ab.RampResult) error {
		ch := res.Change
		what := "Saved"
		if !res.Saved {
			what = "Dry run, not saved"
		}
		fmt.Fprintf(stdout, "%s: %s\n", what, describeExperiment(res.Experiment))
		_, err := fmt.Fprintf(stdout, "Of %d sampled units: %s change variation, %s enter, %s leave.\n", ch.Sample, percent(ch.Moved), percent(ch.Entering), percent(ch.Leaving))
		return err
	}
}

func newABExpRampCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var weights string
	var coverage float64
	var dry, confirm bool
	var in map[string]any
	return newTeamCommand(&f, teamCommand{
		Use:   "ramp KEY [--coverage C] [--weights W1,W2,...] [--dry-run] [--confirm-reassign]",
		Short: "Change coverage or weights; an edit that moves units between variations needs --confirm-reassign",
		Long: `Change an experiment's coverage and/or weights. Raising coverage only adds units
(nobody changes variation). An edit that would move units from one variation to
another is refused, showing the share of units it would move (estimated by
re-hashing 10,000 units), unless --confirm-reassign is given; --dry-run shows the
estimate without saving.`,
		Args:     cobra.ExactArgs(1),
		TeamHelp: abTeamHelp,
		Prepare: func(cmd *cobra.Command, _ []string) error {
			in = map[string]any{"dry_run": dry, "confirm_reassign": confirm}
			if cmd.Flags().Changed("coverage") {
				in["coverage"] = coverage
			}
			if weights != "" {
				var ws []float64
				for _, s := range strings.Split(weights, ",") {
					w, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
					if err != nil {
						return fmt.Errorf("--weights %q: want numbers separated by commas, e.g. 0.2,0.8", weights)
					}
					ws = append(ws, w)
				}
				in["weights"] = ws
			}
			return nil
		},
		Run: func(cmd *cobra.Command, c *apiclient.Client, team string, args []string) error {
			return doEmit(cmd, c, &f, stdout, "POST", abPath("experiments", team, args[0])+"/ramp", in, printRamp(stdout))
		},
		Flags: func(fl *pflag.FlagSet) {
			fl.Float64Var(&coverage, "coverage", 1, "the new coverage (0-1)")
			fl.StringVar(&weights, "weights", "", "the new weights, one per variation, e.g. 0.2,0.8")
			fl.BoolVar(&dry, "dry-run", false, "show the estimate without saving")
			fl.BoolVar(&confirm, "confirm-reassign", false, "save an edit that moves units between variations")
		},
	})
}

func newABExpReassignCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var dry bool
	return newTeamCommand(&f, teamCommand{
		Use:      "reassign KEY [--dry-run]",
		Short:    "Reshuffle every unit: a new bucket version (an explicit, versioned reassignment)",
		Args:     cobra.ExactArgs(1),
		TeamHelp: abTeamHelp,
		Flags:    func(fl *pflag.FlagSet) { fl.BoolVar(&dry, "dry-run", false, "show the estimate without saving") },
		Run: func(cmd *cobra.Command, c *apiclient.Client, team string, args []string) error {
			return doEmit(cmd, c, &f, stdout, "POST", abPath("experiments", team, args[0])+"/reassign", map[string]bool{"dry_run": dry}, printRamp(stdout))
		},
	})
}
