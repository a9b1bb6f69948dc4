package main

import (
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wharfhq/wharf/internal/apiclient"
)

// clientCommand is a `wharf <noun> <verb>` that talks to the API: the
// command gets its flags and the connection flags, and Run gets the
// client.
type clientCommand struct {
	Use, Short, Long string
	Args             cobra.PositionalArgs
	// Flags adds the command's own flags.
	Flags func(fl *pflag.FlagSet)
	// Prepare, if set, checks the arguments and flags before the client
	// is made (input errors come before connection errors).
	Prepare func(cmd *cobra.Command, args []string) error
	Run     func(cmd *cobra.Command, c *apiclient.Client, args []string) error
}

// connFlags are the flags a command connects with: clientFlags, or
// flags that embed them.
type connFlags interface {
	bind(cmd *cobra.Command)
	client() (*apiclient.Client, error)
}

// newClientCommand builds cc with f as its connection flags (bound after
// cc's own).
func newClientCommand(f connFlags, cc clientCommand) *cobra.Command {
	cmd := &cobra.Command{
		Use: cc.Use, Short: cc.Short, Long: cc.Long, Args: cc.Args,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cc.Prepare != nil {
				if err := cc.Prepare(cmd, args); err != nil {
					return err
				}
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			return cc.Run(cmd, c, args)
		},
	}
	if cc.Flags != nil {
		cc.Flags(cmd.Flags())
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
