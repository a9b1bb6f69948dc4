package main

import (
	"fmt"
	"io"
	"net/url"

	"github.com/spf13/cobra"
)

// newHostCmd is `wharf host release ID`: an admin frees a deploy host from
// the agent token that holds it (and the event-signing key and address
// bound with it), so that another agent token, key or address may be
// bound by the next heartbeat.
func newHostCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "host", Short: "Manage deploy hosts"}
	var f clientFlags
	release := &cobra.Command{
		Use:   "release ID",
		Short: "Free a host from the agent token it is bound to (admin)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var out map[string]string
			if err := c.Do(cmd.Context(), "DELETE", "/api/v1/agents/hosts/"+url.PathEscape(args[0])+"/binding", nil, &out); err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(stdout, out)
			}
			fmt.Fprintf(stdout, "Host %s released: the next agent token to send its heartbeat holds it, with the key and address it announces.\n", args[0])
			return nil
		},
	}
	f.bind(release)
	cmd.AddCommand(release)
	return cmd
}
