package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/functions/alarms"
	"github.com/wharfhq/wharf/internal/apiclient"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/cliout"
)

// alarmTeam is --team, else the token's team when it has exactly one.
func alarmTeam(ctx context.Context, c *apiclient.Client, team string) (string, error) {
	if team != "" {
		return team, nil
	}
	var p auth.Principal
	if err := c.Do(ctx, "GET", "/api/v1/whoami", nil, &p); err != nil {
		return "", err
	}
	if teams := p.Teams(); len(teams) == 1 {
		return teams[0], nil
	}
	return "", fmt.Errorf("give --team: the token %q is not of exactly one team", p.Name)
}

// teamClient is f's client and the team a command acts for: *team, or
// when empty the token's only team (written back to *team).
func (f *clientFlags) teamClient(ctx context.Context, team *string) (*apiclient.Client, error) {
	c, err := f.client()
	if err != nil {
		return nil, err
	}
	if *team, err = alarmTeam(ctx, c, *team); err != nil {
		return nil, err
	}
	return c, nil
}

// readConfigFile reads FILE (- for stdin), at most 1 MiB.
func readConfigFile(stdin io.Reader, file, what string) ([]byte, error) {
	r := stdin
	if file != "-" {
		fh, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("cannot read %s: %w", what, err)
		}
		defer fh.Close()
		r = fh
	}
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", what, err)
	}
	return b, nil
}

// newReceiverCmd is `wharf receiver put|list|show|delete`.
func newReceiverCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "receiver", Short: "Manage a team's alarm receivers (webhooks, templates, streams)"}
	cmd.AddCommand(newReceiverPutCmd(stdout), newReceiverListCmd(stdout), newReceiverShowCmd(stdout), newReceiverDeleteCmd(stdout))
	return cmd
}

func receiverPath(team, name string) string {
	p := "/api/v1/receivers/" + url.PathEscape(team)
	if name != "" {
		p += "/" + url.PathEscape(name)
	}
	return p
}

func newReceiverPutCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var file, team string
	ifVersion := int64(-1)
	cmd := &cobra.Command{
		Use:   "put [NAME] -f FILE [--team T] [--if-version N]",
		Short: "Create or replace a receiver (NAME, else the file's name)",
		Long: `Create or replace a receiver from FILE (JSON, - for stdin), e.g.

  {"name": "chat", "kind": "webhook", "url": "https://chat.example.com/hook",
   "timeout": "10s", "secret_ref": "chat-hmac", "secret": "..."}

The secret is write-only: it is kept under secret_ref and never shown.
See docs/monitoring-alarms.md for every field.

With --if-version N (or "version": N in the file, as "show -o json"
prints it) the write is refused when the receiver is no longer at
version N: another write came first (0: it must not exist yet).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := readConfigFile(cmd.InOrStdin(), file, "receiver")
			if err != nil {
				return err
			}
			var head struct {
				Name string `json:"name"`
			}
			if err := json.Unmarshal(body, &head); err != nil {
				return fmt.Errorf("%s is not a JSON object: %w", file, err)
			}
			name := head.Name
			if len(args) == 1 {
				name = args[0]
			}
			if name == "" {
				return fmt.Errorf("name the receiver: wharf receiver put NAME -f FILE, or \"name\" in the file")
			}
			c, err := f.teamClient(cmd.Context(), &team)
			if err != nil {
				return err
			}
			path := receiverPath(team, name)
			if ifVersion >= 0 {
				path += "?version=" + strconv.FormatInt(ifVersion, 10)
			}
			var out alarms.VersionedReceiver
			if err := c.Do(cmd.Context(), "PUT", path, json.RawMessage(body), &out); err != nil {
				return err
			}
			return f.emit(stdout, out, func() error {
				fmt.Fprintf(stdout, "Receiver %s of team %s: %s %s.\n", out.Name, out.Team, out.Kind, cliout.Cell(out.URL))
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "JSON file with the receiver (- for stdin)")
	cmd.Flags().StringVar(&team, "team", "", "the team (default: the token's)")
	cmd.Flags().Int64Var(&ifVersion, "if-version", -1, "only if the receiver is still at this version (0: it must not exist yet)")
	_ = cmd.MarkFlagRequired("file")
	f.bind(cmd)
	return cmd
}

func newReceiverListCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	return newTeamCommand(&f, teamCommand{
		Use:   "list [--team T]",
		Short: "List a team's receivers",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, c *apiclient.Client, team string, _ []string) error {
			return getEmit(cmd, c, &f, stdout, receiverPath(team, ""), func(l alarms.ReceiverList) error {
				rows := cliout.NewRows("NAME", "KIND", "URL", "SECRET_REF", "MATCHERS")
				for _, r := range l.Receivers {
					rows.Add(r.Name, string(r.Kind), cliout.Cell(r.URL), cliout.Cell(r.SecretRef), cliout.Cell(strings.Join(r.Matchers, ",")))
				}
				return rows.Write(stdout, "No receivers.")
			})
		},
	})
}

func newReceiverShowCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	return newTeamCommand(&f, teamCommand{
		Use:   "show NAME [--team T]",
		Short: "Show one receiver (never its secret)",
		Args:  cobra.ExactArgs(1),
		Run: func(cmd *cobra.Command, c *apiclient.Client, team string, args []string) error {
			var r alarms.VersionedReceiver
			if err := c.Do(cmd.Context(), "GET", receiverPath(team, args[0]), nil, &r); err != nil {
				return err
			}
			return f.show(stdout, r)
		},
	})
}

func newReceiverDeleteCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	return newTeamCommand(&f, teamCommand{
		Use:   "delete NAME [--team T]",
		Short: "Delete a receiver that no alarm route names",
		Args:  cobra.ExactArgs(1),
		Run: func(cmd *cobra.Command, c *apiclient.Client, team string, args []string) error {
			if err := c.Do(cmd.Context(), "DELETE", receiverPath(team, args[0]), nil, nil); err != nil {
				return err
			}
			return f.emit(stdout, map[string]string{"deleted": args[0], "team": team}, func() error {
				fmt.Fprintf(stdout, "Deleted receiver %s of team %s.\n", args[0], team)
				return nil
			})
		},
	})
}
