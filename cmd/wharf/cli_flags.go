package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/apiclient"
	"github.com/wharfhq/wharf/internal/cliconfig"
	"github.com/wharfhq/wharf/internal/cliout"
)

// defaultServer is the gateway of a local `wharf serve`.
const defaultServer = "http://127.0.0.1:8080"

// formatAnnotation marks the flag that holds a command's output format, so
// that run() prints the command's errors in that format too.
const formatAnnotation = "wharf.output-format"

// clientFlags are the flags every CLI command shares: where the server is,
// which credentials to use, and the output format.
type clientFlags struct {
	server  string
	token   string
	context string
	dataDir string
	output  string
}

// bind binds the connection flags and -o/--output.
func (f *clientFlags) bind(cmd *cobra.Command) {
	f.bindConn(cmd)
	bindOutput(cmd, &f.output)
}

// bindConn binds the connection flags without --output, for commands whose
// -o means something else (it stays "table").
func (f *clientFlags) bindConn(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.server, "server", "", "Wharf gateway URL (env WHARF_SERVER; default: the current context's, else "+defaultServer+")")
	fl.StringVar(&f.token, "token", "", "bearer token (env WHARF_TOKEN; default: the current context's, else <data-dir>/admin.token)")
	fl.StringVar(&f.context, "context", "", "use this saved context instead of the current one (see wharf context list)")
	fl.StringVar(&f.dataDir, "data-dir", envOr("WHARF_DATA_DIR", "./data"), "where a local wharf serve keeps admin.token, the last place a token is looked for (env WHARF_DATA_DIR)")
	f.output = string(cliout.Table)
	_ = cmd.RegisterFlagCompletionFunc("context", completeContexts)
}

// bindOutput binds -o/--output to p and marks it as the command's format.
func bindOutput(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVarP(p, "output", "o", string(cliout.Table), "output format: table or json")
	_ = cmd.Flags().SetAnnotation("output", formatAnnotation, []string{"true"})
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
}

// commandFormat is the output format cmd was asked for (table when it has
// none or the value is not a format).
func commandFormat(cmd *cobra.Command) cliout.Format {
	if cmd == nil {
		return cliout.Table
	}
	fl := cmd.Flags().Lookup("output")
	if fl == nil || fl.Annotations[formatAnnotation] == nil {
		return cliout.Table
	}
	f, err := cliout.ParseFormat(fl.Value.String())
	if err != nil {
		return cliout.Table
	}
	return f
}

// json reports whether -o json was asked for.
func (f *clientFlags) json() bool { return f.output == string(cliout.JSON) }

// emit prints v as JSON with -o json, else calls human.
func (f *clientFlags) emit(w io.Writer, v any, human func() error) error {
	if f.json() {
		return cliout.WriteJSON(w, v)
	}
	return human()
}

func printJSON(w io.Writer, v any) error { return cliout.WriteJSON(w, v) }

// client builds an API client with the credentials resolveCredentials finds.
func (f *clientFlags) client() (*apiclient.Client, error) {
	if _, err := cliout.ParseFormat(f.output); err != nil {
		return nil, err
	}
	cr, err := f.credentials()
	if err != nil {
		return nil, err
	}
	return apiclient.New(cr.server, cr.token)
}

// creds are the server and token a command uses, and where they came from.
type creds struct {
	server, token string
	from          string
}

// configPath is the CLI config file: WHARF_CLI_CONFIG, else the user's
// config dir (WHARF_CONFIG is the server roles' config file already).
func configPath() (string, error) {
	if p := os.Getenv("WHARF_CLI_CONFIG"); p != "" {
		return p, nil
	}
	return cliconfig.DefaultPath()
}

// savedContext is the context named by --context, else the current one.
func (f *clientFlags) savedContext() (cliconfig.Context, string, bool, error) {
	path, err := configPath()
	if err != nil {
		return cliconfig.Context{}, "", false, err
	}
	cfg, err := cliconfig.Load(path)
	if err != nil {
		return cliconfig.Context{}, path, false, err
	}
	if f.context != "" {
		c, ok := cfg.Get(f.context)
		if !ok {
			return c, path, false, fmt.Errorf("--context: no context %q in %s (have: %s)", f.context, path, orNone(cfg.Names()))
		}
		return c, path, true, nil
	}
	c, ok := cfg.CurrentContext()
	return c, path, ok, nil
}

// credentials resolves the server and token, first found wins:
// --server/--token, WHARF_SERVER/WHARF_TOKEN, the context (--context or the
// current one; its token only goes to its own server), <data-dir>/admin.token.
// With no token the error names every place it looked.
func (f *clientFlags) credentials() (creds, error) {
	ctx, path, haveCtx, err := f.savedContext()
	if err != nil {
		return creds{}, err
	}
	var cr creds
	switch {
	case f.server != "":
		cr.server = f.server
	case os.Getenv("WHARF_SERVER") != "":
		cr.server = os.Getenv("WHARF_SERVER")
	case haveCtx:
		cr.server = ctx.Server
	default:
		cr.server = defaultServer
	}
	cr.server = strings.TrimRight(cr.server, "/")
	tokFile := filepath.Join(f.dataDir, "admin.token")
	ctxMatches := haveCtx && strings.TrimRight(ctx.Server, "/") == cr.server
	switch {
	case f.token != "":
		cr.token, cr.from = f.token, "--token"
	case os.Getenv("WHARF_TOKEN") != "":
		cr.token, cr.from = os.Getenv("WHARF_TOKEN"), "WHARF_TOKEN"
	case ctxMatches && ctx.Token != "":
		cr.token, cr.from = ctx.Token, fmt.Sprintf("context %q", ctx.Name)
	default:
		if b, err := os.ReadFile(tokFile); err == nil {
			cr.token, cr.from = strings.TrimSpace(string(b)), tokFile
		}
	}
	if cr.token != "" {
		return cr, nil
	}
	where := "no current context"
	switch {
	case haveCtx && !ctxMatches:
		where = fmt.Sprintf("context %q is for %s, not %s", ctx.Name, ctx.Server, cr.server)
	case haveCtx:
		where = fmt.Sprintf("context %q has no token", ctx.Name)
	}
	return creds{}, fmt.Errorf("no token for %s: looked at --token, WHARF_TOKEN, %s (%s), %s (not readable); run 'wharf login --server %s' or pass --token",
		cr.server, path, where, tokFile, cr.server)
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
