package main

import (
	"bytes"
	"io"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wharfhq/wharf/internal/apiclient"
)

// teamCommand is a `wharf <noun> <verb>` acting on one team's documents
// (alarm receivers, routes, inhibition rules; A/B layers, experiments):
// the command gets --team (default: the token's only team) and the client
// flags, and Run gets the client and the team.
type teamCommand struct {
	Use, Short, Long string
	Args             cobra.PositionalArgs
	// TeamHelp replaces --team's help text.
	TeamHelp string
	// AnyTeam makes --team optional: no default from the token, the
	// command sees every team the token sees (a filter, for lists).
	AnyTeam bool
	// Flags adds the command's own flags.
	Flags func(fl *pflag.FlagSet)
	// Prepare, if set, checks the arguments and flags before the client
	// is made (input errors come before connection errors).
	Prepare func(cmd *cobra.Command, args []string) error
	Run     func(cmd *cobra.Command, c *apiclient.Client, team string, args []string) error
}

// newTeamCommand builds tc with f as its client flags.
func newTeamCommand(f *clientFlags, tc teamCommand) *cobra.Command {
	var team string
	help := tc.TeamHelp
	if help == "" {
		help = "the team (default: the token's)"
	}
	return newClientCommand(f, clientCommand{
		Use: tc.Use, Short: tc.Short, Long: tc.Long, Args: tc.Args, Prepare: tc.Prepare,
		Flags: func(fl *pflag.FlagSet) {
			fl.StringVar(&team, "team", "", help)
			if tc.Flags != nil {
				tc.Flags(fl)
			}
		},
		Run: func(cmd *cobra.Command, c *apiclient.Client, args []string) error {
			if !tc.AnyTeam {
				var err error
				if team, err = alarmTeam(cmd.Context(), c, team); err != nil {
					return err
				}
			}
			return tc.Run(cmd, c, team, args)
		},
	})
}

// versionedPut is the body of a `put -f FILE` of a versioned document:
// it reads FILE (- for stdin), GETs the current version (none yet: 0),
// PUTs FILE as YAML with version= and comment= (so a write in between is
// refused with 409) and prints summary(v) or, with -o json, the answer.
type versionedPut[T any] struct {
	path, file, what, comment string
	version                   func(v T) int64
	summary                   func(v T) error
}

func (p versionedPut[T]) run(cmd *cobra.Command, c *apiclient.Client, f *clientFlags, stdout io.Writer) error {
	body, err := readConfigFile(cmd.InOrStdin(), p.file, p.what)
	if err != nil {
		return err
	}
	var cur T
	if err := c.Do(cmd.Context(), "GET", p.path, nil, &cur); err != nil && !apiclient.IsStatus(err, 404) {
		return err
	}
	q := url.Values{"version": {strconv.FormatInt(p.version(cur), 10)}}
	if p.comment != "" {
		q.Set("comment", p.comment)
	}
	var v T
	if err := c.Upload(cmd.Context(), "PUT", p.path+"?"+q.Encode(), bytes.NewReader(body), int64(len(body)),
		map[string]string{"Content-Type": "application/yaml"}, &v); err != nil {
		return err
	}
	return f.emit(stdout, v, func() error { return p.summary(v) })
}
