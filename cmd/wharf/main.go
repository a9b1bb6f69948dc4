// Command wharf is the one Wharf binary: `wharf serve` runs everything in one
// process on embedded defaults; `wharf gateway|functions|judge|notify|agent`
// run one role each for multi-node set-ups; the other commands are the CLI.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/cliout"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	code := 1
	var ee exitError
	if errors.As(err, &ee) {
		code = int(ee)
	}
	cliout.WriteError(stderr, err, commandFormat(cmd), code)
	return code
}

// exitError carries a specific exit code.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "wharf",
		Short:         "Wharf: edge gateway, functions, artifacts and alarms for small teams, in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
		// One check of -o for every command that has it.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if fl := cmd.Flags().Lookup("output"); fl != nil && fl.Annotations[formatAnnotation] != nil {
				_, err := cliout.ParseFormat(fl.Value.String())
				return err
			}
			return nil
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newServeCmd(stdout, stderr))
	for _, r := range roles() {
		root.AddCommand(newRoleCmd(r, stdout, stderr))
	}
	root.AddCommand(newTokenCmd(stdout), newWhoamiCmd(stdout))
	root.AddCommand(newLoginCmds(stdout)...)
	root.AddCommand(newVersionCmd(stdout), newStatusCmd(stdout), newAppsCmd(stdout))
	root.AddCommand(newEdgeCmds(stdout)...)
	root.AddCommand(newDeployCmds(stdout)...)
	root.AddCommand(newPushCmd(stdout, stderr), newArtifactsCmd(stdout, stderr))
	root.AddCommand(newMetricsCmd(stdout))
	root.AddCommand(newStrategyCmd(stdout))
	root.AddCommand(newAlarmsCmd(stdout), newSilenceCmd(stdout), newReceiverCmd(stdout))
	root.AddCommand(newConfigCmd(stdout))
	usageOnArgErrors(root)
	registerCompletions(root)
	return root
}

// usageOnArgErrors makes a wrong number of arguments say how to call the
// command, for every command under c.
func usageOnArgErrors(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return fmt.Errorf("%w\nusage: %s (see '%s --help')", err, cmd.UseLine(), cmd.CommandPath())
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		usageOnArgErrors(sub)
	}
}
