package main

import (
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wharfhq/wharf/functions/ab/experiment"
	"github.com/wharfhq/wharf/internal/apiclient"
)

// newABExpEditCmd is `wharf ab experiment edit`: PATCH of the flags given.
func newABExpEditCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var in map[string]any
	var rng, seed, hashAttr, fallback, condition string
	var variations, forced []string
	var coverage, holdout float64
	var hashVersion, revision int
	var clearForced, newBV, confirm, dry bool
	return newTeamCommand(&f, teamCommand{
		Use:   "edit KEY [--if-match REVISION] [--variation NAME=WEIGHT[=JSON]]... [--coverage C] [--condition JSON] [flags]",
		Short: "Edit an experiment's definition in place (only the flags given change)",
		Long: `Edit an experiment's definition in place: only the flags given change.

--if-match REVISION saves only if the experiment is still at that revision (wharf ab
experiment show prints it), so a concurrent edit is not overwritten. An edit that
moves units between variations (weights, a range) is refused with the estimated
share of units it moves unless --confirm-reassign is given; --dry-run shows the
estimate without saving. Changing the seed, hash version, hash attribute or the
number of variations of an experiment that has run moves every unit: it needs
--new-bucket-version (a new bucket version; its results start over).

  wharf ab experiment edit button --if-match 4 \
    --variation control=0.5='{"color":"grey"}' --variation blue=0.5='{"color":"navy"}'
  wharf ab experiment edit button --condition '{"country":"fr"}'
  wharf ab experiment edit button --seed button-2 --new-bucket-version`,
		Args:     cobra.ExactArgs(1),
		TeamHelp: abTeamHelp,
		Prepare: func(cmd *cobra.Command, _ []string) error {
			in = map[string]any{"revision": revision, "new_bucket_version": newBV, "confirm_reassign": confirm, "dry_run": dry}
			changed := cmd.Flags().Changed
			if len(variations) > 0 {
				var vs []experiment.Variation
				for _, s := range variations {
					v, err := parseVariation(s)
					if err != nil {
						return err
					}
					vs = append(vs, v)
				}
				in["variations"] = vs
			}
			if changed("range") {
				r, err := parseRange(rng)
				if err != nil {
					return err
				}
				in["range"] = r
			}
			if changed("condition") {
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
			} else if clearForced {
				in["forced"] = map[string]int{}
			}
			for _, fl := range []struct {
				flag, field string
				value       any
			}{{"coverage", "coverage", coverage}, {"holdout", "holdout", holdout}, {"seed", "seed", seed}, {"hash-version", "hash_version", hashVersion},
				{"hash-attribute", "hash_attribute", hashAttr}, {"fallback-attribute", "fallback_attribute", fallback}} {
				if changed(fl.flag) {
					in[fl.field] = fl.value
				}
			}
			return nil
		},
		Run: func(cmd *cobra.Command, c *apiclient.Client, team string, args []string) error {
			return doEmit(cmd, c, &f, stdout, "PATCH", abPath("experiments", team, args[0]), in, printRamp(stdout))
		},
		Flags: func(fl *pflag.FlagSet) {
			fl.IntVar(&revision, "if-match", 0, "save only if the experiment is at this revision")
			fl.StringArrayVar(&variations, "variation", nil, "the variations NAME=WEIGHT or NAME=WEIGHT=JSON (repeat; they replace the current ones)")
			fl.StringVar(&rng, "range", "", "the experiment's buckets START-END of its layer's 10,000")
			fl.Float64Var(&coverage, "coverage", 1, "share of the range's units in the experiment")
			fl.StringVar(&seed, "seed", "", "hashing seed (needs --new-bucket-version once the experiment has run)")
			fl.IntVar(&hashVersion, "hash-version", 2, "GrowthBook hash version 1 or 2 (needs --new-bucket-version once the experiment has run)")
			fl.StringVar(&hashAttr, "hash-attribute", "", "attribute hashed (needs --new-bucket-version once the experiment has run)")
			fl.StringVar(&fallback, "fallback-attribute", "", "attribute hashed when the hash attribute is missing (changing a set one needs --new-bucket-version once the experiment has run)")
			fl.StringVar(&condition, "condition", "", `targeting condition, GrowthBook syntax; '{}' removes it`)
			fl.StringArrayVar(&forced, "force", nil, "the allow-list ID=INDEX (repeat; replaces the current one)")
			fl.BoolVar(&clearForced, "clear-forced", false, "remove the allow-list")
			fl.Float64Var(&holdout, "holdout", 0, "share of units (0-0.5) held out and served the control's value")
			fl.BoolVar(&newBV, "new-bucket-version", false, "save the edit as a new bucket version (every unit hashed anew; results start over)")
			fl.BoolVar(&confirm, "confirm-reassign", false, "save an edit that moves units between variations")
			fl.BoolVar(&dry, "dry-run", false, "show the estimate without saving")
		},
	})
}
