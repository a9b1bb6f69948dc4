package main

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wharfhq/wharf/functions/ab"
	"github.com/wharfhq/wharf/functions/ab/experiment"
	"github.com/wharfhq/wharf/internal/apiclient"
	"github.com/wharfhq/wharf/internal/cliout"
)

// newABCmd is `wharf ab layer|experiment|decide|track|results|sdk-key`.
func newABCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "ab", Short: "A/B experiments: layers, experiments, decisions, events and results (docs/ab.md)"}
	layer := &cobra.Command{Use: "layer", Short: "Layers: sets of mutually exclusive experiments, each with its own salt"}
	layer.AddCommand(newABLayerCreateCmd(stdout), newABLayerListCmd(stdout), newABLayerShowCmd(stdout),
		newABDeleteCmd(stdout, "layers", "layer", "Delete a layer no experiment names"))
	cmd.AddCommand(layer, newABExperimentCmd(stdout), newABDecideCmd(stdout), newABTrackCmd(stdout), newABResultsCmd(stdout), newABSDKKeyCmd(stdout))
	return cmd
}

// abTeamHelp is --team's help of the A/B commands that act on one team.
const abTeamHelp = "the team (default: the token's only team)"

func abPath(kind, team, name string) string {
	return "/fn/ab/" + kind + "/" + url.PathEscape(team) + "/" + url.PathEscape(name)
}

func newABLayerCreateCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var salt, desc string
	return newTeamCommand(&f, teamCommand{
		Use:      "create NAME [--salt S] [--description TEXT] [--team T]",
		Short:    "Create a layer (10,000 buckets; its experiments own disjoint bucket ranges)",
		Args:     cobra.ExactArgs(1),
		TeamHelp: abTeamHelp,
		Flags: func(fl *pflag.FlagSet) {
			fl.StringVar(&salt, "salt", "", "the layer's hashing salt (default TEAM/NAME)")
			fl.StringVar(&desc, "description", "", "what the layer is for")
		},
		Run: func(cmd *cobra.Command, c *apiclient.Client, team string, args []string) error {
			in := map[string]string{"team": team, "name": args[0], "salt": salt, "description": desc}
			return doEmit(cmd, c, &f, stdout, "POST", "/fn/ab/layers", in, func(l experiment.Layer) error {
				_, err := fmt.Fprintf(stdout, "Layer %s of team %s (salt %s).\n", l.Name, l.Team, l.Salt)
				return err
			})
		},
	})
}

func newABLayerListCmd(stdout io.Writer) *cobra.Command {
	return newABListCmd(stdout, "layers", "List the layers the token sees", func(l ab.LayerList) error {
		rows := cliout.NewRows("TEAM", "NAME", "SALT", "UPDATED_BY", "DESCRIPTION")
		for _, x := range l.Layers {
			rows.Add(x.Team, x.Name, x.Salt, x.UpdatedBy, cliout.Cell(x.Description))
		}
		return rows.Write(stdout, "No layers.")
	})
}

// newABListCmd is `wharf ab layer|experiment list [--team T]`: GET
// /fn/ab/KIND (of every team the token sees, or of --team) into an L,
// printed by human.
func newABListCmd[L any](stdout io.Writer, kind, short string, human func(l L) error) *cobra.Command {
	var f clientFlags
	return newTeamCommand(&f, teamCommand{
		Use:      "list [--team T]",
		Short:    short,
		Args:     cobra.NoArgs,
		TeamHelp: "only this team's",
		AnyTeam:  true,
		Run: func(cmd *cobra.Command, c *apiclient.Client, team string, _ []string) error {
			return getEmit(cmd, c, &f, stdout, "/fn/ab/"+kind+"?team="+url.QueryEscape(team), human)
		},
	})
}

func newABLayerShowCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	return newTeamCommand(&f, teamCommand{
		Use:      "show NAME [--team T]",
		Short:    "Show a layer",
		Args:     cobra.ExactArgs(1),
		TeamHelp: abTeamHelp,
		Run: func(cmd *cobra.Command, c *apiclient.Client, team string, args []string) error {
			return getEmit(cmd, c, &f, stdout, abPath("layers", team, args[0]), func(l experiment.Layer) error {
				_, err := fmt.Fprintf(stdout, "Layer %s of team %s\n  salt: %s\n  created by %s at %s, revision %d\n", l.Name, l.Team, l.Salt,
					l.CreatedBy, l.CreatedAt.Format("2006-01-02T15:04:05Z"), l.Revision)
				return err
			})
		},
	})
}

// parseVariation reads NAME=WEIGHT[=JSON].
func parseVariation(s string) (experiment.Variation, error) {
	parts := strings.SplitN(s, "=", 3)
	if len(parts) < 2 {
		return experiment.Variation{}, fmt.Errorf("--variation %q: want NAME=WEIGHT or NAME=WEIGHT=JSON, e.g. blue=0.5='{\"color\":\"blue\"}'", s)
	}
	w, err := strconv.ParseFloat(parts[1], 64)
	if err != nil {
		return experiment.Variation{}, fmt.Errorf("--variation %q: the weight %q is not a number", s, parts[1])
	}
	v := experiment.Variation{Name: parts[0], Weight: w}
	if len(parts) == 3 {
		v.Value = []byte(parts[2])
	}
	return v, nil
}

// parseRange reads START-END.
func parseRange(s string) ([2]int, error) {
	a, b, ok := strings.Cut(s, "-")
	x, err1 := strconv.Atoi(a)
	y, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil {
		return [2]int{}, fmt.Errorf("--range %q: want START-END in buckets of 0-10000, e.g. 0-5000", s)
	}
	return [2]int{x, y}, nil
}

// percent formats a share as a percentage.
func percent(x float64) string { return strconv.FormatFloat(x*100, 'f', 2, 64) + "%" }

// newABDeleteCmd is `wharf ab layer|experiment delete NAME`.
func newABDeleteCmd(stdout io.Writer, kind, what, short string) *cobra.Command {
	var f clientFlags
	return newTeamCommand(&f, teamCommand{
		Use:      "delete NAME [--team T]",
		Short:    short,
		Args:     cobra.ExactArgs(1),
		TeamHelp: abTeamHelp,
		Run: func(cmd *cobra.Command, c *apiclient.Client, team string, args []string) error {
			if err := c.Do(cmd.Context(), "DELETE", abPath(kind, team, args[0]), nil, nil); err != nil {
				return err
			}
			out := map[string]string{"deleted": what, "team": team, "name": args[0]}
			return f.emit(stdout, out, func() error {
				_, err := fmt.Fprintf(stdout, "Deleted %s %s of team %s.\n", what, args[0], team)
				return err
			})
		},
	})
}
