package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/apiclient"
	"github.com/wharfhq/wharf/internal/cliout"
)

// newUnlockCmd builds `wharf acl unlock ADDRESS`: the way back in for an
// admin who forced a lock-out. It talks to the internal listener of a
// gateway-running process on the same host (which answers loopback peers
// only), not to the gateway, which shuts the address out; it sends the
// admin token like every command (deployed apps are loopback peers too).
func newUnlockCmd(stdout io.Writer) *cobra.Command {
	var internal string
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "unlock ADDRESS",
		Short: "Lift every ban and ACL entry that shuts ADDRESS out (run on the gateway host)",
		Long: "Lifts the bans covering ADDRESS, removes deny entries covering it and adds it to allow lists " +
			"that do not admit it, globally and on every route, through POST /admin/unlock on the internal " +
			"listener (loopback peers with an admin token only).",
		Example: "  wharf acl unlock 198.51.100.7\n  wharf acl unlock ::1 --internal http://127.0.0.1:9090",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := cliout.ParseFormat(f.output); err != nil {
				return err
			}
			f.server = internal // the context's token only goes to its own server
			cr, err := f.credentials()
			if err != nil {
				return err
			}
			c, err := apiclient.New(internal, cr.token)
			if err != nil {
				return fmt.Errorf("--internal: %w", err)
			}
			var out struct {
				Address string   `json:"address"`
				Bans    []string `json:"bans"`
				ACL     []string `json:"acl"`
				Version int64    `json:"version"`
			}
			if err := c.Do(cmd.Context(), "POST", "/admin/unlock", map[string]string{"address": args[0]}, &out); err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(stdout, out)
			}
			if len(out.Bans)+len(out.ACL) == 0 {
				fmt.Fprintf(stdout, "Nothing shuts %s out.\n", out.Address)
				return nil
			}
			if len(out.Bans) > 0 {
				fmt.Fprintf(stdout, "Lifted bans: %s\n", strings.Join(out.Bans, ", "))
			}
			for _, a := range out.ACL {
				fmt.Fprintln(stdout, a)
			}
			fmt.Fprintf(stdout, "%s is let in (edge config version %d).\n", out.Address, out.Version)
			return nil
		},
	}
	cmd.Flags().StringVar(&internal, "internal", envOr("WHARF_INTERNAL", "http://127.0.0.1:9090"), "internal listener URL of the gateway host (env WHARF_INTERNAL)")
	f.bind(cmd)
	_ = cmd.Flags().MarkHidden("server") // unlock goes to --internal
	return cmd
}
