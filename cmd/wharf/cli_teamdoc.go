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
	cmd := &cobra.Command{
		Use: tc.Use, Short: tc.Short, Long: tc.Long, Args: tc.Args,
		RunE: func(cmd *cobra.Command, args []string) error {
			if tc.Prepare != nil {
				if err := tc.Prepare(cmd, args); err != nil {
					return err
				}
			}
			c, err := f.client()
			if err == nil && !tc.AnyTeam {
				team, err = alarmTeam(cmd.Context(), c, team)
			}
			if err != nil {
				return err
			}
			return tc.Run(cmd, c, team, args)
		},
	}
	help := tc.TeamHelp
	if help == "" {
		help = "the team (default: the token's)"
	}
	cmd.Flags().StringVar(&team, "team", "", help)
	if tc.Flags != nil {
		tc.Flags(cmd.Flags())
	}
	f.bind(cmd)
	return cmd
}

// getEmit GETs path into a T and prints it: human(v), or with -o json
// the JSON.
func getEmit[T any](cmd *cobra.Command, c *apiclient.Client, f *clientFlags, stdout io.Writer, path string, human func(v T) error) error {
	return doEmit(cmd, c, f, stdout, "GET", path, nil, human)
}

// doEmit sends method path with body (JSON; nil: none), reads the answer
// into a T and prints it: human(v), or with -o json the JSON.
func doEmit[T any](cmd *cobra.Command, c *apiclient.Client, f *clientFlags, stdout io.Writer, method, path string, body any, human func(v T) error) error {
	var v T
	if err := c.Do(cmd.Context(), method, path, body, &v); err != nil {
		return err
	}
	return f.emit(stdout, v, func() error { return human(v) })
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
