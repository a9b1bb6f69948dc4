package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/apiclient"
	"github.com/wharfhq/wharf/internal/cliconfig"
	"github.com/wharfhq/wharf/internal/cliout"
)

// whoamiView is GET /api/v1/whoami: who the token is, never its secret.
type whoamiView struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Scopes        []string `json:"scopes"`
	Teams         []string `json:"teams,omitempty"`
	ServerVersion string   `json:"server_version,omitempty"`
}

// newLoginCmds are `wharf login`, `wharf logout` and `wharf context`.
func newLoginCmds(stdout io.Writer) []*cobra.Command {
	return []*cobra.Command{newLoginCmd(stdout), newLogoutCmd(stdout), newContextCmd(stdout)}
}

func newLoginCmd(stdout io.Writer) *cobra.Command {
	var server, token, name, output string
	var tokenStdin bool
	cmd := &cobra.Command{
		Use:   "login --server URL",
		Short: "Check a token against a server and save both as a named context (made current)",
		Long: `Check the token with GET /api/v1/whoami and save the server and token as a
context in the CLI config file (os.UserConfigDir()/wharf/config.yaml, or
WHARF_CLI_CONFIG; mode 0600), then make it the current context.

The token comes from --token-stdin, --token, WHARF_TOKEN, or a prompt
when stdin is a terminal. Every later command uses the current context
unless --server/--token, WHARF_SERVER/WHARF_TOKEN or --context say otherwise.`,
		Example: `  wharf login --server https://wharf.example.com --name prod   # asks for the token
  echo "$TOKEN" | wharf login --server http://127.0.0.1:8080 --token-stdin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if server == "" {
				return errors.New("--server is required, e.g. --server https://wharf.example.com")
			}
			if _, err := cliout.ParseFormat(output); err != nil {
				return err
			}
			tok, err := loginToken(cmd, token, tokenStdin)
			if err != nil {
				return err
			}
			c, err := apiclient.New(server, tok)
			if err != nil {
				return fmt.Errorf("--server: %w", err)
			}
			var who whoamiView
			if err := c.Do(cmd.Context(), "GET", "/api/v1/whoami", nil, &who); err != nil {
				return fmt.Errorf("cannot log in to %s: %w", server, err)
			}
			if name == "" {
				name = contextName(server)
			}
			path, err := configPath()
			if err != nil {
				return err
			}
			cfg, err := cliconfig.Load(path)
			if err != nil {
				return err
			}
			cfg.Set(cliconfig.Context{Name: name, Server: strings.TrimRight(server, "/"), Token: tok})
			cfg.Current = name
			if err := cfg.Save(path); err != nil {
				return err
			}
			if output == string(cliout.JSON) {
				return cliout.WriteJSON(stdout, map[string]any{"context": name, "server": server, "config": path, "whoami": who})
			}
			fmt.Fprintf(stdout, "Logged in to %s as %s (scopes %s).\nSaved context %q in %s; it is the current context.\n",
				server, who.Name, strings.Join(who.Scopes, ","), name, path)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&server, "server", os.Getenv("WHARF_SERVER"), "Wharf gateway URL (env WHARF_SERVER)")
	fl.StringVar(&token, "token", "", "the token (visible in the shell history and process list: prefer --token-stdin or the prompt)")
	fl.BoolVar(&tokenStdin, "token-stdin", false, "read the token from stdin")
	fl.StringVar(&name, "name", "", "name of the context (default: the server's host:port)")
	bindOutput(cmd, &output)
	return cmd
}

// loginToken is the token to log in with: --token-stdin, --token,
// WHARF_TOKEN, or a prompt on a terminal.
func loginToken(cmd *cobra.Command, flag string, fromStdin bool) (string, error) {
	var tok string
	switch {
	case fromStdin:
		line, err := readLine(cmd.InOrStdin())
		if err != nil {
			return "", fmt.Errorf("cannot read the token from stdin: %w", err)
		}
		tok = line
	case flag != "":
		tok = flag
	case os.Getenv("WHARF_TOKEN") != "":
		tok = os.Getenv("WHARF_TOKEN")
	default:
		in, ok := cmd.InOrStdin().(*os.File)
		if !ok || !stdinTerminal(in) {
			return "", errors.New("no token: pass --token-stdin (and pipe it in), --token or WHARF_TOKEN, or run on a terminal to be asked")
		}
		fmt.Fprint(cmd.ErrOrStderr(), "Token: ")
		line, err := readSecret(in)
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", fmt.Errorf("cannot read the token: %w", err)
		}
		tok = line
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", errors.New("the token is empty")
	}
	return tok, nil
}

// contextName is a context's default name: the server's host[:port].
func contextName(server string) string {
	if u, err := url.Parse(server); err == nil && u.Host != "" {
		return u.Host
	}
	return server
}

func newLogoutCmd(stdout io.Writer) *cobra.Command {
	var name, output string
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Forget the current context's token (or --context NAME's); the token stays valid on the server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, cfg, err := loadConfig()
			if err != nil {
				return err
			}
			if name == "" {
				name = cfg.Current
			}
			if name == "" {
				return fmt.Errorf("not logged in: %s has no current context", path)
			}
			if !cfg.Remove(name) {
				return fmt.Errorf("no context %q in %s (have: %s)", name, path, orNone(cfg.Names()))
			}
			if err := cfg.Save(path); err != nil {
				return err
			}
			if output == string(cliout.JSON) {
				return cliout.WriteJSON(stdout, map[string]string{"removed": name, "config": path})
			}
			fmt.Fprintf(stdout, "Removed context %q and its token from %s. To revoke the token itself: wharf token revoke ID.\n", name, path)
			return nil
		},
	}
	bindOutput(cmd, &output)
	cmd.Flags().StringVar(&name, "context", "", "the context to remove (default: the current one)")
	_ = cmd.RegisterFlagCompletionFunc("context", completeContexts)
	return cmd
}

func loadConfig() (string, *cliconfig.Config, error) {
	path, err := configPath()
	if err != nil {
		return "", nil, err
	}
	cfg, err := cliconfig.Load(path)
	return path, cfg, err
}

// contextView is a context as `context list -o json` shows it: no token.
type contextView struct {
	Name    string `json:"name"`
	Server  string `json:"server"`
	Current bool   `json:"current"`
}

func newContextCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "context", Short: "List, switch and remove saved contexts (server + token, see wharf login)"}
	var lo string
	list := &cobra.Command{
		Use: "list", Short: "List saved contexts (never their tokens)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, cfg, err := loadConfig()
			if err != nil {
				return err
			}
			views := []contextView{}
			rows := cliout.NewRows("CURRENT", "NAME", "SERVER")
			for _, c := range cfg.Contexts {
				cur := c.Name == cfg.Current
				views = append(views, contextView{Name: c.Name, Server: c.Server, Current: cur})
				mark := ""
				if cur {
					mark = "*"
				}
				rows.Add(mark, c.Name, c.Server)
			}
			if lo == string(cliout.JSON) {
				return cliout.WriteJSON(stdout, views)
			}
			return rows.Write(stdout, fmt.Sprintf("No contexts in %s: add one with wharf login --server URL.", path))
		},
	}
	bindOutput(list, &lo)

	var uo, ro string
	use := &cobra.Command{
		Use: "use NAME", Short: "Make a saved context the current one", Args: cobra.ExactArgs(1),
		ValidArgsFunction: completeContextArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			path, cfg, err := loadConfig()
			if err != nil {
				return err
			}
			c, ok := cfg.Get(args[0])
			if !ok {
				return fmt.Errorf("no context %q in %s (have: %s)", args[0], path, orNone(cfg.Names()))
			}
			cfg.Current = c.Name
			if err := cfg.Save(path); err != nil {
				return err
			}
			if uo == string(cliout.JSON) {
				return cliout.WriteJSON(stdout, contextView{Name: c.Name, Server: c.Server, Current: true})
			}
			fmt.Fprintf(stdout, "Current context: %s (%s).\n", c.Name, c.Server)
			return nil
		},
	}
	bindOutput(use, &uo)
	remove := &cobra.Command{
		Use: "remove NAME", Short: "Remove a saved context and its token", Args: cobra.ExactArgs(1),
		ValidArgsFunction: completeContextArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			path, cfg, err := loadConfig()
			if err != nil {
				return err
			}
			if !cfg.Remove(args[0]) {
				return fmt.Errorf("no context %q in %s (have: %s)", args[0], path, orNone(cfg.Names()))
			}
			if err := cfg.Save(path); err != nil {
				return err
			}
			if ro == string(cliout.JSON) {
				return cliout.WriteJSON(stdout, map[string]string{"removed": args[0], "config": path})
			}
			fmt.Fprintf(stdout, "Removed context %q.\n", args[0])
			return nil
		},
	}
	bindOutput(remove, &ro)
	var co string
	current := &cobra.Command{
		Use: "current", Short: "Show the current context and where commands send their requests", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, cfg, err := loadConfig()
			if err != nil {
				return err
			}
			c, ok := cfg.CurrentContext()
			if !ok {
				return fmt.Errorf("no current context in %s: run wharf login --server URL or wharf context use NAME", path)
			}
			if co == string(cliout.JSON) {
				return cliout.WriteJSON(stdout, contextView{Name: c.Name, Server: c.Server, Current: true})
			}
			fmt.Fprintf(stdout, "%s (%s)\n", c.Name, c.Server)
			return nil
		},
	}
	bindOutput(current, &co)
	cmd.AddCommand(list, use, remove, current)
	return cmd
}

// readLine reads up to a newline (or the end) byte by byte, so that nothing
// after the line is consumed from a shared stdin.
func readLine(r io.Reader) (string, error) {
	var b strings.Builder
	one := make([]byte, 1)
	for b.Len() < 64<<10 {
		n, err := r.Read(one)
		if n == 1 {
			if one[0] == '\n' {
				break
			}
			b.WriteByte(one[0])
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", err
		}
	}
	return b.String(), nil
}
