package main

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/cliout"
)

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

type tokenView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by,omitempty"`
	Token     string    `json:"token,omitempty"`
}

func newTokenCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Create, list and revoke API tokens (admin)"}

	var cf clientFlags
	var name, team string
	var scopes []string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a token; its secret is printed once",
		Example: `  wharf token create --team shop
  wharf token create --name ci-ingest --scope ingest`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			var out tokenView
			in := map[string]any{"name": name, "team": team, "scopes": scopes}
			if err := c.Do(cmd.Context(), "POST", "/api/v1/tokens", in, &out); err != nil {
				return err
			}
			if cf.output == "json" {
				return printJSON(stdout, out)
			}
			fmt.Fprintf(stdout, "Created token %s (%s) with scopes %s.\nIts secret is shown only this once:\n\n  %s\n", out.ID, out.Name, strings.Join(out.Scopes, ","), out.Token)
			return nil
		},
	}
	cf.bind(create)
	create.Flags().StringVar(&name, "name", "", "token name (default: the team name)")
	create.Flags().StringVar(&team, "team", "", "grant the scope team:<name>")
	create.Flags().StringSliceVar(&scopes, "scope", nil, "scopes to grant: admin, agent, ingest, team:<name> (repeatable)")

	var lf clientFlags
	list := &cobra.Command{
		Use: "list", Short: "List tokens (never their secrets)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := lf.client()
			if err != nil {
				return err
			}
			var out struct {
				Tokens []tokenView `json:"tokens"`
			}
			if err := c.Do(cmd.Context(), "GET", "/api/v1/tokens", nil, &out); err != nil {
				return err
			}
			if lf.output == "json" {
				return printJSON(stdout, out.Tokens)
			}
			rows := cliout.NewRows("ID", "NAME", "SCOPES", "CREATED", "BY")
			now := time.Now()
			for _, t := range out.Tokens {
				rows.Add(t.ID, t.Name, strings.Join(t.Scopes, ","), cliout.Ago(t.CreatedAt, now), t.CreatedBy)
			}
			return rows.Write(stdout, "No tokens.")
		},
	}
	lf.bind(list)

	var rf clientFlags
	revoke := &cobra.Command{
		Use: "revoke ID", Short: "Revoke a token at once", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := rf.client()
			if err != nil {
				return err
			}
			if err := c.Do(cmd.Context(), "DELETE", "/api/v1/tokens/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			if rf.json() {
				return printJSON(stdout, map[string]any{"revoked": args[0]})
			}
			fmt.Fprintf(stdout, "Revoked token %s.\n", args[0])
			return nil
		},
	}
	rf.bind(revoke)
	cmd.AddCommand(create, list, revoke)
	return cmd
}

func newWhoamiCmd(stdout io.Writer) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use: "whoami", Short: "Show the name and scopes of the token in use", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			var out whoamiView
			if err := c.Do(cmd.Context(), "GET", "/api/v1/whoami", nil, &out); err != nil {
				return err
			}
			return cf.emit(stdout, out, func() error {
				var kv cliout.KV
				kv.Add("Name", out.Name)
				kv.Add("Token", out.ID)
				kv.Add("Scopes", strings.Join(out.Scopes, ", "))
				kv.Add("Teams", strings.Join(out.Teams, ", "))
				kv.Add("Server", out.ServerVersion)
				return kv.Write(stdout)
			})
		},
	}
	cf.bind(cmd)
	return cmd
}
